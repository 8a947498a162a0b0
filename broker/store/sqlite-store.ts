/**
 * The SQLite `Store` (better-sqlite3 + drizzle). The only module that opens the
 * database: WAL, `synchronous=FULL` by default (a row is on disk before the client
 * sees its token), foreign keys on, migrations applied on open.
 *
 * Ledger writes go through a group commit: every row queued during one event-loop
 * turn is written in one transaction on the next `setImmediate`, and each caller's
 * promise resolves once that transaction has committed. One fsync then serves a whole
 * turn's worth of exchanges, which is what makes FULL durability nearly free under load
 * without changing the callers (they just `await recordIssued(...)`).
 *
 * CIBA approval requests are written directly (`sqlite-approvals.ts`): each change is one
 * conditional UPDATE, and a person's decision is rare.
 * @module
 */
import { mkdirSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import Database from 'better-sqlite3';
import { and, count, desc, eq, gt, gte, inArray, lt, or, sql, type SQL } from 'drizzle-orm';
import { drizzle, type BetterSQLite3Database } from 'drizzle-orm/better-sqlite3';
import { migrate } from 'drizzle-orm/better-sqlite3/migrator';
import * as schema from './schema.js';
import { SqliteApprovals } from './sqlite-approvals.js';
import {
  ParentRevokedError,
  type ApprovalRecord,
  type NewApproval,
  type LedgerRefusal,
  type LedgerToken,
  type RefusalRecord,
  type StoredSigningKey,
  type Store,
  type StoreStats,
  type TokenQuery,
  type TokenRecord,
  type TokenTree,
} from './store.js';

export const MIGRATIONS_FOLDER = fileURLToPath(new URL('../../migrations', import.meta.url));

export interface SqliteStoreOptions {
  /** `FULL` (default) survives power loss; `NORMAL` survives a process crash only. */
  synchronous?: 'FULL' | 'NORMAL';
}

type Pending =
  | { kind: 'issued'; row: TokenRecord; resolve: () => void; reject: (e: unknown) => void }
  | { kind: 'refusal'; row: RefusalRecord; resolve: () => void; reject: (e: unknown) => void };

type TokenRow = typeof schema.tokens.$inferSelect;

function toLedgerToken(row: TokenRow): LedgerToken {
  return {
    jti: row.jti,
    parentJti: row.parentJti,
    sub: row.sub,
    act: row.act === null ? null : JSON.parse(row.act),
    clientId: row.clientId,
    grantType: row.grantType,
    scope: row.scope,
    aud: JSON.parse(row.aud),
    iat: row.iat,
    exp: row.exp,
    revokedAt: row.revokedAt,
    revokedVia: row.revokedVia,
  };
}

/** Opens (creating if needed) the database file and applies the migrations. */
export function openSqliteStore(file: string, options: SqliteStoreOptions = {}): SqliteStore {
  if (file !== ':memory:') mkdirSync(path.dirname(path.resolve(file)), { recursive: true });
  const sqlite = new Database(file);
  sqlite.pragma('journal_mode = WAL');
  sqlite.pragma(`synchronous = ${options.synchronous ?? 'FULL'}`);
  sqlite.pragma('foreign_keys = ON');
  sqlite.pragma('busy_timeout = 5000');
  const db = drizzle(sqlite, { schema });
  migrate(db, { migrationsFolder: MIGRATIONS_FOLDER });
  return new SqliteStore(sqlite, db);
}

export class SqliteStore implements Store {
  #queue: Pending[] = [];
  #flushScheduled = false;
  #lastAssertionSweep = 0;
  readonly #insertToken;
  readonly #insertRefusal;
  readonly #revokedAt;
  readonly #getToken;
  readonly #approvals: SqliteApprovals;
  readonly #commitBatch: (batch: Pending[]) => Array<unknown | undefined>;

  constructor(
    readonly sqlite: Database.Database,
    readonly db: BetterSQLite3Database<typeof schema>,
  ) {
    const { tokens, refusals } = schema;
    // Prepared once: the hot path only binds values.
    this.#insertToken = db
      .insert(tokens)
      .values({
        jti: sql.placeholder('jti'),
        parentJti: sql.placeholder('parentJti'),
        sub: sql.placeholder('sub'),
        act: sql.placeholder('act'),
        clientId: sql.placeholder('clientId'),
        grantType: sql.placeholder('grantType'),
        scope: sql.placeholder('scope'),
        aud: sql.placeholder('aud'),
        iat: sql.placeholder('iat'),
        exp: sql.placeholder('exp'),
      })
      .prepare();
    this.#insertRefusal = db
      .insert(refusals)
      .values({
        at: sql.placeholder('at'),
        clientId: sql.placeholder('clientId'),
        grantType: sql.placeholder('grantType'),
        subjectJti: sql.placeholder('subjectJti'),
        error: sql.placeholder('error'),
        reason: sql.placeholder('reason'),
        errorDescription: sql.placeholder('errorDescription'),
        requested: sql.placeholder('requested'),
      })
      .prepare();
    this.#revokedAt = db
      .select({ revokedAt: tokens.revokedAt })
      .from(tokens)
      .where(eq(tokens.jti, sql.placeholder('jti')))
      .prepare();
    this.#getToken = db
      .select()
      .from(tokens)
      .where(eq(tokens.jti, sql.placeholder('jti')))
      .prepare();
    this.#approvals = new SqliteApprovals(db);

    // One transaction per batch; a row that fails (revoked parent, constraint) fails
    // alone: SQLite rolls back only that statement and the others still commit.
    this.#commitBatch = sqlite.transaction((batch: Pending[]) =>
      batch.map((item) => {
        try {
          if (item.kind === 'refusal') {
            const r = item.row;
            this.#insertRefusal.run({ ...r, requested: JSON.stringify(r.requested) });
            return undefined;
          }
          const t = item.row;
          if (t.parentJti !== null) {
            const parent = this.#revokedAt.get({ jti: t.parentJti });
            if (parent?.revokedAt != null) return new ParentRevokedError(t.parentJti);
          }
          this.#insertToken.run({
            ...t,
            act: t.act === null ? null : JSON.stringify(t.act),
            aud: JSON.stringify(t.aud),
          });
          return undefined;
        } catch (error) {
          return error;
        }
      }),
    );
  }

  #enqueue(item: Pending): void {
    this.#queue.push(item);
    if (!this.#flushScheduled) {
      this.#flushScheduled = true;
      setImmediate(() => this.#flush());
    }
  }

  /** Commits every queued row now. Synchronous, so callers can order work after it. */
  #flush(): void {
    this.#flushScheduled = false;
    const batch = this.#queue;
    if (batch.length === 0) return;
    this.#queue = [];
    let outcomes: Array<unknown | undefined>;
    try {
      outcomes = this.#commitBatch(batch);
    } catch (error) {
      for (const item of batch) item.reject(error);
      return;
    }
    batch.forEach((item, i) => {
      const failure = outcomes[i];
      if (failure === undefined) item.resolve();
      else item.reject(failure);
    });
  }

  recordIssued(row: TokenRecord): Promise<void> {
    return new Promise((resolve, reject) => this.#enqueue({ kind: 'issued', row, resolve, reject }));
  }

  recordRefusal(row: RefusalRecord): Promise<void> {
    return new Promise((resolve, reject) => this.#enqueue({ kind: 'refusal', row, resolve, reject }));
  }

  async getToken(jti: string): Promise<LedgerToken | undefined> {
    const row = this.#getToken.get({ jti });
    return row === undefined ? undefined : toLedgerToken(row);
  }

  async revokedAt(jti: string): Promise<number | null | undefined> {
    return this.#revokedAt.get({ jti })?.revokedAt;
  }

  async revokeCascade(jti: string, at: number): Promise<number> {
    // Rows still waiting for their batch must be visible to the walk below.
    this.#flush();
    const result = this.sqlite
      .prepare(
        `WITH RECURSIVE d(jti) AS (
           SELECT ? UNION SELECT t.jti FROM tokens t JOIN d ON t.parent_jti = d.jti
         )
         UPDATE tokens SET revoked_at = ?, revoked_via = ?
         WHERE jti IN (SELECT jti FROM d) AND revoked_at IS NULL`,
      )
      .run(jti, at, jti);
    return result.changes;
  }

  async chain(jti: string): Promise<LedgerToken[]> {
    const rows = this.sqlite
      .prepare(
        `WITH RECURSIVE up(jti, parent_jti, depth) AS (
           SELECT jti, parent_jti, 0 FROM tokens WHERE jti = ?
           UNION ALL
           SELECT t.jti, t.parent_jti, up.depth + 1 FROM tokens t JOIN up ON t.jti = up.parent_jti
           WHERE up.depth < 64
         )
         SELECT jti FROM up ORDER BY depth DESC`,
      )
      .all(jti) as Array<{ jti: string }>;
    return this.#tokensByJti(rows.map((r) => r.jti));
  }

  async descendants(jti: string): Promise<TokenTree | undefined> {
    const rows = this.sqlite
      .prepare(
        `WITH RECURSIVE d(jti) AS (
           SELECT ? UNION SELECT t.jti FROM tokens t JOIN d ON t.parent_jti = d.jti
         )
         SELECT jti FROM d`,
      )
      .all(jti) as Array<{ jti: string }>;
    const all = await this.#tokensByJti(rows.map((r) => r.jti));
    const nodes = new Map<string, TokenTree>(all.map((t) => [t.jti, { ...t, children: [] }]));
    for (const node of nodes.values()) {
      if (node.jti !== jti && node.parentJti !== null) nodes.get(node.parentJti)?.children.push(node);
    }
    for (const node of nodes.values()) node.children.sort((a, b) => a.iat - b.iat || a.jti.localeCompare(b.jti));
    return nodes.get(jti);
  }

  async #tokensByJti(jtis: string[]): Promise<LedgerToken[]> {
    if (jtis.length === 0) return [];
    const found = new Map<string, LedgerToken>();
    // SQLite caps bound parameters; chunk large trees.
    for (let i = 0; i < jtis.length; i += 500) {
      const rows = this.db
        .select()
        .from(schema.tokens)
        .where(inArray(schema.tokens.jti, jtis.slice(i, i + 500)))
        .all();
      for (const row of rows) found.set(row.jti, toLedgerToken(row));
    }
    return jtis.flatMap((j) => found.get(j) ?? []);
  }

  async refusalsAgainst(jtis: string[]): Promise<LedgerRefusal[]> {
    const out: LedgerRefusal[] = [];
    for (let i = 0; i < jtis.length; i += 500) {
      const rows = this.db
        .select()
        .from(schema.refusals)
        .where(inArray(schema.refusals.subjectJti, jtis.slice(i, i + 500)))
        .all();
      for (const r of rows) out.push({ ...r, requested: JSON.parse(r.requested) });
    }
    return out.sort((a, b) => a.at - b.at || a.id - b.id);
  }

  async listTokens(query: TokenQuery): Promise<LedgerToken[]> {
    const { tokens } = schema;
    const where: SQL[] = [];
    if (query.sub !== undefined) where.push(eq(tokens.sub, query.sub));
    if (query.clientId !== undefined) where.push(eq(tokens.clientId, query.clientId));
    if (query.since !== undefined) where.push(gte(tokens.iat, query.since));
    if (query.cursor !== undefined) {
      const c = query.cursor;
      where.push(or(lt(tokens.iat, c.iat), and(eq(tokens.iat, c.iat), lt(tokens.jti, c.jti)))!);
    }
    const rows = this.db
      .select()
      .from(tokens)
      .where(and(...where))
      .orderBy(desc(tokens.iat), desc(tokens.jti))
      .limit(query.limit)
      .all();
    return rows.map(toLedgerToken);
  }

  async signingKeys(): Promise<StoredSigningKey[]> {
    return this.db.select().from(schema.signingKeys).orderBy(desc(schema.signingKeys.createdAt)).all();
  }

  async addSigningKey(key: StoredSigningKey): Promise<void> {
    this.db.insert(schema.signingKeys).values(key).run();
  }

  async useAssertionJti(clientId: string, jti: string, exp: number, now: number): Promise<boolean> {
    const { clientAssertionJtis: t } = schema;
    if (now - this.#lastAssertionSweep >= 60) {
      this.#lastAssertionSweep = now;
      this.db.delete(t).where(lt(t.exp, now)).run();
    }
    const result = this.db.insert(t).values({ clientId, jti, exp }).onConflictDoNothing().run();
    return result.changes === 1;
  }

  async createApproval(approval: NewApproval): Promise<void> {
    this.#approvals.create(approval);
  }

  async getApproval(authReqId: string): Promise<ApprovalRecord | undefined> {
    return this.#approvals.get(authReqId);
  }

  async approvalForToken(jti: string): Promise<ApprovalRecord | undefined> {
    return this.#approvals.forToken(jti);
  }

  async listPendingApprovals(now: number, username?: string): Promise<ApprovalRecord[]> {
    return this.#approvals.listPending(now, username);
  }

  async decideApproval(
    authReqId: string,
    decision: 'approved' | 'denied',
    approvedScope: string | null,
    by: string,
    at: number,
  ): Promise<boolean> {
    return this.#approvals.decide(authReqId, decision, approvedScope, by, at);
  }

  async schedulePoll(authReqId: string, interval: number, nextPollAt: number): Promise<void> {
    this.#approvals.schedulePoll(authReqId, interval, nextPollAt);
  }

  async claimApprovedForIssue(authReqId: string, jti: string): Promise<boolean> {
    return this.#approvals.claimForIssue(authReqId, jti);
  }

  async releaseIssueClaim(authReqId: string, jti: string): Promise<void> {
    this.#approvals.releaseClaim(authReqId, jti);
  }

  async ping(): Promise<void> {
    this.sqlite.prepare('SELECT 1').get();
  }

  async stats(now: number): Promise<StoreStats> {
    const { tokens, refusals, approvalRequests: a } = schema;
    const n = (q: { get(): { n: number } | undefined }) => q.get()?.n ?? 0;
    return {
      tokens: n(this.db.select({ n: count() }).from(tokens)),
      refusals: n(this.db.select({ n: count() }).from(refusals)),
      pendingApprovals: n(this.db.select({ n: count() }).from(a).where(and(eq(a.status, 'pending'), gt(a.expiresAt, now)))),
    };
  }

  async close(): Promise<void> {
    this.#flush();
    this.sqlite.close();
  }
}
