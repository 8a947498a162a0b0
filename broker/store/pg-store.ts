/**
 * The PostgreSQL `Store` (drizzle-orm + `pg`), for several brokers on one database
 * (SPEC §9). It keeps every guarantee of the SQLite store across processes, where
 * SQLite's single writer no longer does the work:
 *
 * - Group commit: the rows queued during one event-loop turn are written in one
 *   transaction (one multi-row INSERT per table, arrays through `unnest`), and each
 *   caller's promise resolves once it has committed, so a token is in the ledger before
 *   its response is sent.
 * - A child never commits under a revoked parent: the batch first locks its parents
 *   `FOR SHARE`, in jti order, and reads their revocation after the lock. A revocation
 *   by another broker either committed first (the lock then reads it, and the row is
 *   refused with `ParentRevokedError`) or waits for this batch to commit.
 * - `revokeCascade` locks the tree `FOR UPDATE` (same jti order) and updates it, then
 *   walks again until a pass changes nothing: a child committed by a batch that held its
 *   parent while the first pass waited is in the next pass's snapshot (READ COMMITTED
 *   takes one per statement), and once a parent is revoked no new child can commit under
 *   it. Deadlocks and serialization failures are retried.
 * - No cache: every request reads the row, so a revocation through one broker is seen by
 *   all on their next request.
 * - Approvals, assertion jtis: see `pg-approvals.ts`; a jti is one `INSERT ... ON
 *   CONFLICT DO NOTHING`, so only one broker's insert counts.
 *
 * Migrations run at open under an advisory lock, so brokers starting together apply
 * them once.
 * @module
 */
import { fileURLToPath } from 'node:url';
import { drizzle } from 'drizzle-orm/node-postgres';
import { migrate } from 'drizzle-orm/node-postgres/migrator';
import pg, { type Pool, type PoolClient } from 'pg';
import { cappedRefusal, cappedToken } from './limits.js';
import { refusalFromRow, tokenFromRow, type RawRefusalRow, type RawTokenRow } from './rows.js';
import type * as McpAuth from './mcp-auth-store.js';
import { PgApprovals } from './pg-approvals.js';
import { PgMcpAuth } from './pg-mcp-auth.js';
import { revokeTree } from './pg-revoke.js';
import * as pgSchema from './pg-schema.js';
import {
  ParentRevokedError,
  type ApprovalRecord,
  type ConsoleSession,
  type DescendantsCursor,
  type ExportQuery,
  type LedgerDescendant,
  type LedgerRefusal,
  type LedgerState,
  type LedgerToken,
  type NewApproval,
  type PendingCaps,
  type PruneBatch,
  type RefusalRecord,
  type StoredSigningKey,
  type Store,
  type StoreStats,
  type TokenQuery,
  type TokenRecord,
} from './store.js';

export const PG_MIGRATIONS_FOLDER = fileURLToPath(new URL('../../migrations-pg', import.meta.url));

export interface PgStoreOptions {
  /** Connections in the pool (default 10). */
  maxConnections?: number;
}

/** int8 (counts, Unix seconds) as JavaScript numbers, for this pool only. */
const INT8_OID = 20;
const typeParsers = {
  getTypeParser: ((oid: number, format?: string) =>
    oid === INT8_OID
      ? (value: string) => Number(value)
      : pg.types.getTypeParser(oid, format as 'text')) as typeof pg.types.getTypeParser,
};

/** Serialization failure and deadlock: the transaction is safe to run again. */
const RETRYABLE = new Set(['40001', '40P01']);
const MAX_ATTEMPTS = 8;

/** Keys the advisory lock that lets one broker at a time migrate. */
const MIGRATION_LOCK = 0x6261746f6e; // 'baton'

type Outcome = undefined | Error;

type Pending =
  | { kind: 'issued'; row: TokenRecord; resolve: () => void; reject: (e: unknown) => void }
  | { kind: 'refusal'; row: RefusalRecord; resolve: () => void; reject: (e: unknown) => void };

/** Stops a walk over a corrupt (cyclic) ledger; no real chain comes near it. */
const WALK_GUARD = 10_000_000;

