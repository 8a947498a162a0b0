/**
 * The `approval_requests` half of the PostgreSQL store (OpenID CIBA, poll mode), for
 * several brokers on one database (SPEC §9).
 *
 * Every state change is one conditional `UPDATE ... WHERE status = ...`: under READ
 * COMMITTED a second UPDATE of the same row waits for the first to commit and then
 * re-checks its WHERE against the new row, so two racing decisions, or two brokers
 * claiming one approval, can never both win.
 *
 * The caps on pending requests are the exception: a count and an insert in one statement
 * would both read a snapshot taken before a concurrent insert committed, so two brokers
 * could each see one slot left. A transaction-scoped advisory lock per client serialises
 * the requests of one client (only those), and the count runs after it is held.
 * @module
 */
import type { Pool, PoolClient } from 'pg';
import { FIELD_CAPS, within } from './limits.js';
import { DEFAULT_PENDING_CAPS } from './sqlite-approvals.js';
import {
  MAX_PENDING_LIST,
  type ApprovalRecord,
  type ApprovalStatus,
  type NewApproval,
  type PendingCaps,
} from './store.js';

/** An `approval_requests` row as `pg` returns it (int8 parsed to numbers by the pool). */
interface ApprovalRow {
  auth_req_id: string;
  client_id: string;
  username: string;
  scope: string;
  aud: string;
  binding_message: string | null;
  created_at: number;
  expires_at: number;
  interval: number;
  next_poll_at: number;
  status: string;
  approved_scope: string | null;
  decided_at: number | null;
  decided_by: string | null;
  issued_jti: string | null;
}

function toRecord(r: ApprovalRow): ApprovalRecord {
  return {
    authReqId: r.auth_req_id,
    clientId: r.client_id,
    username: r.username,
    scope: r.scope,
    aud: JSON.parse(r.aud) as string[],
    bindingMessage: r.binding_message,
    createdAt: r.created_at,
    expiresAt: r.expires_at,
    interval: r.interval,
    nextPollAt: r.next_poll_at,
    status: r.status as ApprovalStatus,
    approvedScope: r.approved_scope,
    decidedAt: r.decided_at,
    decidedBy: r.decided_by,
    issuedJti: r.issued_jti,
  };
}

const limitOf = (limit: number) => Math.max(0, Math.min(limit, MAX_PENDING_LIST));

export class PgApprovals {
  constructor(
    private readonly pool: Pool,
    /** Runs `fn` in one transaction (retrying serialization failures). */
    private readonly tx: <T>(fn: (client: PoolClient) => Promise<T>) => Promise<T>,
  ) {}

