/**
 * The SQLite `Store` (better-sqlite3 + drizzle). The only module that opens the
 * database: WAL, `synchronous=FULL` by default (a row is on disk before the client
 * sees its token), foreign keys on, migrations applied on open.
 *
 * Ledger writes go through a group commit: every row queued during one event-loop
 * turn is written in one transaction on the next `setImmediate`, and each caller's
 * promise resolves once that transaction is on disk. Under FULL the batch commits
 * without SQLite's own fsync and `wal-sync.ts` then fsyncs the WAL on the thread pool,
 * one fsync serving every batch that committed while the previous one ran: FULL's
 * durability without the event loop waiting for the disk, and without changing the
 * callers (they just `await recordIssued(...)`). Other writes (revocations, approvals,
 * sessions, keys) are rare and keep SQLite's own FULL commit.
 *
 * CIBA approval requests are written directly (`sqlite-approvals.ts`): each change is one
 * conditional UPDATE, and a person's decision is rare. A CIBA token's row commits in the
 * same transaction as its approval's claim (`issueForApproval`).
 *
 * Chains and trees are walked by SQLite (recursive CTEs, which iterate), never by
 * recursion in JavaScript, and every walk that feeds a report is bounded: `chain` stops
 * after `nearest` ancestors and fetches the root by `root_jti`; `descendants` returns a
 * page. Trees are built from those rows in pure code (`services/audit-report.ts` `buildTree`).
 *
 * The database holds the private signing key: its folder is created 0700 and the file
 * (and with it SQLite's -wal and -shm, which copy its mode) 0600 (issue 9 point 12).
 * @module
 */
import { chmodSync, closeSync, existsSync, mkdirSync, openSync, statSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import Database from 'better-sqlite3';
import { and, count, desc, eq, gt, gte, inArray, lt, or, sql, type SQL } from 'drizzle-orm';
import { drizzle, type BetterSQLite3Database } from 'drizzle-orm/better-sqlite3';
import { migrate } from 'drizzle-orm/better-sqlite3/migrator';
import { cappedRefusal, cappedToken } from './limits.js';
import { refusalFromRow, tokenFromRow, type RawRefusalRow, type RawTokenRow } from './rows.js';
import * as schema from './schema.js';
import { SqliteApprovals } from './sqlite-approvals.js';
import { SqliteMcpAuth } from './sqlite-mcp-auth.js';
import type * as McpAuth from './mcp-auth-store.js';
import { WalSync } from './wal-sync.js';
import {
  MAX_PENDING_LIST,
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
    rootJti: row.rootJti ?? row.jti,
    hop: row.hop,
  };
}

/** Stops a walk over a corrupt (cyclic) ledger; no real chain comes near it. */
const WALK_GUARD = 10_000_000;

/**
 * Creates the database's folder 0700 and the file 0600 before SQLite opens it (SQLite
 * gives -wal and -shm the mode of the database file), and tightens an existing file that
 * others could read: it holds the private signing key. Folders that already exist are
 * left alone (the database may live in a shared folder such as /tmp).
 */
function prepareDatabaseFile(file: string): void {
  const resolved = path.resolve(file);
  mkdirSync(path.dirname(resolved), { recursive: true, mode: 0o700 });
  closeSync(openSync(resolved, 'a', 0o600));
  for (const f of [resolved, `${resolved}-wal`, `${resolved}-shm`]) {
    if (!existsSync(f) || (statSync(f).mode & 0o077) === 0) continue;
    try {
      chmodSync(f, 0o600);
    } catch {
      // Not ours to change (another user's file): SQLite will still open or refuse it.
    }
  }
}