/** Connects, applies the migrations (one broker at a time) and returns the store. */
export async function openPgStore(url: string, options: PgStoreOptions = {}): Promise<PgStore> {
  const pool = new pg.Pool({
    connectionString: url,
    max: options.maxConnections ?? 10,
    types: typeParsers,
  });
  // An idle connection the server dropped must not crash the broker; the next query
  // simply takes another connection.
  pool.on('error', () => undefined);
  try {
    const client = await pool.connect();
    try {
      await client.query('SELECT pg_advisory_lock($1)', [MIGRATION_LOCK]);
      try {
        await migrate(drizzle(client, { schema: pgSchema }), {
          migrationsFolder: PG_MIGRATIONS_FOLDER,
        });
      } finally {
        await client.query('SELECT pg_advisory_unlock($1)', [MIGRATION_LOCK]);
      }
    } finally {
      client.release();
    }
  } catch (error) {
    await pool.end();
    throw error;
  }
  return new PgStore(pool);
}

export class PgStore implements Store {
  #queue: Pending[] = [];
  #flushScheduled = false;
  readonly #inflight = new Set<Promise<void>>();
  #lastAssertionSweep = 0;
  readonly #approvals: PgApprovals;
  readonly #mcpAuth: PgMcpAuth;

  constructor(readonly pool: Pool) {
    this.#approvals = new PgApprovals(pool, (fn) => this.#tx(fn));
    this.#mcpAuth = new PgMcpAuth(pool, (fn) => this.#tx(fn));
  }

