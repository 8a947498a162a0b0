/**
 * The narrow storage interface the broker talks to. SQLite implements it today
 * (`sqlite-store.ts`); a PostgreSQL store for several brokers can follow behind the
 * same methods, which is why everything here returns a Promise even though
 * better-sqlite3 is synchronous.
 *
 * What every implementation must guarantee ACROSS PROCESSES (several brokers on one
 * database, issue 12), not just within one: SQLite gets most of it from its one writer;
 * PostgreSQL under READ COMMITTED needs the locks named on each method.
 * - Durable before sent: a write method resolves only after its transaction committed.
 * - No live child under a revoked parent: `recordIssued` checks the parent inside the
 *   transaction that inserts the child, holding a lock on the parent row (PostgreSQL:
 *   `SELECT ... FOR SHARE` on the parent, which waits for a `revokeCascade` holding
 *   `FOR UPDATE` and then sees its revocation; or one `INSERT ... SELECT ... WHERE parent
 *   not revoked` statement doing the same).
 * - One winner: every state change of an approval is a conditional UPDATE (`WHERE status
 *   = 'pending'` / `'approved'`) whose row count says who won; the loser changes nothing.
 *   `issueForApproval` adds the ledger row in that same transaction.
 * - Once only: `useAssertionJti` is one INSERT against a unique (client, jti) key.
 * - Nothing cached that can outlive a write made by another broker: reads go to the
 *   database (or a cache invalidated by it, e.g. LISTEN/NOTIFY).
 * @module
 */
import type { McpAuthStore } from './mcp-auth-store.js';
import type { ActClaim } from '../tokens/claims.js';

/** One issued token, as the ledger keeps it (SPEC §5). */
export interface TokenRecord {
  jti: string;
  parentJti: string | null;
  sub: string;
  act: ActClaim | null;
  clientId: string;
  grantType: string;
  scope: string;
  aud: string[];
  iat: number;
  exp: number;
}

/** A ledger token row plus its revocation state and place in its chain. */
export interface LedgerToken extends TokenRecord {
  revokedAt: number | null;
  revokedVia: string | null;
  /** The first token of its chain (itself for a root). */
  rootJti: string;
  /** Exchanges between the root and this token (0 for a root), so the chain holds hop + 1 tokens. */
  hop: number;
}

/** A descendant in breadth-first order: `depth` 1 for a child of the audited token. */
export interface LedgerDescendant extends LedgerToken {
  depth: number;
}

/** Where a page of descendants left off: breadth-first order is (hop, iat, jti). */
export interface DescendantsCursor {
  hop: number;
  iat: number;
  jti: string;
}

/** What the hot path reads about a subject token, in one indexed read. */
export interface LedgerState {
  /** Unix seconds of the revocation, null while the token stands. */
  revokedAt: number | null;
  hop: number;
}

/** One refused exchange (SPEC §5): who asked, what for, and why it was refused. */
export interface RefusalRecord {
  at: number;
  clientId: string;
  grantType: string;
  subjectJti: string | null;
  error: string;
  /** The typed reason (`RefusalReason`), or the OAuth error code when no rule named one. */
  reason: string | null;
  errorDescription: string;
  requested: Record<string, unknown>;
}

export interface LedgerRefusal extends RefusalRecord {
  id: number;
}

export interface StoredSigningKey {
  kid: string;
  alg: string;
  privateJwk: string;
  publicJwk: string;
  createdAt: number;
  retiredAt: number | null;
}

/** A page of the ledger for `npx baton export`: oldest first, keyset-paginated. */
export interface ExportQuery {
  /** Issued (tokens), refused (refusals) or asked for (approvals) at or after this Unix time. */
  since: number;
  /** ... and before this one. */
  until: number;
  limit: number;
}

/** One retention step (`ledger/retention.ts` computes the cutoffs and loops the steps). */
export interface PruneBatch {
  /** The most rows one call may delete (one short transaction). */
  limit: number;
}