/** Opens (creating if needed) the database file and applies the migrations. */
export function openSqliteStore(file: string, options: SqliteStoreOptions = {}): SqliteStore {
  if (file !== ':memory:' && file !== '') prepareDatabaseFile(file);
  const sqlite = new Database(file);
  sqlite.pragma('journal_mode = WAL');
  const synchronous = options.synchronous ?? 'FULL';
  sqlite.pragma(`synchronous = ${synchronous}`);
  sqlite.pragma('foreign_keys = ON');
  sqlite.pragma('busy_timeout = 5000');
  const db = drizzle(sqlite, { schema });
  migrate(db, { migrationsFolder: MIGRATIONS_FOLDER });
  // FULL for a file: ledger batches fsync off the event loop (`wal-sync.ts`).
  const walSync =
    synchronous === 'FULL' && file !== ':memory:' && file !== ''
      ? new WalSync(`${path.resolve(file)}-wal`)
      : undefined;
  return new SqliteStore(sqlite, db, walSync);
}

export class SqliteStore implements Store {
  #queue: Pending[] = [];
  #flushScheduled = false;
  #lastAssertionSweep = 0;
  readonly #insertToken;
  readonly #insertRefusal;
  readonly #ledgerState;
  readonly #getToken;
  readonly #approvals: SqliteApprovals;
  readonly #mcpAuth: SqliteMcpAuth;
  readonly #commitBatch: (batch: Pending[]) => Array<unknown | undefined>;
  readonly #issueForApproval: (authReqId: string, token: TokenRecord) => boolean;

  readonly #walSync: WalSync | undefined;
  readonly #syncNormal: Database.Statement;
  readonly #syncFull: Database.Statement;

  constructor(
    readonly sqlite: Database.Database,
    readonly db: BetterSQLite3Database<typeof schema>,
    walSync?: WalSync,
  ) {
    this.#walSync = walSync;
    this.#syncNormal = sqlite.prepare('PRAGMA synchronous = NORMAL');
    this.#syncFull = sqlite.prepare('PRAGMA synchronous = FULL');
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
        rootJti: sql.placeholder('rootJti'),
        hop: sql.placeholder('hop'),
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
    // The one read the hot path makes about a token: its revocation, and its place in the
    // chain, which a child copies.
    this.#ledgerState = db
      .select({ revokedAt: tokens.revokedAt, hop: tokens.hop, rootJti: tokens.rootJti })
      .from(tokens)
      .where(eq(tokens.jti, sql.placeholder('jti')))
      .prepare();
    this.#getToken = db
      .select()
      .from(tokens)
      .where(eq(tokens.jti, sql.placeholder('jti')))
      .prepare();
    this.#approvals = new SqliteApprovals(db, sqlite);
    this.#mcpAuth = new SqliteMcpAuth(sqlite);

    // One transaction per batch; a row that fails (revoked parent, constraint) fails
    // alone: SQLite rolls back only that statement and the others still commit.
    this.#commitBatch = sqlite.transaction((batch: Pending[]) =>
      batch.map((item) => {
        try {
          if (item.kind === 'refusal') {
            this.#insertRefusal.run(cappedRefusal(item.row));
            return undefined;
          }
          this.#insertTokenRow(item.row);
          return undefined;
        } catch (error) {
          return error;
        }
      }),
    );

