/**
 * The `approval_requests` half of the SQLite store (OpenID CIBA, poll mode). Every state
 * change is one conditional `UPDATE ... WHERE status = ?` whose `changes` says whether
 * it happened, so two racing decisions, or two racing polls of an approved request, can
 * never both win: an approval yields at most one token.
 *
 * A new request is one conditional `INSERT ... SELECT ... WHERE <under the caps>`, so the
 * caps on pending requests (issue 9 point 10: one client filed 11,575 for one person in
 * 10 s) hold however many requests race, on one broker or several.
 * @module
 */
import { and, desc, eq, gt, gte, lt, sql } from 'drizzle-orm';
import type { BetterSQLite3Database } from 'drizzle-orm/better-sqlite3';
import { FIELD_CAPS, within } from './limits.js';
import * as schema from './schema.js';
import {
  MAX_PENDING_LIST,
  type ApprovalRecord,
  type NewApproval,
  type PendingCaps,
} from './store.js';

/**
 * Pending requests one client may have open: 100 in all and 20 for any one person. The
 * per-person cap is per client on purpose: a cap on a person across all clients would let
 * one agent fill that person's queue and lock every other agent out of asking them.
 */
export const DEFAULT_PENDING_CAPS: PendingCaps = { perClient: 100, perClientUser: 20 };

type ApprovalRow = typeof schema.approvalRequests.$inferSelect;

function toRecord(row: ApprovalRow): ApprovalRecord {
  return { ...row, aud: JSON.parse(row.aud) as string[] };
}

export class SqliteApprovals {
  readonly #get;
  readonly #schedulePoll;
  readonly #claim;
  readonly #insertUnderCaps;

