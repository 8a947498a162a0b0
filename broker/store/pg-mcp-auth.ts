/**
 * The MCP authorization half of the PostgreSQL store (`McpAuthStore`, SPEC §8), for
 * several brokers on one database. Where the SQLite store relies on its one writer, this
 * one locks: a code is redeemed under its row lock (`FOR UPDATE`), a refresh token is
 * rotated under the locks of its row and its family's, so of two brokers racing the
 * second waits, then reads what the first wrote (spent, replayed, revoked) and acts on
 * that. The cap on registrations counts under an advisory lock, as the pending-approval
 * caps do. A family's access tokens are revoked through the ledger's cascade
 * (`pg-revoke.ts`) in the same transaction that marks the family revoked.
 * @module
 */
import type { Pool, PoolClient } from 'pg';
import type {
  CodeClaim,
  McpAuthCode,
  McpAuthStore,
  McpRefreshFamily,
  McpRegisteredClient,
  RefreshRotation,
} from './mcp-auth-store.js';
import {
  authCodeFromRow,
  refreshFamilyFromRow,
  registeredClientFromRow,
  type RawAuthCodeRow,
  type RawRegisteredClientRow,
  type RawRefreshFamilyRow,
} from './rows.js';
import { revokeTree } from './pg-revoke.js';

/** Keys the advisory lock under which registrations are counted. */
const REGISTRATION_LOCK = 0x6261746f6e02;

/** Marks the family revoked and revokes every access token it issued, with their descendants. */
async function revokeFamily(c: PoolClient, familyId: string, at: number): Promise<void> {
  await c.query(
    'UPDATE mcp_refresh_families SET revoked_at = $1 WHERE family_id = $2 AND revoked_at IS NULL',
    [at, familyId],
  );
  const { rows } = await c.query<{ jti: string }>(
    'SELECT jti FROM mcp_family_tokens WHERE family_id = $1 ORDER BY jti',
    [familyId],
  );
  for (const { jti } of rows) await revokeTree(c, jti, at);
}

export class PgMcpAuth implements McpAuthStore {
  constructor(
    private readonly pool: Pool,
    /** Runs `fn` in one transaction (retrying deadlocks and serialization failures). */
    private readonly tx: <T>(fn: (client: PoolClient) => Promise<T>) => Promise<T>,
  ) {}

  registerMcpClient(client: McpRegisteredClient, cap: number, liveSince: number): Promise<boolean> {
    return this.tx(async (c) => {
      await c.query('SELECT pg_advisory_xact_lock($1)', [REGISTRATION_LOCK]);
      const result = await c.query(
        `INSERT INTO mcp_registered_clients
           (client_id, client_name, redirect_uris, created_at, last_used_at,
            auth_method, secret_sha256, jwks)
         SELECT $1, $2, $3, $4::bigint, $4::bigint, $7, $8, $9
         WHERE (SELECT count(*) FROM (
                  SELECT 1 FROM mcp_registered_clients WHERE last_used_at >= $5 LIMIT $6) c) < $6`,
        [
          client.clientId,
          client.clientName,
          JSON.stringify(client.redirectUris),
          client.createdAt,
          liveSince,
          cap,
          client.authMethod,
          client.secretSha256,
          client.jwks,
        ],
      );
      return result.rowCount === 1;
    });
  }

  async getMcpClient(
    clientId: string,
    liveSince: number,
  ): Promise<McpRegisteredClient | undefined> {
    const { rows } = await this.pool.query<RawRegisteredClientRow>(
      'SELECT * FROM mcp_registered_clients WHERE client_id = $1 AND last_used_at >= $2',
      [clientId, liveSince],
    );
    return rows[0] === undefined ? undefined : registeredClientFromRow(rows[0]);
  }

  async touchMcpClient(clientId: string, at: number): Promise<void> {
    await this.pool.query(
      'UPDATE mcp_registered_clients SET last_used_at = GREATEST(last_used_at, $1) WHERE client_id = $2',
      [at, clientId],
    );
  }