  async #rows(text: string, values: unknown[]): Promise<ApprovalRecord[]> {
    const result = await this.pool.query<ApprovalRow>(text, values);
    return result.rows.map(toRecord);
  }

  async #changed(text: string, values: unknown[], client?: PoolClient): Promise<boolean> {
    return (await (client ?? this.pool).query(text, values)).rowCount === 1;
  }

  /** Inserts the request unless a cap is reached; whether it did. */
  async create(a: NewApproval, caps: PendingCaps = DEFAULT_PENDING_CAPS): Promise<boolean> {
    const row = [
      within('auth_req_id', a.authReqId, FIELD_CAPS.id),
      within('client_id', a.clientId, FIELD_CAPS.id),
      within('username', a.username, FIELD_CAPS.sub),
      within('scope', a.scope, FIELD_CAPS.scope),
      within('aud', JSON.stringify(a.aud), FIELD_CAPS.aud),
      a.bindingMessage === null
        ? null
        : within('binding_message', a.bindingMessage, FIELD_CAPS.bindingMessage),
      a.createdAt,
      a.expiresAt,
      a.interval,
      caps.perClient,
      caps.perClientUser,
    ];
    return this.tx(async (c) => {
      // hashtextextended: a 64-bit key per client; 'baton.approvals:' keeps it apart from
      // any other advisory lock an operator's tools may take.
      await c.query(`SELECT pg_advisory_xact_lock(hashtextextended('baton.approvals:' || $1, 0))`, [
        row[1],
      ]);
      // Each count stops at its cap (LIMIT), so a full queue costs no more than a short one.
      const result = await c.query(
        `INSERT INTO approval_requests
           (auth_req_id, client_id, username, scope, aud, binding_message, created_at, expires_at,
            interval, next_poll_at, status)
         SELECT $1, $2, $3, $4, $5, $6, $7::bigint, $8::bigint, $9::int, $7::bigint, 'pending'
         WHERE (SELECT count(*) FROM (
                  SELECT 1 FROM approval_requests
                  WHERE client_id = $2 AND status = 'pending' AND expires_at > $7::bigint
                  LIMIT $10) c) < $10
           AND (SELECT count(*) FROM (
                  SELECT 1 FROM approval_requests
                  WHERE client_id = $2 AND username = $3 AND status = 'pending'
                    AND expires_at > $7::bigint
                  LIMIT $11) c) < $11`,
        row,
      );
      return result.rowCount === 1;
    });
  }

  async get(authReqId: string): Promise<ApprovalRecord | undefined> {
    return (
      await this.#rows('SELECT * FROM approval_requests WHERE auth_req_id = $1', [authReqId])
    )[0];
  }

  /** Requests made in [since, until) after `after`, by (created_at, auth_req_id). */
  exportPage(
    query: { since: number; until: number; limit: number },
    after: { createdAt: number; authReqId: string },
  ): Promise<ApprovalRecord[]> {
    return this.#rows(
      `SELECT * FROM approval_requests
       WHERE created_at >= $1 AND created_at < $2 AND (created_at, auth_req_id) > ($3::bigint, $4::text)
       ORDER BY created_at, auth_req_id LIMIT $5`,
      [query.since, query.until, after.createdAt, after.authReqId, query.limit],
    );
  }

  async forToken(jti: string): Promise<ApprovalRecord | undefined> {
    return (
      await this.#rows('SELECT * FROM approval_requests WHERE issued_jti = $1 LIMIT 1', [jti])
    )[0];
  }

  /** Usernames match case-insensitively (approvals/policy-user.ts), as SQLite's NOCASE. */
  listPending(now: number, username?: string, limit = MAX_PENDING_LIST): Promise<ApprovalRecord[]> {
    return this.#rows(
      `SELECT * FROM approval_requests
       WHERE status = 'pending' AND expires_at > $1 AND ($2::text IS NULL OR lower(username) = lower($2))
       ORDER BY created_at DESC, auth_req_id DESC LIMIT $3`,
      [now, username ?? null, limitOf(limit)],
    );
  }

  listPendingAnyCase(now: number, username: string, limit: number): Promise<ApprovalRecord[]> {
    return this.listPending(now, username, limit);
  }

  cancel(authReqId: string, clientId: string, at: number): Promise<boolean> {
    return this.#changed(
      `UPDATE approval_requests SET status = 'cancelled', decided_at = $3
       WHERE auth_req_id = $1 AND client_id = $2 AND status = 'pending'`,
      [authReqId, clientId, at],
    );
  }

  decide(
    authReqId: string,
    decision: 'approved' | 'denied',
    approvedScope: string | null,
    by: string,
    at: number,
  ): Promise<boolean> {
    return this.#changed(
      `UPDATE approval_requests
       SET status = $2, approved_scope = $3, decided_at = $5, decided_by = $4
       WHERE auth_req_id = $1 AND status = 'pending' AND expires_at > $5`,
      [authReqId, decision, decision === 'approved' ? approvedScope : null, by, at],
    );
  }

  async schedulePoll(authReqId: string, interval: number, nextPollAt: number): Promise<void> {
    await this.pool.query(
      `UPDATE approval_requests SET interval = $2, next_poll_at = $3
       WHERE auth_req_id = $1 AND status = 'pending'`,
      [authReqId, interval, nextPollAt],
    );
  }

  /** On `client` when given (inside the caller's transaction). */
  claimForIssue(authReqId: string, jti: string, client?: PoolClient): Promise<boolean> {
    return this.#changed(
      `UPDATE approval_requests SET status = 'issued', issued_jti = $2
       WHERE auth_req_id = $1 AND status = 'approved'`,
      [authReqId, jti],
      client,
    );
  }
}