  /** Runs `fn` in one READ COMMITTED transaction, again on a deadlock or serialization failure. */
  async #tx<T>(fn: (client: PoolClient) => Promise<T>): Promise<T> {
    for (let attempt = 1; ; attempt++) {
      const client = await this.pool.connect();
      try {
        await client.query('BEGIN');
        const result = await fn(client);
        await client.query('COMMIT');
        return result;
      } catch (error) {
        await client.query('ROLLBACK').catch(() => undefined);
        const code = (error as { code?: string }).code;
        if (code === undefined || !RETRYABLE.has(code) || attempt >= MAX_ATTEMPTS) throw error;
        await new Promise((r) => setTimeout(r, Math.random() * 10 * attempt));
      } finally {
        client.release();
      }
    }
  }

  #enqueue(item: Pending): void {
    this.#queue.push(item);
    if (!this.#flushScheduled) {
      this.#flushScheduled = true;
      setImmediate(() => void this.#flush());
    }
  }

  /** Commits every queued row now; resolves when that batch has settled. */
  #flush(): Promise<void> {
    this.#flushScheduled = false;
    const batch = this.#queue;
    if (batch.length === 0) return Promise.resolve();
    this.#queue = [];
    const done = this.#tx((c) => this.#commitBatch(c, batch)).then(
      (outcomes) =>
        batch.forEach((item, i) => {
          const failure = outcomes[i];
          if (failure === undefined) item.resolve();
          else item.reject(failure);
        }),
      (error: unknown) => batch.forEach((item) => item.reject(error)),
    );
    this.#inflight.add(done);
    void done.finally(() => this.#inflight.delete(done));
    return done;
  }

  /** Queued rows and batches already on their way: all committed (or refused) when it resolves. */
  async #drain(): Promise<void> {
    await this.#flush();
    await Promise.all([...this.#inflight]);
  }

  /**
   * One batch: tokens (parents locked first) and refusals, a multi-row INSERT each. A row
   * that cannot be recorded fails alone; the others commit.
   */
  async #commitBatch(c: PoolClient, batch: Pending[]): Promise<Outcome[]> {
    const outcomes: Outcome[] = batch.map(() => undefined);
    const tokenItems: Array<{ i: number; row: ReturnType<typeof cappedToken> }> = [];
    const refusalItems: Array<ReturnType<typeof cappedRefusal>> = [];
    batch.forEach((item, i) => {
      try {
        if (item.kind === 'refusal') refusalItems.push(cappedRefusal(item.row));
        else tokenItems.push({ i, row: cappedToken(item.row) });
      } catch (error) {
        outcomes[i] = error as Error;
      }
    });

    if (tokenItems.length > 0) {
      const parentJtis = [
        ...new Set(
          tokenItems.flatMap(({ row }) => (row.parentJti === null ? [] : [row.parentJti])),
        ),
      ].sort();
      const parents = new Map<string, { revokedAt: number | null; rootJti: string; hop: number }>();
      if (parentJtis.length > 0) {
        // FOR SHARE: a concurrent revocation (an UPDATE) waits for this commit, or, having
        // committed first, is what this read sees. jti order, as revokeCascade locks.
        const locked = await c.query<{
          jti: string;
          revoked_at: number | null;
          root_jti: string | null;
          hop: number;
        }>(
          `SELECT jti, revoked_at, root_jti, hop FROM tokens WHERE jti = ANY($1::text[])
           ORDER BY jti FOR SHARE`,
          [parentJtis],
        );
        for (const p of locked.rows)
          parents.set(p.jti, { revokedAt: p.revoked_at, rootJti: p.root_jti ?? p.jti, hop: p.hop });
      }
      const rows: Array<{
        i: number;
        row: ReturnType<typeof cappedToken>;
        rootJti: string;
        hop: number;
      }> = [];
      const inBatch = new Map<string, { revokedAt: null; rootJti: string; hop: number }>();
      for (const { i, row } of tokenItems) {
        // A child copies its chain's root and counts one more hop; a parent the ledger
        // lacks starts a new chain.
        let rootJti = row.jti;
        let hop = 0;
        if (row.parentJti !== null) {
          // A parent recorded in this same batch counts as in the ledger.
          const parent = parents.get(row.parentJti) ?? inBatch.get(row.parentJti);
          if (parent?.revokedAt != null) {
            outcomes[i] = new ParentRevokedError(row.parentJti);
            continue;
          }
          if (parent !== undefined) {
            rootJti = parent.rootJti;
            hop = parent.hop + 1;
          }
        }
        rows.push({ i, row, rootJti, hop });
        if (!inBatch.has(row.jti)) inBatch.set(row.jti, { revokedAt: null, rootJti, hop });
      }
      if (rows.length > 0) {
        const col = <K extends keyof ReturnType<typeof cappedToken>>(k: K) =>
          rows.map((r) => r.row[k]);
        const inserted = await c.query<{ jti: string }>(
          `INSERT INTO tokens (jti, parent_jti, sub, act, client_id, grant_type, scope, aud, iat, exp, root_jti, hop)
           SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::text[], $6::text[],
                                $7::text[], $8::text[], $9::bigint[], $10::bigint[], $11::text[], $12::int[])
           ON CONFLICT (jti) DO NOTHING
           RETURNING jti`,
          [
            col('jti'),
            col('parentJti'),
            col('sub'),
            col('act'),
            col('clientId'),
            col('grantType'),
            col('scope'),
            col('aud'),
            col('iat'),
            col('exp'),
            rows.map((r) => r.rootJti),
            rows.map((r) => r.hop),
          ],
        );
        const committed = new Set(inserted.rows.map((r) => r.jti));
        const seen = new Set<string>();
        for (const { i, row } of rows) {
          // The same jti twice (in the ledger or in this batch) records it once: the others fail.
          if (!committed.has(row.jti) || seen.has(row.jti))
            outcomes[i] = new Error(`jti ${row.jti.slice(0, 64)} is already in the ledger`);
          seen.add(row.jti);
        }
      }
    }

    if (refusalItems.length > 0) {
      const col = <K extends keyof ReturnType<typeof cappedRefusal>>(k: K) =>
        refusalItems.map((r) => r[k]);
      await c.query(
        `INSERT INTO refusals (at, client_id, grant_type, subject_jti, error, reason, error_description, requested)
         SELECT * FROM unnest($1::bigint[], $2::text[], $3::text[], $4::text[], $5::text[], $6::text[],
                              $7::text[], $8::text[])`,
        [
          col('at'),
          col('clientId'),
          col('grantType'),
          col('subjectJti'),
          col('error'),
          col('reason'),
          col('errorDescription'),
          col('requested'),
        ],
      );
    }
    return outcomes;
  }

  recordIssued(row: TokenRecord): Promise<void> {
    return new Promise((resolve, reject) =>
      this.#enqueue({ kind: 'issued', row, resolve, reject }),
    );
  }

  recordRefusal(row: RefusalRecord): Promise<void> {
    return new Promise((resolve, reject) =>
      this.#enqueue({ kind: 'refusal', row, resolve, reject }),
    );
  }

  async #tokens(text: string, values: unknown[]): Promise<LedgerToken[]> {
    return (await this.pool.query<RawTokenRow>(text, values)).rows.map(tokenFromRow);
  }

  async #refusals(text: string, values: unknown[]): Promise<LedgerRefusal[]> {
    return (await this.pool.query<RawRefusalRow>(text, values)).rows.map(refusalFromRow);
  }

  async getToken(jti: string): Promise<LedgerToken | undefined> {
    return (await this.#tokens('SELECT * FROM tokens WHERE jti = $1', [jti]))[0];
  }

  async revokedAt(jti: string): Promise<number | null | undefined> {
    return (await this.ledgerState(jti))?.revokedAt;
  }

  async ledgerState(jti: string): Promise<LedgerState | undefined> {
    const { rows } = await this.pool.query<{ revoked_at: number | null; hop: number }>(
      'SELECT revoked_at, hop FROM tokens WHERE jti = $1',
      [jti],
    );
    const row = rows[0];
    return row === undefined ? undefined : { revokedAt: row.revoked_at, hop: row.hop };
  }

  async revokeCascade(jti: string, at: number): Promise<number> {
    // Rows still waiting for their batch must be visible to the walk below.
    await this.#drain();
    return this.#tx((c) => revokeTree(c, jti, at));
  }

  async chain(jti: string, nearest = WALK_GUARD): Promise<LedgerToken[]> {
    const tokens = await this.#tokens(
      `WITH RECURSIVE up(jti, parent_jti, hop, n) AS (
         SELECT jti, parent_jti, hop, 1 FROM tokens WHERE jti = $1
         UNION ALL
         SELECT t.jti, t.parent_jti, t.hop, up.n + 1 FROM tokens t
         JOIN up ON t.jti = up.parent_jti AND t.hop + 1 = up.hop
         WHERE up.n < $2
       )
       SELECT t.* FROM up JOIN tokens t ON t.jti = up.jti ORDER BY up.n DESC`,
      [jti, Math.max(1, Math.min(nearest, WALK_GUARD))],
    );
    const top = tokens[0];
    if (top === undefined || top.jti === top.rootJti) return tokens;
    const root = await this.getToken(top.rootJti);
    return root === undefined ? tokens : [root, ...tokens];
  }

  async descendants(
    jti: string,
    page: { limit: number; after?: DescendantsCursor },
  ): Promise<LedgerDescendant[]> {
    const self = await this.ledgerState(jti);
    if (self === undefined) return [];
    const after = page.after ?? { hop: -1, iat: 0, jti: '' };
    const rows = await this.#tokens(
      `WITH RECURSIVE d(jti, hop, iat) AS (
         SELECT jti, hop, iat FROM tokens WHERE parent_jti = $1 AND hop = $2::int + 1
         UNION ALL
         SELECT t.jti, t.hop, t.iat FROM tokens t JOIN d ON t.parent_jti = d.jti AND t.hop = d.hop + 1
       ),
       page(jti) AS (
         SELECT jti FROM d WHERE (hop, iat, jti) > ($3::int, $4::bigint, $5::text)
         ORDER BY hop, iat, jti LIMIT $6
       )
       SELECT t.* FROM page JOIN tokens t ON t.jti = page.jti
       ORDER BY t.hop, t.iat, t.jti`,
      [jti, self.hop, after.hop, after.iat, after.jti, page.limit],
    );
    return rows.map((r) => ({ ...r, depth: r.hop - self.hop }));
  }

  async refusalsAgainst(jtis: string[]): Promise<LedgerRefusal[]> {
    if (jtis.length === 0) return [];
    return this.#refusals(
      'SELECT * FROM refusals WHERE subject_jti = ANY($1::text[]) ORDER BY at, id',
      [jtis],
    );
  }

  async refusalsInTree(
    jti: string,
    limit: number,
  ): Promise<{ refusals: LedgerRefusal[]; total: number }> {
    const { rows } = await this.pool.query<RawRefusalRow & { total: number }>(
      `WITH RECURSIVE d(jti, hop) AS (
         SELECT jti, hop FROM tokens WHERE jti = $1
         UNION ALL
         SELECT t.jti, t.hop FROM tokens t JOIN d ON t.parent_jti = d.jti AND t.hop = d.hop + 1
       )
       SELECT r.*, count(*) OVER () AS total FROM refusals r
       WHERE r.subject_jti IN (SELECT jti FROM d)
       ORDER BY r.at DESC, r.id DESC
       LIMIT $2`,
      [jti, limit],
    );
    return { refusals: rows.map(refusalFromRow).reverse(), total: rows[0]?.total ?? 0 };
  }

  exportTokens(query: ExportQuery, after?: { iat: number; jti: string }): Promise<LedgerToken[]> {
    const from = after ?? { iat: query.since - 1, jti: '' };
    return this.#tokens(
      `SELECT * FROM tokens
       WHERE iat >= $1 AND iat < $2 AND (iat, jti) > ($3::bigint, $4::text)
       ORDER BY iat, jti LIMIT $5`,
      [query.since, query.until, from.iat, from.jti, query.limit],
    );
  }

  exportRefusals(query: ExportQuery, after?: { at: number; id: number }): Promise<LedgerRefusal[]> {
    const from = after ?? { at: query.since - 1, id: 0 };
    return this.#refusals(
      `SELECT * FROM refusals
       WHERE at >= $1 AND at < $2 AND (at, id) > ($3::bigint, $4::bigint)
       ORDER BY at, id LIMIT $5`,
      [query.since, query.until, from.at, from.id, query.limit],
    );
  }

  exportApprovals(
    query: ExportQuery,
    after?: { createdAt: number; authReqId: string },
  ): Promise<ApprovalRecord[]> {
    return this.#approvals.exportPage(
      query,
      after ?? { createdAt: query.since - 1, authReqId: '' },
    );
  }

  /**
   * One transaction deleting at most `limit` rows, as the SQLite store: per chain whose
   * root expired before the cutoff and none of whose tokens lives on past it, the refusals
   * against its tokens, its tokens other than the root, then the approval that started it
   * and the root (last, so a chain cut short is found again through its root).
   */
  async pruneChains(cutoff: number, batch: PruneBatch): Promise<number> {
    await this.#drain();
    const limit = batch.limit;
    return this.#tx(async (c) => {
      const roots = await c.query<{ jti: string }>(
        `SELECT r.jti FROM tokens r
         WHERE r.root_jti = r.jti AND r.exp < $1
           AND NOT EXISTS (SELECT 1 FROM tokens t WHERE t.root_jti = r.jti AND t.exp >= $1)
         ORDER BY r.exp LIMIT 16`,
        [cutoff],
      );
      const run = async (text: string, values: unknown[]) =>
        (await c.query(text, values)).rowCount ?? 0;
      let budget = limit;
      for (const { jti } of roots.rows) {
        budget -= await run(
          `DELETE FROM refusals WHERE id IN (
             SELECT r.id FROM tokens t JOIN refusals r ON r.subject_jti = t.jti WHERE t.root_jti = $1 LIMIT $2)`,
          [jti, budget],
        );
        if (budget <= 0) break;
        budget -= await run(
          `DELETE FROM tokens WHERE jti IN (
             SELECT jti FROM tokens WHERE root_jti = $1 AND jti <> $1 LIMIT $2)`,
          [jti, budget],
        );
        if (budget <= 0) break;
        budget -= await run('DELETE FROM approval_requests WHERE issued_jti = $1', [jti]);
        budget -= await run('DELETE FROM tokens WHERE jti = $1', [jti]);
        if (budget <= 0) break;
      }
      return limit - Math.max(budget, 0);
    });
  }

  async pruneRefusals(cutoff: number, batch: PruneBatch): Promise<number> {
    await this.#drain();
    const result = await this.pool.query(
      'DELETE FROM refusals WHERE id IN (SELECT id FROM refusals WHERE at < $1 ORDER BY at LIMIT $2)',
      [cutoff, batch.limit],
    );
    return result.rowCount ?? 0;
  }

  async pruneApprovals(cutoff: number, batch: PruneBatch): Promise<number> {
    const result = await this.pool.query(
      `DELETE FROM approval_requests WHERE auth_req_id IN (
         SELECT a.auth_req_id FROM approval_requests a
         WHERE a.expires_at < $1
           AND (a.issued_jti IS NULL OR NOT EXISTS (SELECT 1 FROM tokens t WHERE t.jti = a.issued_jti))
         ORDER BY a.expires_at LIMIT $2)`,
      [cutoff, batch.limit],
    );
    return result.rowCount ?? 0;
  }

  async pruneAssertionJtis(cutoff: number, batch: PruneBatch): Promise<number> {
    const result = await this.pool.query(
      `DELETE FROM client_assertion_jtis WHERE ctid = ANY(ARRAY(
         SELECT ctid FROM client_assertion_jtis WHERE exp < $1 ORDER BY exp LIMIT $2))`,
      [cutoff, batch.limit],
    );
    return result.rowCount ?? 0;
  }

  listTokens(query: TokenQuery): Promise<LedgerToken[]> {
    const c = query.cursor;
    return this.#tokens(
      `SELECT * FROM tokens
       WHERE ($1::text IS NULL OR sub = $1)
         AND ($2::text IS NULL OR client_id = $2)
         AND ($3::bigint IS NULL OR iat >= $3)
         AND ($4::bigint IS NULL OR (iat, jti) < ($4::bigint, $5::text))
       ORDER BY iat DESC, jti DESC LIMIT $6`,
      [
        query.sub ?? null,
        query.clientId ?? null,
        query.since ?? null,
        c?.iat ?? null,
        c?.jti ?? '',
        query.limit,
      ],
    );
  }

  async signingKeys(): Promise<StoredSigningKey[]> {
    const { rows } = await this.pool.query<{
      kid: string;
      alg: string;
      private_jwk: string;
      public_jwk: string;
      created_at: number;
      retired_at: number | null;
    }>('SELECT * FROM signing_keys ORDER BY created_at DESC, kid DESC');
    return rows.map((r) => ({
      kid: r.kid,
      alg: r.alg,
      privateJwk: r.private_jwk,
      publicJwk: r.public_jwk,
      createdAt: r.created_at,
      retiredAt: r.retired_at,
    }));
  }

  async addSigningKey(key: StoredSigningKey): Promise<void> {
    await this.pool.query(
      `INSERT INTO signing_keys (kid, alg, private_jwk, public_jwk, created_at, retired_at)
       VALUES ($1, $2, $3, $4, $5, $6)`,
      [key.kid, key.alg, key.privateJwk, key.publicJwk, key.createdAt, key.retiredAt],
    );
  }

  async useAssertionJti(clientId: string, jti: string, exp: number, now: number): Promise<boolean> {
    // A small sweep on the request path, bounded; retention (`ledger/retention.ts`) does the rest.
    if (now - this.#lastAssertionSweep >= 60) {
      this.#lastAssertionSweep = now;
      void this.pruneAssertionJtis(now, { limit: 100 }).catch(() => undefined);
    }
    const result = await this.pool.query(
      `INSERT INTO client_assertion_jtis (client_id, jti, exp) VALUES ($1, $2, $3)
       ON CONFLICT DO NOTHING`,
      [clientId, jti, exp],
    );
    return result.rowCount === 1;
  }

  createApproval(approval: NewApproval, caps?: PendingCaps): Promise<boolean> {
    return this.#approvals.create(approval, caps);
  }

  getApproval(authReqId: string): Promise<ApprovalRecord | undefined> {
    return this.#approvals.get(authReqId);
  }

  approvalForToken(jti: string): Promise<ApprovalRecord | undefined> {
    return this.#approvals.forToken(jti);
  }

  listPendingApprovals(now: number, username?: string, limit?: number): Promise<ApprovalRecord[]> {
    return this.#approvals.listPending(now, username, limit);
  }

  cancelApproval(authReqId: string, clientId: string, at: number): Promise<boolean> {
    return this.#approvals.cancel(authReqId, clientId, at);
  }

  decideApproval(
    authReqId: string,
    decision: 'approved' | 'denied',
    approvedScope: string | null,
    by: string,
    at: number,
  ): Promise<boolean> {
    return this.#approvals.decide(authReqId, decision, approvedScope, by, at);
  }

  schedulePoll(authReqId: string, interval: number, nextPollAt: number): Promise<void> {
    return this.#approvals.schedulePoll(authReqId, interval, nextPollAt);
  }

  /**
   * The claim and the token's row in one transaction: a second poller (any broker) waits
   * on the request's row lock, then finds it `issued` and writes nothing; a row that
   * cannot be recorded rolls the claim back with it.
   */
  issueForApproval(authReqId: string, token: TokenRecord): Promise<boolean> {
    return this.#tx(async (c) => {
      if (!(await this.#approvals.claimForIssue(authReqId, token.jti, c))) return false;
      const noop = () => undefined;
      const [failure] = await this.#commitBatch(c, [
        { kind: 'issued', row: token, resolve: noop, reject: noop },
      ]);
      if (failure !== undefined) throw failure;
      return true;
    });
  }

  async createConsoleSession(session: ConsoleSession): Promise<void> {
    await this.pool.query(
      `DELETE FROM console_sessions WHERE id_hash IN (
         SELECT id_hash FROM console_sessions WHERE expires_at <= $1 ORDER BY expires_at LIMIT 100)`,
      [session.createdAt],
    );
    await this.pool.query(
      `INSERT INTO console_sessions (id_hash, username, role, csrf_secret, created_at, expires_at)
       VALUES ($1, $2, $3, $4, $5, $6)`,
      [
        session.idHash,
        session.username,
        session.role,
        session.csrfSecret,
        session.createdAt,
        session.expiresAt,
      ],
    );
  }

  async getConsoleSession(idHash: string, now: number): Promise<ConsoleSession | undefined> {
    const { rows } = await this.pool.query<{
      id_hash: string;
      username: string;
      role: 'user' | 'operator';
      csrf_secret: string;
      created_at: number;
      expires_at: number;
    }>('SELECT * FROM console_sessions WHERE id_hash = $1 AND expires_at > $2', [idHash, now]);
    const r = rows[0];
    return r === undefined
      ? undefined
      : {
          idHash: r.id_hash,
          username: r.username,
          role: r.role,
          csrfSecret: r.csrf_secret,
          createdAt: r.created_at,
          expiresAt: r.expires_at,
        };
  }

  async deleteConsoleSession(idHash: string): Promise<void> {
    await this.pool.query('DELETE FROM console_sessions WHERE id_hash = $1', [idHash]);
  }

  listPendingApprovalsAnyCase(
    now: number,
    username: string,
    limit: number,
  ): Promise<ApprovalRecord[]> {
    return this.#approvals.listPendingAnyCase(now, username, limit);
  }

  rootTokensFor(sub: string, limit: number): Promise<LedgerToken[]> {
    return this.#tokens(
      `SELECT * FROM tokens WHERE sub = $1 AND root_jti = jti
       ORDER BY iat DESC, jti DESC LIMIT $2`,
      [sub, limit],
    );
  }

  registerMcpClient(
    client: McpAuth.McpRegisteredClient,
    cap: number,
    liveSince: number,
  ): Promise<boolean> {
    return this.#mcpAuth.registerMcpClient(client, cap, liveSince);
  }

  getMcpClient(
    clientId: string,
    liveSince: number,
  ): Promise<McpAuth.McpRegisteredClient | undefined> {
    return this.#mcpAuth.getMcpClient(clientId, liveSince);
  }

  touchMcpClient(clientId: string, at: number): Promise<void> {
    return this.#mcpAuth.touchMcpClient(clientId, at);
  }

  pruneMcpAuth(cutoff: number, idleBefore: number, batch: PruneBatch): Promise<number> {
    return this.#mcpAuth.pruneMcpAuth(cutoff, idleBefore, batch);
  }

  mcpClientHasConsent(clientId: string, now: number): Promise<boolean> {
    return this.#mcpAuth.mcpClientHasConsent(clientId, now);
  }

  createAuthCode(code: McpAuth.McpAuthCode): Promise<void> {
    return this.#mcpAuth.createAuthCode(code);
  }

  claimAuthCode(codeHash: string, now: number): Promise<McpAuth.CodeClaim> {
    return this.#mcpAuth.claimAuthCode(codeHash, now);
  }

  startRefreshFamily(
    codeHash: string,
    family: McpAuth.McpRefreshFamily,
    refreshHash: string,
    jti: string,
  ): Promise<boolean> {
    return this.#mcpAuth.startRefreshFamily(codeHash, family, refreshHash, jti);
  }

  rotateRefreshToken(
    refreshHash: string,
    clientId: string,
    newRefreshHash: string,
    jti: string,
    now: number,
  ): Promise<McpAuth.RefreshRotation> {
    return this.#mcpAuth.rotateRefreshToken(refreshHash, clientId, newRefreshHash, jti, now);
  }

  revokeRefreshFamily(refreshHash: string, clientId: string, now: number): Promise<boolean> {
    return this.#mcpAuth.revokeRefreshFamily(refreshHash, clientId, now);
  }

  async ping(): Promise<void> {
    await this.pool.query('SELECT 1');
  }

  async stats(now: number): Promise<StoreStats> {
    const { rows } = await this.pool.query<StoreStats>(
      `SELECT (SELECT count(*) FROM tokens) AS tokens,
              (SELECT count(*) FROM refusals) AS refusals,
              (SELECT count(*) FROM approval_requests
                WHERE status = 'pending' AND expires_at > $1) AS "pendingApprovals"`,
      [now],
    );
    return rows[0]!;
  }

  async close(): Promise<void> {
    await this.#drain();
    await this.pool.end();
  }
}