  /** An unexpired, unused code, or a family neither revoked nor past its consent. */
  async mcpClientHasConsent(clientId: string, now: number): Promise<boolean> {
    const result = await this.pool.query(
      `SELECT 1 FROM mcp_refresh_families
         WHERE client_id = $1 AND consent_expires_at > $2 AND revoked_at IS NULL
       UNION ALL
       SELECT 1 FROM mcp_auth_codes
         WHERE client_id = $1 AND expires_at > $2 AND used_at IS NULL
       LIMIT 1`,
      [clientId, now],
    );
    return result.rowCount !== 0;
  }

  async createAuthCode(code: McpAuthCode): Promise<void> {
    // Codes that expired unused, and used ones that started no family; a used code that
    // started one is kept a day, so a late replay still revokes what it issued.
    await this.pool.query(
      `DELETE FROM mcp_auth_codes WHERE code_hash IN (
         SELECT code_hash FROM mcp_auth_codes WHERE expires_at < $1 LIMIT 100)
       AND (family_id IS NULL OR expires_at < $1::bigint - 86400)`,
      [code.createdAt],
    );
    await this.pool.query(
      `INSERT INTO mcp_auth_codes
         (code_hash, client_id, redirect_uri, code_challenge, resource, scope, username,
          created_at, expires_at)
       VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)`,
      [
        code.codeHash,
        code.clientId,
        code.redirectUri,
        code.codeChallenge,
        code.resource,
        code.scope,
        code.username,
        code.createdAt,
        code.expiresAt,
      ],
    );
  }

  claimAuthCode(codeHash: string, now: number): Promise<CodeClaim> {
    return this.tx(async (c): Promise<CodeClaim> => {
      const { rows } = await c.query<RawAuthCodeRow>(
        'SELECT * FROM mcp_auth_codes WHERE code_hash = $1 FOR UPDATE',
        [codeHash],
      );
      const row = rows[0];
      if (row === undefined) return { kind: 'unknown' };
      if (row.used_at === null) {
        await c.query('UPDATE mcp_auth_codes SET used_at = $1 WHERE code_hash = $2', [
          now,
          codeHash,
        ]);
        return {
          kind: 'claimed',
          code: authCodeFromRow(row),
        };
      }
      // RFC 6749 §4.1.2: a code used twice revokes what it issued.
      await c.query('UPDATE mcp_auth_codes SET replayed_at = $1 WHERE code_hash = $2', [
        now,
        codeHash,
      ]);
      if (row.family_id !== null) await revokeFamily(c, row.family_id, now);
      return { kind: 'replayed' };
    });
  }

  startRefreshFamily(
    codeHash: string,
    f: McpRefreshFamily,
    refreshHash: string,
    jti: string,
  ): Promise<boolean> {
    return this.tx(async (c) => {
      // Under the code's row lock: a replay either came first (then nothing starts) or
      // waits and finds this family to revoke.
      const bound = await c.query(
        'UPDATE mcp_auth_codes SET family_id = $1 WHERE code_hash = $2 AND replayed_at IS NULL',
        [f.familyId, codeHash],
      );
      if (bound.rowCount !== 1) return false;
      await c.query(
        `INSERT INTO mcp_refresh_families
           (family_id, client_id, username, resource, scope, created_at, consent_expires_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7)`,
        [f.familyId, f.clientId, f.username, f.resource, f.scope, f.createdAt, f.consentExpiresAt],
      );
      await c.query(
        'INSERT INTO mcp_refresh_tokens (token_hash, family_id, created_at) VALUES ($1, $2, $3)',
        [refreshHash, f.familyId, f.createdAt],
      );
      await c.query('INSERT INTO mcp_family_tokens (jti, family_id) VALUES ($1, $2)', [
        jti,
        f.familyId,
      ]);
      return true;
    });
  }