  constructor(
    readonly db: BetterSQLite3Database<typeof schema>,
    sqlite: {
      prepare(source: string): { run(params: Record<string, unknown>): { changes: number } };
    },
  ) {
    this.#insertUnderCaps = sqlite.prepare(
      `INSERT INTO approval_requests
         (auth_req_id, client_id, username, scope, aud, binding_message, created_at, expires_at,
          interval, next_poll_at, status)
       SELECT :authReqId, :clientId, :username, :scope, :aud, :bindingMessage, :createdAt, :expiresAt,
          :interval, :createdAt, 'pending'
       WHERE (SELECT count(*) FROM (
                SELECT 1 FROM approval_requests
                WHERE client_id = :clientId AND status = 'pending' AND expires_at > :createdAt
                LIMIT :perClient)) < :perClient
         AND (SELECT count(*) FROM (
                SELECT 1 FROM approval_requests
                WHERE client_id = :clientId AND username = :username AND status = 'pending'
                  AND expires_at > :createdAt
                LIMIT :perClientUser)) < :perClientUser`,
    );
    const t = schema.approvalRequests;
    const id = eq(t.authReqId, sql.placeholder('id'));
    // The poll path is prepared once; decisions and listings are rare (a person acting).
    // (drizzle's `set` takes a placeholder only wrapped in sql``.)
    this.#get = db.select().from(t).where(id).prepare();
    this.#schedulePoll = db
      .update(t)
      .set({
        interval: sql`${sql.placeholder('interval')}`,
        nextPollAt: sql`${sql.placeholder('nextPollAt')}`,
      })
      .where(and(id, eq(t.status, 'pending')))
      .prepare();
    this.#claim = db
      .update(t)
      .set({ status: 'issued', issuedJti: sql`${sql.placeholder('jti')}` })
      .where(and(id, eq(t.status, 'approved')))
      .prepare();
  }

  /** Inserts the request unless a cap is reached (one statement); whether it did. */
  create(a: NewApproval, caps: PendingCaps = DEFAULT_PENDING_CAPS): boolean {
    const row = {
      authReqId: within('auth_req_id', a.authReqId, FIELD_CAPS.id),
      clientId: within('client_id', a.clientId, FIELD_CAPS.id),
      username: within('username', a.username, FIELD_CAPS.sub),
      scope: within('scope', a.scope, FIELD_CAPS.scope),
      aud: within('aud', JSON.stringify(a.aud), FIELD_CAPS.aud),
      bindingMessage:
        a.bindingMessage === null
          ? null
          : within('binding_message', a.bindingMessage, FIELD_CAPS.bindingMessage),
    };
    // Each count stops at its cap (LIMIT), so a full queue costs no more than a short one.
    const result = this.#insertUnderCaps.run({
      ...row,
      createdAt: a.createdAt,
      expiresAt: a.expiresAt,
      interval: a.interval,
      perClient: caps.perClient,
      perClientUser: caps.perClientUser,
    });
    return result.changes === 1;
  }

  get(authReqId: string): ApprovalRecord | undefined {
    const row = this.#get.get({ id: authReqId });
    return row === undefined ? undefined : toRecord(row);
  }

  /** Requests made in [since, until) after `after`, by (created_at, auth_req_id). */
  exportPage(
    query: { since: number; until: number; limit: number },
    after: { createdAt: number; authReqId: string },
  ): ApprovalRecord[] {
    const t = schema.approvalRequests;
    return this.db
      .select()
      .from(t)
      .where(
        and(
          gte(t.createdAt, query.since),
          lt(t.createdAt, query.until),
          sql`(${t.createdAt}, ${t.authReqId}) > (${after.createdAt}, ${after.authReqId})`,
        ),
      )
      .orderBy(t.createdAt, t.authReqId)
      .limit(query.limit)
      .all()
      .map(toRecord);
  }

  /** The approval a token was issued on (CIBA root tokens only). */
  forToken(jti: string): ApprovalRecord | undefined {
    const row = this.db
      .select()
      .from(schema.approvalRequests)
      .where(eq(schema.approvalRequests.issuedJti, jti))
      .get();
    return row === undefined ? undefined : toRecord(row);
  }

  listPending(now: number, username?: string, limit = MAX_PENDING_LIST): ApprovalRecord[] {
    const t = schema.approvalRequests;
    const where = [eq(t.status, 'pending'), gt(t.expiresAt, now)];
    // Usernames match case-insensitively (approvals/policy-user.ts).
    if (username !== undefined) where.push(sql`${t.username} = ${username} COLLATE NOCASE`);
    return this.db
      .select()
      .from(t)
      .where(and(...where))
      .orderBy(desc(t.createdAt), desc(t.authReqId))
      .limit(Math.max(0, Math.min(limit, MAX_PENDING_LIST)))
      .all()
      .map(toRecord);
  }

  /**
   * Pending → cancelled, for the client that asked only. `cancelled` is not in schema.ts's
   * status list (a TypeScript-only enum: the column is plain text, no CHECK), hence sql``.
   */
  cancel(authReqId: string, clientId: string, at: number): boolean {
    const t = schema.approvalRequests;
    const result = this.db
      .update(t)
      .set({ status: sql`'cancelled'`, decidedAt: at })
      .where(and(eq(t.authReqId, authReqId), eq(t.clientId, clientId), eq(t.status, 'pending')))
      .run();
    return result.changes === 1;
  }

  decide(
    authReqId: string,
    decision: 'approved' | 'denied',
    approvedScope: string | null,
    by: string,
    at: number,
  ): boolean {
    const t = schema.approvalRequests;
    const result = this.db
      .update(t)
      .set({
        status: decision,
        approvedScope: decision === 'approved' ? approvedScope : null,
        decidedAt: at,
        decidedBy: by,
      })
      .where(and(eq(t.authReqId, authReqId), eq(t.status, 'pending'), gt(t.expiresAt, at)))
      .run();
    return result.changes === 1;
  }

  schedulePoll(authReqId: string, interval: number, nextPollAt: number): void {
    this.#schedulePoll.run({ id: authReqId, interval, nextPollAt });
  }

  /**
   * Approved → issued with the token's jti (one conditional UPDATE: one winner). Only
   * inside the store's transaction that also records the token (`issueForApproval`).
   */
  claimForIssue(authReqId: string, jti: string): boolean {
    return this.#claim.run({ id: authReqId, jti }).changes === 1;
  }
}
