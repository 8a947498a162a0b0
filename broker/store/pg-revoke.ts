/**
 * Revoking a token and everything exchanged from it, on PostgreSQL, inside the caller's
 * transaction (`revokeCascade`, and the MCP refresh families that revoke their tokens).
 *
 * Each pass locks the tree's standing rows `FOR UPDATE` in jti order (the order in which
 * the ledger's insert batches lock parents `FOR SHARE`, so the two rarely deadlock, and a
 * deadlock is retried by the caller's transaction) and revokes them. A child committed by
 * a batch that held its parent while this pass waited for that lock is not in the pass's
 * snapshot, but READ COMMITTED gives the next statement a new one: passes repeat until
 * one changes nothing. Once a parent is revoked, no batch can commit a child under it.
 * @module
 */
import type { PoolClient } from 'pg';

/** Revokes `jti` and its descendants at `at`, `revoked_via = jti`; how many rows it changed. */
export async function revokeTree(c: PoolClient, jti: string, at: number): Promise<number> {
  let revoked = 0;
  for (;;) {
    const result = await c.query(
      `WITH RECURSIVE d(jti) AS (
         SELECT $1::text UNION SELECT t.jti FROM tokens t JOIN d ON t.parent_jti = d.jti
       ),
       locked AS (
         SELECT t.jti FROM tokens t
         WHERE t.jti IN (SELECT jti FROM d) AND t.revoked_at IS NULL
         ORDER BY t.jti FOR UPDATE
       )
       UPDATE tokens SET revoked_at = $2, revoked_via = $1
       WHERE jti IN (SELECT jti FROM locked)`,
      [jti, at],
    );
    const changed = result.rowCount ?? 0;
    if (changed === 0) return revoked;
    revoked += changed;
  }
}