/** OpenID CIBA flood guard: how many pending requests `createApproval` lets stand. */
export interface PendingCaps {
  /** Pending, unexpired requests one client may have at once. */
  perClient: number;
  /** Pending, unexpired requests one client may have for one person at once. */
  perClientUser: number;
}

export interface TokenQuery {
  sub?: string;
  clientId?: string;
  /** Only tokens issued at or after this Unix time. */
  since?: number;
  limit: number;
  /** Opaque cursor from a previous page. */
  cursor?: { iat: number; jti: string };
}

/** `cancelled`: the agent stopped waiting (issue 10 point 7); no one can decide it any more. */
export type ApprovalStatus = 'pending' | 'approved' | 'denied' | 'issued' | 'cancelled';

/** A new OpenID CIBA request (CIBA §7.1), as the backchannel endpoint records it. */
export interface NewApproval {
  authReqId: string;
  clientId: string;
  /** The `login_hint`, as sent. */
  username: string;
  /** The requested scope, space-separated. */
  scope: string;
  aud: string[];
  bindingMessage: string | null;
  createdAt: number;
  expiresAt: number;
  /** Seconds between polls (CIBA §7.3). */
  interval: number;
}

/** A CIBA request and where it stands. */
export interface ApprovalRecord extends NewApproval {
  /** Unix seconds before which a poll is too early (CIBA §11 `slow_down`). */
  nextPollAt: number;
  status: ApprovalStatus;
  approvedScope: string | null;
  decidedAt: number | null;
  decidedBy: string | null;
  issuedJti: string | null;
}

/** The most pending requests `listPendingApprovals` returns unless asked for fewer. */
export const MAX_PENDING_LIST = 200;

/** Thrown by `recordIssued` when a field is over its hard cap (`store/limits.ts`). */
export class LedgerFieldTooLargeError extends Error {
  constructor(readonly field: string) {
    super(`the ${field} is too large to record`);
    this.name = 'LedgerFieldTooLargeError';
  }
}

/** Thrown by `recordIssued` when the parent was revoked before the row could commit. */
export class ParentRevokedError extends Error {
  constructor(readonly parentJti: string) {
    super(`parent token ${parentJti} was revoked`);
    this.name = 'ParentRevokedError';
  }
}

export interface Store extends McpAuthStore {
  /**
   * Records an issued token durably. Resolves once the row has committed; callers
   * send the token only after that. Rows of one event-loop turn commit together.
   * Rejects with `ParentRevokedError` when `parentJti` is revoked at commit time, so a
   * revocation racing an exchange can never leave a live child behind, even one made by
   * another broker: the parent is read under a row lock in the inserting transaction.
   * A parent the ledger lacks starts a new chain (root = itself, hop 0); otherwise the
   * row copies the parent's root and its hop + 1.
   */
  recordIssued(token: TokenRecord): Promise<void>;
  /** Records a refused exchange (same commit path as `recordIssued`). */
  recordRefusal(refusal: RefusalRecord): Promise<void>;
  getToken(jti: string): Promise<LedgerToken | undefined>;
  /**
   * The one fact the hot path needs about a token: `undefined` when the ledger has no
   * such jti, `null` while it stands, else when it was revoked (Unix seconds).
   */
  revokedAt(jti: string): Promise<number | null | undefined>;
  /**
   * Revokes the token and every token exchanged from it, however deep, in one
   * transaction. Returns how many rows were newly revoked. Locks the rows it revokes
   * (PostgreSQL: `FOR UPDATE`, in jti order to avoid deadlocks) so a child being recorded
   * concurrently either commits first (and is revoked here) or waits and is refused.
   * Every broker's next `revokedAt` / `ledgerState` read sees it.
   */
  revokeCascade(jti: string, at: number): Promise<number>;
  /** Revocation state and hop of a token: `undefined` when the ledger has no such jti. */
  ledgerState(jti: string): Promise<LedgerState | undefined>;
  /**
   * The ancestors of a token, root first, the token itself last. With `nearest`, only the
   * root and the `nearest` tokens closest to (and including) this one: the walk stops
   * there, so a long chain costs no more than a short one; `hop + 1` says how long it is.
   */
  chain(jti: string, nearest?: number): Promise<LedgerToken[]>;
  /**
   * Up to `limit` tokens exchanged from `jti` (directly or not), breadth-first: by depth,
   * then issue time, then jti; after `after` when given. Rows only: callers build trees.
   */
  descendants(
    jti: string,
    page: { limit: number; after?: DescendantsCursor },
  ): Promise<LedgerDescendant[]>;
  /** Refusals against any of the given jtis, oldest first. */
  refusalsAgainst(jtis: string[]): Promise<LedgerRefusal[]>;
  /**
   * The `limit` newest refusals against the token or any of its descendants (returned
   * oldest first), and how many there are in all.
   */
  refusalsInTree(jti: string, limit: number): Promise<{ refusals: LedgerRefusal[]; total: number }>;
  /** Tokens issued in [since, until), by (iat, jti), after `after`; for `npx baton export`. */
  exportTokens(query: ExportQuery, after?: { iat: number; jti: string }): Promise<LedgerToken[]>;
  /** Approval requests made in [since, until), by (created_at, auth_req_id); for `npx baton export`. */
  exportApprovals(
    query: ExportQuery,
    after?: { createdAt: number; authReqId: string },
  ): Promise<ApprovalRecord[]>;
  /** Refusals recorded in [since, until), by (at, id), after `after`; for `npx baton export`. */
  exportRefusals(query: ExportQuery, after?: { at: number; id: number }): Promise<LedgerRefusal[]>;

