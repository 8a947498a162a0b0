/**
 * The `approval_requests` half of the SQLite store (OpenID CIBA, poll mode). Every state
 * change is one conditional `UPDATE ... WHERE status = ?` whose `changes` says whether
 * it happened, so two racing decisions, or two racing polls of an approved request, can
 * never both win: an approval yields at most one token.
 * @module
 */
import { and, desc, eq, gt, sql } from 'drizzle-orm';
import type { BetterSQLite3Database } from 'drizzle-orm/better-sqlite3';
import * as schema from './schema.js';
import type { ApprovalRecord, NewApproval } from './store.js';

type ApprovalRow = typeof schema.approvalRequests.$inferSelect;

function toRecord(row: ApprovalRow): ApprovalRecord {
  return { ...row, aud: JSON.parse(row.aud) as string[] };
}

export class SqliteApprovals {
  readonly #get;
  readonly #schedulePoll;
  readonly #claim;

  constructor(readonly db: BetterSQLite3Database<typeof schema>) {
    const t = schema.approvalRequests;
    const id = eq(t.authReqId, sql.placeholder('id'));
    // The poll path is prepared once; decisions and listings are rare (a person acting).
    // (drizzle's `set` takes a placeholder only wrapped in sql``.)
    this.#get = db.select().from(t).where(id).prepare();
    this.#schedulePoll = db
      .update(t)
      .set({ interval: sql`${sql.placeholder('interval')}`, nextPollAt: sql`${sql.placeholder('nextPollAt')}` })
      .where(and(id, eq(t.status, 'pending')))
      .prepare();
    this.#claim = db
      .update(t)
      .set({ status: 'issued', issuedJti: sql`${sql.placeholder('jti')}` })
      .where(and(id, eq(t.status, 'approved')))
      .prepare();
  }

  create(a: NewApproval): void {
    this.db
      .insert(schema.approvalRequests)
      .values({ ...a, aud: JSON.stringify(a.aud), nextPollAt: a.createdAt, status: 'pending' })
      .run();
  }

  get(authReqId: string): ApprovalRecord | undefined {
    const row = this.#get.get({ id: authReqId });
    return row === undefined ? undefined : toRecord(row);
  }

  /** The approval a token was issued on (CIBA root tokens only). */
  forToken(jti: string): ApprovalRecord | undefined {
    const row = this.db.select().from(schema.approvalRequests).where(eq(schema.approvalRequests.issuedJti, jti)).get();
    return row === undefined ? undefined : toRecord(row);
  }

  listPending(now: number, username?: string): ApprovalRecord[] {
    const t = schema.approvalRequests;
    const where = [eq(t.status, 'pending'), gt(t.expiresAt, now)];
    if (username !== undefined) where.push(eq(t.username, username));
    return this.db
      .select()
      .from(t)
      .where(and(...where))
      .orderBy(desc(t.createdAt), desc(t.authReqId))
      .all()
      .map(toRecord);
  }

  decide(authReqId: string, decision: 'approved' | 'denied', approvedScope: string | null, by: string, at: number): boolean {
    const t = schema.approvalRequests;
    const result = this.db
      .update(t)
      .set({ status: decision, approvedScope: decision === 'approved' ? approvedScope : null, decidedAt: at, decidedBy: by })
      .where(and(eq(t.authReqId, authReqId), eq(t.status, 'pending'), gt(t.expiresAt, at)))
      .run();
    return result.changes === 1;
  }

  schedulePoll(authReqId: string, interval: number, nextPollAt: number): void {
    this.#schedulePoll.run({ id: authReqId, interval, nextPollAt });
  }

  claimForIssue(authReqId: string, jti: string): boolean {
    return this.#claim.run({ id: authReqId, jti }).changes === 1;
  }

  releaseClaim(authReqId: string, jti: string): void {
    const t = schema.approvalRequests;
    this.db
      .update(t)
      .set({ status: 'approved', issuedJti: null })
      .where(and(eq(t.authReqId, authReqId), eq(t.status, 'issued'), eq(t.issuedJti, jti)))
      .run();
  }
}