    // Claim and ledger row in one transaction (a savepoint when a batch is open): a row
    // that cannot be recorded rolls the claim back with it.
    this.#issueForApproval = sqlite.transaction((authReqId: string, token: TokenRecord) => {
      if (!this.#approvals.claimForIssue(authReqId, token.jti)) return false;
      this.#insertTokenRow(token);
      return true;
    });
  }

  /**
   * Inserts one token row inside the caller's transaction; throws `ParentRevokedError`
   * or `LedgerFieldTooLargeError`. A child copies its chain's root and counts one more
   * hop; a parent the ledger lacks starts a new chain. The same single read checks that
   * the parent stands (SQLite's one writer makes it a lock).
   */
  #insertTokenRow(t: TokenRecord): void {
    let rootJti = t.jti;
    let hop = 0;
    if (t.parentJti !== null) {
      const parent = this.#ledgerState.get({ jti: t.parentJti });
      if (parent?.revokedAt != null) throw new ParentRevokedError(t.parentJti);
      if (parent !== undefined) {
        rootJti = parent.rootJti ?? t.parentJti;
        hop = parent.hop + 1;
      }
    }
    this.#insertToken.run({ ...cappedToken(t), rootJti, hop });
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
    const wal = this.#walSync;
    let outcomes: Array<unknown | undefined>;
    try {
      // With a WalSync the commit writes the WAL without fsync; the fsync follows off the
      // event loop, and nobody hears of the rows before it returns.
      if (wal !== undefined) this.#syncNormal.run();
      outcomes = this.#commitBatch(batch);
    } catch (error) {
      for (const item of batch) item.reject(error);
      return;
    } finally {
      // Back to FULL for the store's other writes (unless the connection was closed under us).
      if (wal !== undefined && this.sqlite.open) this.#syncFull.run();
    }
    const settle = (syncError: Error | null) =>
      batch.forEach((item, i) => {
        const failure = syncError ?? outcomes[i];
        if (failure === undefined) item.resolve();
        else item.reject(failure);
      });
    if (wal === undefined) settle(null);
    else wal.afterCommit(settle);
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

  async getToken(jti: string): Promise<LedgerToken | undefined> {
    const row = this.#getToken.get({ jti });
    return row === undefined ? undefined : toLedgerToken(row);
  }

  async revokedAt(jti: string): Promise<number | null | undefined> {
    return this.#ledgerState.get({ jti })?.revokedAt;
  }

  async ledgerState(jti: string): Promise<LedgerState | undefined> {
    const row = this.#ledgerState.get({ jti });
    return row === undefined ? undefined : { revokedAt: row.revokedAt, hop: row.hop };
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

  async chain(jti: string, nearest = WALK_GUARD): Promise<LedgerToken[]> {
    // Walks up from the token at most `nearest` rows, each parent one hop nearer the root
    // (which also ends the walk at a root, and on a corrupt, cyclic ledger); the root
    // comes by its jti.
    const rows = this.sqlite
      .prepare(
        `WITH RECURSIVE up(jti, parent_jti, hop, n) AS (
           SELECT jti, parent_jti, hop, 1 FROM tokens WHERE jti = ?
           UNION ALL
           SELECT t.jti, t.parent_jti, t.hop, up.n + 1 FROM tokens t
           JOIN up ON t.jti = up.parent_jti AND t.hop + 1 = up.hop
           WHERE up.n < ?
         )
         SELECT t.* FROM up JOIN tokens t ON t.jti = up.jti ORDER BY up.n DESC`,
      )
      .all(jti, Math.max(1, Math.min(nearest, WALK_GUARD))) as RawTokenRow[];
    const tokens = rows.map(tokenFromRow);
    const top = tokens[0];
    if (top === undefined || top.jti === top.rootJti) return tokens;
    const root = this.#getToken.get({ jti: top.rootJti });
    return root === undefined ? tokens : [toLedgerToken(root), ...tokens];
  }

  async descendants(
    jti: string,
    page: { limit: number; after?: DescendantsCursor },
  ): Promise<LedgerDescendant[]> {
    const self = this.#ledgerState.get({ jti });
    if (self === undefined) return [];
    const after = page.after ?? { hop: -1, iat: 0, jti: '' };
    // Only the sort keys travel through the walk and the (top-N) sort; full rows are read
    // for the page. A child is one hop below its parent (the store copies the hop), which
    // also ends the walk on a corrupt, cyclic ledger without UNION's de-duplication.
    const rows = this.sqlite
      .prepare(
        `WITH RECURSIVE d(jti, hop, iat) AS (
           SELECT jti, hop, iat FROM tokens WHERE parent_jti = ? AND hop = ? + 1
           UNION ALL
           SELECT t.jti, t.hop, t.iat FROM tokens t JOIN d ON t.parent_jti = d.jti AND t.hop = d.hop + 1
         ),
         page(jti) AS (
           SELECT jti FROM d WHERE (hop, iat, jti) > (?, ?, ?) ORDER BY hop, iat, jti LIMIT ?
         )
         SELECT t.* FROM page JOIN tokens t ON t.jti = page.jti
         ORDER BY t.hop, t.iat, t.jti`,
      )
      .all(jti, self.hop, after.hop, after.iat, after.jti, page.limit) as RawTokenRow[];
    return rows.map((r) => ({ ...tokenFromRow(r), depth: r.hop - self.hop }));
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

  async refusalsInTree(
    jti: string,
    limit: number,
  ): Promise<{ refusals: LedgerRefusal[]; total: number }> {
    // The newest `limit`, and the count of all in the same statement (a window function).
    const rows = this.sqlite
      .prepare(
        `WITH RECURSIVE d(jti, hop) AS (
           SELECT jti, hop FROM tokens WHERE jti = ?
           UNION ALL
           SELECT t.jti, t.hop FROM tokens t JOIN d ON t.parent_jti = d.jti AND t.hop = d.hop + 1
         )
         SELECT r.*, count(*) OVER () AS total FROM refusals r
         WHERE r.subject_jti IN (SELECT jti FROM d)
         ORDER BY r.at DESC, r.id DESC
         LIMIT ?`,
      )
      .all(jti, limit) as Array<RawRefusalRow & { total: number }>;
    return { refusals: rows.map(refusalFromRow).reverse(), total: rows[0]?.total ?? 0 };
  }

  async exportTokens(
    query: ExportQuery,
    after?: { iat: number; jti: string },
  ): Promise<LedgerToken[]> {
    const from = after ?? { iat: query.since - 1, jti: '' };
    const rows = this.sqlite
      .prepare(
        `SELECT * FROM tokens
         WHERE iat >= ? AND iat < ? AND (iat, jti) > (?, ?)
         ORDER BY iat, jti LIMIT ?`,
      )
      .all(query.since, query.until, from.iat, from.jti, query.limit) as RawTokenRow[];
    return rows.map(tokenFromRow);
  }

  async exportRefusals(
    query: ExportQuery,
    after?: { at: number; id: number },
  ): Promise<LedgerRefusal[]> {
    const from = after ?? { at: query.since - 1, id: 0 };
    const rows = this.sqlite
      .prepare(
        `SELECT * FROM refusals
         WHERE at >= ? AND at < ? AND (at, id) > (?, ?)
         ORDER BY at, id LIMIT ?`,
      )
      .all(query.since, query.until, from.at, from.id, query.limit) as RawRefusalRow[];
    return rows.map(refusalFromRow);
  }

  async exportApprovals(
    query: ExportQuery,
    after?: { createdAt: number; authReqId: string },
  ): Promise<ApprovalRecord[]> {
    return this.#approvals.exportPage(
      query,
      after ?? { createdAt: query.since - 1, authReqId: '' },
    );
  }

  async pruneChains(cutoff: number, batch: PruneBatch): Promise<number> {
    this.#flush();
    return this.#pruneChains(cutoff, batch.limit);
  }

  /**
   * One transaction deleting at most `limit` rows: for each chain whose root expired
   * before the cutoff and none of whose tokens lives on past it (one index seek), first
   * the refusals against its tokens, then its tokens other than the root, then the
   * approval that started it and the root. The root goes last, so a chain cut short by
   * the limit is found again by the next call through its root.
   */
  #pruneChains = (cutoff: number, limit: number): number =>
    this.sqlite.transaction(() => {
      const roots = this.sqlite
        .prepare(
          `SELECT r.jti FROM tokens r
           WHERE r.root_jti = r.jti AND r.exp < ?
             AND NOT EXISTS (SELECT 1 FROM tokens t WHERE t.root_jti = r.jti AND t.exp >= ?)
           ORDER BY r.exp LIMIT 16`,
        )
        .all(cutoff, cutoff) as Array<{ jti: string }>;
      const deleteRefusals = this.sqlite.prepare(
        `DELETE FROM refusals WHERE id IN (
           SELECT r.id FROM tokens t JOIN refusals r ON r.subject_jti = t.jti WHERE t.root_jti = ? LIMIT ?)`,
      );
      const deleteTokens = this.sqlite.prepare(
        `DELETE FROM tokens WHERE jti IN (SELECT jti FROM tokens WHERE root_jti = ? AND jti <> ? LIMIT ?)`,
      );
      let budget = limit;
      for (const { jti } of roots) {
        budget -= deleteRefusals.run(jti, budget).changes;
        if (budget <= 0) break;
        const tokens = deleteTokens.run(jti, jti, budget).changes;
        budget -= tokens;
        if (budget <= 0) break;
        budget -= this.sqlite
          .prepare('DELETE FROM approval_requests WHERE issued_jti = ?')
          .run(jti).changes;
        budget -= this.sqlite.prepare('DELETE FROM tokens WHERE jti = ?').run(jti).changes;
        if (budget <= 0) break;
      }
      return limit - Math.max(budget, 0);
    })();

  async pruneRefusals(cutoff: number, batch: PruneBatch): Promise<number> {
    this.#flush();
    return this.sqlite
      .prepare(
        'DELETE FROM refusals WHERE id IN (SELECT id FROM refusals WHERE at < ? ORDER BY at LIMIT ?)',
      )
      .run(cutoff, batch.limit).changes;
  }

  async pruneApprovals(cutoff: number, batch: PruneBatch): Promise<number> {
    return this.sqlite
      .prepare(
        `DELETE FROM approval_requests WHERE auth_req_id IN (
           SELECT a.auth_req_id FROM approval_requests a
           WHERE a.expires_at < ?
             AND (a.issued_jti IS NULL OR NOT EXISTS (SELECT 1 FROM tokens t WHERE t.jti = a.issued_jti))
           ORDER BY a.expires_at LIMIT ?)`,
      )
      .run(cutoff, batch.limit).changes;
  }

  async pruneAssertionJtis(cutoff: number, batch: PruneBatch): Promise<number> {
    return this.sqlite
      .prepare(
        `DELETE FROM client_assertion_jtis WHERE rowid IN (
           SELECT rowid FROM client_assertion_jtis WHERE exp < ? ORDER BY exp LIMIT ?)`,
      )
      .run(cutoff, batch.limit).changes;
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
    return this.db
      .select()
      .from(schema.signingKeys)
      .orderBy(desc(schema.signingKeys.createdAt))
      .all();
  }

  async addSigningKey(key: StoredSigningKey): Promise<void> {
    this.db.insert(schema.signingKeys).values(key).run();
  }

  async useAssertionJti(clientId: string, jti: string, exp: number, now: number): Promise<boolean> {
    const { clientAssertionJtis: t } = schema;
    // A small sweep on the request path, bounded so a flood of assertions never makes one
    // request pay for deleting them all; retention (`ledger/retention.ts`) does the rest.
    if (now - this.#lastAssertionSweep >= 60) {
      this.#lastAssertionSweep = now;
      void this.pruneAssertionJtis(now, { limit: 100 });
    }
    const result = this.db.insert(t).values({ clientId, jti, exp }).onConflictDoNothing().run();
    return result.changes === 1;
  }

  async createApproval(approval: NewApproval, caps?: PendingCaps): Promise<boolean> {
    return this.#approvals.create(approval, caps);
  }

  async getApproval(authReqId: string): Promise<ApprovalRecord | undefined> {
    return this.#approvals.get(authReqId);
  }

  async approvalForToken(jti: string): Promise<ApprovalRecord | undefined> {
    return this.#approvals.forToken(jti);
  }

  async listPendingApprovals(
    now: number,
    username?: string,
    limit?: number,
  ): Promise<ApprovalRecord[]> {
    return this.#approvals.listPending(now, username, limit);
  }

  async cancelApproval(authReqId: string, clientId: string, at: number): Promise<boolean> {
    return this.#approvals.cancel(authReqId, clientId, at);
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

  async issueForApproval(authReqId: string, token: TokenRecord): Promise<boolean> {
    // Its own transaction, after the rows already queued (ledger order is kept). One
    // fsync per CIBA token is fine: a person's approval paces them.
    this.#flush();
    return this.#issueForApproval(authReqId, token);
  }

  async createConsoleSession(session: ConsoleSession): Promise<void> {
    const { consoleSessions: t } = schema;
    this.sqlite
      .prepare(
        `DELETE FROM console_sessions WHERE rowid IN (
           SELECT rowid FROM console_sessions WHERE expires_at <= ? ORDER BY expires_at LIMIT 100)`,
      )
      .run(session.createdAt);
    this.db.insert(t).values(session).run();
  }

  async getConsoleSession(idHash: string, now: number): Promise<ConsoleSession | undefined> {
    const { consoleSessions: t } = schema;
    return this.db
      .select()
      .from(t)
      .where(and(eq(t.idHash, idHash), gt(t.expiresAt, now)))
      .get();
  }

  async deleteConsoleSession(idHash: string): Promise<void> {
    const { consoleSessions: t } = schema;
    this.db.delete(t).where(eq(t.idHash, idHash)).run();
  }

  async listPendingApprovalsAnyCase(
    now: number,
    username: string,
    limit: number,
  ): Promise<ApprovalRecord[]> {
    const a = schema.approvalRequests;
    return this.db
      .select()
      .from(a)
      .where(
        and(
          eq(a.status, 'pending'),
          gt(a.expiresAt, now),
          sql`lower(${a.username}) = lower(${username})`,
        ),
      )
      .orderBy(desc(a.createdAt), desc(a.authReqId))
      .limit(Math.max(0, Math.min(limit, MAX_PENDING_LIST)))
      .all()
      .map((row) => ({ ...row, aud: JSON.parse(row.aud) as string[] }));
  }

  async rootTokensFor(sub: string, limit: number): Promise<LedgerToken[]> {
    const { tokens } = schema;
    return this.db
      .select()
      .from(tokens)
      .where(and(eq(tokens.sub, sub), eq(tokens.rootJti, tokens.jti)))
      .orderBy(desc(tokens.iat), desc(tokens.jti))
      .limit(limit)
      .all()
      .map(toLedgerToken);
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
      pendingApprovals: n(
        this.db
          .select({ n: count() })
          .from(a)
          .where(and(eq(a.status, 'pending'), gt(a.expiresAt, now))),
      ),
    };
  }

  // MCP authorization (SPEC §8): `sqlite-mcp-auth.ts`. Whatever may revoke a family's
  // tokens first commits the queued ledger rows, so the cascade sees every one of them.
  registerMcpClient(c: McpAuth.McpRegisteredClient, cap: number, liveSince: number) {
    return this.#mcpAuth.registerMcpClient(c, cap, liveSince);
  }

  getMcpClient(clientId: string, liveSince: number) {
    return this.#mcpAuth.getMcpClient(clientId, liveSince);
  }

  touchMcpClient(clientId: string, at: number) {
    return this.#mcpAuth.touchMcpClient(clientId, at);
  }

  pruneMcpAuth(cutoff: number, idleBefore: number, batch: PruneBatch): Promise<number> {
    return this.#mcpAuth.pruneMcpAuth(cutoff, idleBefore, batch);
  }

  mcpClientHasConsent(clientId: string, now: number) {
    return this.#mcpAuth.mcpClientHasConsent(clientId, now);
  }

  createAuthCode(code: McpAuth.McpAuthCode) {
    return this.#mcpAuth.createAuthCode(code);
  }

  claimAuthCode(codeHash: string, now: number) {
    this.#flush();
    return this.#mcpAuth.claimAuthCode(codeHash, now);
  }

  startRefreshFamily(
    codeHash: string,
    family: McpAuth.McpRefreshFamily,
    refreshHash: string,
    jti: string,
  ) {
    return this.#mcpAuth.startRefreshFamily(codeHash, family, refreshHash, jti);
  }

  rotateRefreshToken(
    refreshHash: string,
    clientId: string,
    newRefreshHash: string,
    jti: string,
    now: number,
  ) {
    this.#flush();
    return this.#mcpAuth.rotateRefreshToken(refreshHash, clientId, newRefreshHash, jti, now);
  }

  revokeRefreshFamily(refreshHash: string, clientId: string, now: number) {
    this.#flush();
    return this.#mcpAuth.revokeRefreshFamily(refreshHash, clientId, now);
  }

  async close(): Promise<void> {
    this.#flush();
    await this.#walSync?.idle();
    this.sqlite.close();
    this.#walSync?.close();
  }
}