  /**
   * Retention, one bounded step each (`ledger/retention.ts` loops them, yielding between
   * calls). Each resolves how many rows it deleted; 0 means nothing is left to do.
   *
   * `pruneChains`: whole chains none of whose tokens expires at or after `cutoff`, with the
   * refusals against them and the approval that started them; never a chain with a token
   * still alive at `cutoff` (so, with cutoff ≤ now, never one with a live token).
   */
  pruneChains(cutoff: number, batch: PruneBatch): Promise<number>;
  /** Refusals recorded before `cutoff`. */
  pruneRefusals(cutoff: number, batch: PruneBatch): Promise<number>;
  /**
   * Approval requests that expired before `cutoff`, whatever their state, except those
   * whose token is still in the ledger (they go with its chain).
   */
  pruneApprovals(cutoff: number, batch: PruneBatch): Promise<number>;
  /** Spent client-assertion jtis that expired before `cutoff`. */
  pruneAssertionJtis(cutoff: number, batch: PruneBatch): Promise<number>;
  listTokens(query: TokenQuery): Promise<LedgerToken[]>;

  /** Signing keys, newest first. */
  signingKeys(): Promise<StoredSigningKey[]>;
  addSigningKey(key: StoredSigningKey): Promise<void>;

  /**
   * RFC 7523 §3: remembers a client assertion's jti until `exp`. Resolves false when
   * the same client already used that jti (a replay), on this broker or any other: one
   * INSERT against the unique (client_id, jti) key, `ON CONFLICT DO NOTHING`.
   */
  useAssertionJti(clientId: string, jti: string, exp: number, now: number): Promise<boolean>;