  rotateRefreshToken(
    refreshHash: string,
    clientId: string,
    newRefreshHash: string,
    jti: string,
    now: number,
  ): Promise<RefreshRotation> {
    return this.tx(async (c): Promise<RefreshRotation> => {
      const { rows } = await c.query<RawRefreshFamilyRow & { spent_at: number | null }>(
        `SELECT r.spent_at, f.* FROM mcp_refresh_tokens r
         JOIN mcp_refresh_families f ON f.family_id = r.family_id
         WHERE r.token_hash = $1 FOR UPDATE`,
        [refreshHash],
      );
      const row = rows[0];
      // Another client's token reads as unknown: it learns nothing, and revokes nothing.
      if (row === undefined || row.client_id !== clientId) return { kind: 'unknown' };
      if (row.spent_at !== null) {
        await revokeFamily(c, row.family_id, now);
        return { kind: 'replayed' };
      }
      if (row.revoked_at !== null) return { kind: 'ended' };
      const anyRevoked = await c.query(
        `SELECT 1 FROM mcp_family_tokens m JOIN tokens t ON t.jti = m.jti
         WHERE m.family_id = $1 AND t.revoked_at IS NOT NULL LIMIT 1`,
        [row.family_id],
      );
      if (now >= row.consent_expires_at || anyRevoked.rowCount !== 0) {
        // A revoked access token ends the family and everything it issued.
        await revokeFamily(c, row.family_id, now);
        return { kind: 'ended' };
      }
      await c.query('UPDATE mcp_refresh_tokens SET spent_at = $1 WHERE token_hash = $2', [
        now,
        refreshHash,
      ]);
      await c.query(
        'INSERT INTO mcp_refresh_tokens (token_hash, family_id, created_at) VALUES ($1, $2, $3)',
        [newRefreshHash, row.family_id, now],
      );
      await c.query('INSERT INTO mcp_family_tokens (jti, family_id) VALUES ($1, $2)', [
        jti,
        row.family_id,
      ]);
      return { kind: 'rotated', family: refreshFamilyFromRow(row) };
    });
  }

  async revokeRefreshFamily(refreshHash: string, clientId: string, now: number): Promise<boolean> {
    const { rows } = await this.pool.query<{ family_id: string }>(
      `SELECT f.family_id FROM mcp_refresh_tokens r
       JOIN mcp_refresh_families f ON f.family_id = r.family_id
       WHERE r.token_hash = $1 AND f.client_id = $2`,
      [refreshHash, clientId],
    );
    const row = rows[0];
    if (row === undefined) return false;
    await this.tx((c) => revokeFamily(c, row.family_id, now));
    return true;
  }

  pruneMcpAuth(cutoff: number, idleBefore: number, batch: { limit: number }): Promise<number> {
    return this.tx(async (c) => {
      // Lock the ended families first, so the three deletes see the same set.
      const { rows } = await c.query<{ family_id: string }>(
        `SELECT family_id FROM mcp_refresh_families
         WHERE consent_expires_at < $1 OR revoked_at < $1
         ORDER BY family_id LIMIT $2 FOR UPDATE SKIP LOCKED`,
        [cutoff, batch.limit],
      );
      const families = rows.map((r) => r.family_id);
      const deletes: Array<[string, unknown[]]> = [
        ...['mcp_refresh_tokens', 'mcp_family_tokens', 'mcp_refresh_families'].map(
          (table): [string, unknown[]] => [
            `DELETE FROM ${table} WHERE family_id = ANY($1)`,
            [families],
          ],
        ),
        [
          `DELETE FROM mcp_auth_codes WHERE code_hash = ANY(ARRAY(
             SELECT code_hash FROM mcp_auth_codes WHERE expires_at < $1
             ORDER BY expires_at LIMIT $2))`,
          [cutoff, batch.limit],
        ],
        [
          `DELETE FROM mcp_registered_clients WHERE client_id = ANY(ARRAY(
             SELECT client_id FROM mcp_registered_clients WHERE last_used_at < $1
             ORDER BY last_used_at LIMIT $2))`,
          [idleBefore, batch.limit],
        ],
      ];
      let deleted = 0;
      for (const [sql, params] of deletes) deleted += (await c.query(sql, params)).rowCount ?? 0;
      return deleted;
    });
  }
}
