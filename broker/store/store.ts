/**
 * The narrow storage interface the broker talks to. SQLite implements it today
 * (`sqlite-store.ts`); a PostgreSQL store for several brokers can follow behind the
 * same methods, which is why everything here returns a Promise even though
 * better-sqlite3 is synchronous.
 * @module
 */
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

/** A ledger token row plus its revocation state. */
export interface LedgerToken extends TokenRecord {
  revokedAt: number | null;
  revokedVia: string | null;
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

/** A node of the descendants tree of the audit API. */
export interface TokenTree extends LedgerToken {
  children: TokenTree[];
}

export interface StoredSigningKey {
  kid: string;
  alg: string;
  privateJwk: string;
  publicJwk: string;
  createdAt: number;
  retiredAt: number | null;
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

export type ApprovalStatus = 'pending' | 'approved' | 'denied' | 'issued';

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

/** Thrown by `recordIssued` when the parent was revoked before the row could commit. */
export class ParentRevokedError extends Error {
  constructor(readonly parentJti: string) {
    super(`parent token ${parentJti} was revoked`);
    this.name = 'ParentRevokedError';
  }
}

export interface Store {
  /**
   * Records an issued token durably. Resolves once the row has committed; callers
   * send the token only after that. Rows of one event-loop turn commit together.
   * Rejects with `ParentRevokedError` when `parentJti` is revoked at commit time, so a
   * revocation racing an exchange can never leave a live child behind.
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
   * transaction. Returns how many rows were newly revoked.
   */
  revokeCascade(jti: string, at: number): Promise<number>;
  /** The ancestors of a token, root first, the token itself last. */
  chain(jti: string): Promise<LedgerToken[]>;
  /** Every token exchanged from `jti`, as a tree (the root node is `jti` itself). */
  descendants(jti: string): Promise<TokenTree | undefined>;
  /** Refusals against any of the given jtis, oldest first. */
  refusalsAgainst(jtis: string[]): Promise<LedgerRefusal[]>;
  listTokens(query: TokenQuery): Promise<LedgerToken[]>;

  /** Signing keys, newest first. */
  signingKeys(): Promise<StoredSigningKey[]>;
  addSigningKey(key: StoredSigningKey): Promise<void>;

  /**
   * RFC 7523 §3: remembers a client assertion's jti until `exp`. Resolves false when
   * the same client already used that jti (a replay).
   */
  useAssertionJti(clientId: string, jti: string, exp: number, now: number): Promise<boolean>;

  /** Records a new CIBA request, pending, first poll allowed at once. */
  createApproval(approval: NewApproval): Promise<void>;
  getApproval(authReqId: string): Promise<ApprovalRecord | undefined>;
  /** The approval a token was issued on, for the audit trail (CIBA root tokens only). */
  approvalForToken(jti: string): Promise<ApprovalRecord | undefined>;
  /** Pending requests that have not expired at `now`, newest first; one user's when given. */
  listPendingApprovals(now: number, username?: string): Promise<ApprovalRecord[]>;
  /**
   * A person's decision. Only a pending, unexpired request changes; resolves whether it
   * did, so a second decision (or one on an expired request) is a no-op.
   */
  decideApproval(
    authReqId: string,
    decision: 'approved' | 'denied',
    approvedScope: string | null,
    by: string,
    at: number,
  ): Promise<boolean>;
  /** After a pending poll: when the next one may come, at what interval. */
  schedulePoll(authReqId: string, interval: number, nextPollAt: number): Promise<void>;
  /**
   * Atomically moves an approved request to `issued` with the jti its token will carry.
   * Resolves false when it was not `approved` (a concurrent poll claimed it first), so
   * an approval yields at most one token.
   */
  claimApprovedForIssue(authReqId: string, jti: string): Promise<boolean>;
  /** Undoes a claim whose token could not be issued, so the next poll can try again. */
  releaseIssueClaim(authReqId: string, jti: string): Promise<void>;

  /** SPEC §10 `/healthz`: resolves when the database answers a trivial query. */
  ping(): Promise<void>;
  /** SPEC §10 `/metrics`, read on scrape only: ledger size and pending approvals at `now`. */
  stats(now: number): Promise<StoreStats>;

  close(): Promise<void>;
}

export interface StoreStats {
  tokens: number;
  refusals: number;
  pendingApprovals: number;
}