  /**
   * Records a new CIBA request, pending, first poll allowed at once, unless the client
   * already has `caps.perClient` pending unexpired requests, or `caps.perClientUser` for
   * this person (default `DEFAULT_PENDING_CAPS`: 100 and 20): then resolves false and
   * records nothing. The count and the insert are one statement, so concurrent requests
   * (or brokers) cannot overshoot the cap. (Under PostgreSQL READ COMMITTED one statement
   * is not enough: two transactions can both count below the cap; serialise per client,
   * e.g. `pg_advisory_xact_lock` on the client_id, in the inserting transaction.)
   */
  createApproval(approval: NewApproval, caps?: PendingCaps): Promise<boolean>;
  getApproval(authReqId: string): Promise<ApprovalRecord | undefined>;
  /** The approval a token was issued on, for the audit trail (CIBA root tokens only). */
  approvalForToken(jti: string): Promise<ApprovalRecord | undefined>;
  /**
   * Pending requests that have not expired at `now`, newest first; one user's when given;
   * at most `limit` (default `MAX_PENDING_LIST`).
   */
  listPendingApprovals(now: number, username?: string, limit?: number): Promise<ApprovalRecord[]>;
  /**
   * Cancels `clientId`'s pending request (the agent stopped waiting), so nobody is asked
   * to decide what nobody will collect; whether it was pending and is now cancelled (one
   * conditional UPDATE: against a racing decision, one wins).
   */
  cancelApproval(authReqId: string, clientId: string, at: number): Promise<boolean>;
  /**
   * A person's decision. Only a pending, unexpired request changes; resolves whether it
   * did, so a second decision (or one on an expired request) is a no-op. One conditional
   * UPDATE: two people deciding through two brokers, exactly one wins.
   */
  decideApproval(
    authReqId: string,
    decision: 'approved' | 'denied',
    approvedScope: string | null,
    by: string,
    at: number,
  ): Promise<boolean>;
  /**
   * After a pending poll: when the next one may come, at what interval. Changes only a
   * still-pending request (a decision made meanwhile wins); last writer wins otherwise.
   */
  schedulePoll(authReqId: string, interval: number, nextPollAt: number): Promise<void>;
  /**
   * Issues a CIBA approval's token as ONE transaction: moves the request from `approved`
   * to `issued` with `issued_jti = token.jti` AND records the token's ledger row (as
   * `recordIssued` would: caps, parent check). Resolves true once both have committed,
   * false (nothing written) when the request was not `approved` (another poll, on this
   * broker or another, won it). Rejects, with nothing written and the request still
   * `approved`, when the row cannot be recorded (`LedgerFieldTooLargeError`, a duplicate
   * jti, a lost connection): there is never an `issued` request without its token row,
   * nor a token row for a request still claimable, so a crash cannot strand an approval.
   * Across processes: the conditional UPDATE (`WHERE status = 'approved'`) is the one
   * winner; under PostgreSQL READ COMMITTED a second poller blocks on the row lock, then
   * re-reads the row, sees `issued` and updates nothing.
   */
  issueForApproval(authReqId: string, token: TokenRecord): Promise<boolean>;

  /**
   * Console sessions (SPEC §3a). `createConsoleSession` also drops sessions that expired
   * before `session.createdAt` (a bounded sweep), so the table never grows unbounded.
   */
  createConsoleSession(session: ConsoleSession): Promise<void>;
  /** The session with this id hash, unless it expired at `now`. */
  getConsoleSession(idHash: string, now: number): Promise<ConsoleSession | undefined>;
  deleteConsoleSession(idHash: string): Promise<void>;
  /**
   * Pending, unexpired requests whose `login_hint` is this name in any letter case, newest
   * first, at most `limit`: the console shows a person what was asked of them however an
   * agent spelled their name (only when the policy's names are unique that way).
   */
  listPendingApprovalsAnyCase(
    now: number,
    username: string,
    limit: number,
  ): Promise<ApprovalRecord[]>;
  /**
   * Up to `limit` root tokens (the first of their chain) whose `sub` is this person,
   * newest first: the console's "what acts for me".
   */
  rootTokensFor(sub: string, limit: number): Promise<LedgerToken[]>;

  /** SPEC §10 `/healthz`: resolves when the database answers a trivial query. */
  ping(): Promise<void>;
  /** SPEC §10 `/metrics`, read on scrape only: ledger size and pending approvals at `now`. */
  stats(now: number): Promise<StoreStats>;

  close(): Promise<void>;
}

/** A console session (SPEC §3a) as stored: the cookie's id only as its SHA-256. */
export interface ConsoleSession {
  /** base64url SHA-256 of the random id in the cookie. */
  idHash: string;
  /** The policy user (canonical spelling); for an operator, `operator`. */
  username: string;
  role: 'user' | 'operator';
  /** Keys the CSRF token of the session's forms. */
  csrfSecret: string;
  createdAt: number;
  expiresAt: number;
}

export interface StoreStats {
  tokens: number;
  refusals: number;
  pendingApprovals: number;
}
