/**
 * Typed OAuth errors (RFC 6749 §5.2, RFC 8693 §2.2.2, RFC 8707, RFC 7009, CIBA).
 * A throw site passes a log-only `detail`; the wire gets the `code` and a
 * `description` that is safe to show. `app.onError` is the one place that turns them
 * into responses. A description is made RFC 6749 §5.2-clean and bounded (`wireText`)
 * when the error is made, so every path that reads it (HTTP, the in-process MCP client,
 * the refusal ledger) sees the same safe text, whatever a throw site put into it.
 * @module
 */
import { wireText } from '../text/show.js';

export type OAuthErrorCode =
  | 'invalid_request'
  | 'invalid_client'
  | 'invalid_grant'
  | 'unauthorized_client'
  | 'unsupported_grant_type'
  | 'invalid_scope'
  | 'invalid_target'
  | 'unsupported_token_type'
  | 'access_denied'
  | 'server_error'
  | 'temporarily_unavailable'
  // OpenID CIBA Core §11 (token endpoint) and §13 (backchannel endpoint).
  | 'authorization_pending'
  | 'slow_down'
  | 'expired_token'
  | 'invalid_binding_message'
  // RFC 7591 §3.2.2 (dynamic client registration).
  | 'invalid_redirect_uri'
  | 'invalid_client_metadata';

/**
 * CIBA §11 answers that mean "not yet", not "no": a client polling a pending approval is
 * refused nothing, so these are neither filed in the refusal ledger nor counted as refusals.
 */
const NOT_YET: ReadonlySet<string> = new Set(['authorization_pending', 'slow_down']);

/** Whether an error code is a refusal (and not CIBA's "not yet"). */
export function isRefusalCode(code: string): boolean {
  return !NOT_YET.has(code);
}

export class OAuthError extends Error {
  /** Whether the client used HTTP Basic, so a 401 carries `WWW-Authenticate: Basic`. */
  basicChallenge = false;
  /** The typed policy reason (`RefusalReason`) when a rule refused; kept in the refusal ledger. */
  reason: string | undefined;
  /** Sent to the client: says what was wrong without leaking internals; §5.2-clean, bounded. */
  readonly description: string;

  constructor(
    readonly code: OAuthErrorCode,
    readonly status: number,
    description: string,
  ) {
    const safe = wireText(description);
    super(safe);
    this.description = safe;
    this.name = 'OAuthError';
  }
}

export class InvalidRequest extends OAuthError {
  constructor(description: string) {
    super('invalid_request', 400, description);
  }
}

/**
 * Every client authentication failure reads the same on the wire, so a caller cannot
 * tell an unknown client from a wrong secret. `detail` is for the server log only.
 */
export class InvalidClient extends OAuthError {
  constructor(
    readonly detail: string,
    basic = false,
  ) {
    super('invalid_client', 401, 'client authentication failed');
    this.basicChallenge = basic;
  }
}

export class InvalidGrant extends OAuthError {
  constructor(description: string) {
    super('invalid_grant', 400, description);
  }
}

export class UnauthorizedClient extends OAuthError {
  constructor(description: string) {
    super('unauthorized_client', 400, description);
  }
}

export class UnsupportedGrantType extends OAuthError {
  constructor(description: string) {
    super('unsupported_grant_type', 400, description);
  }
}

export class InvalidScope extends OAuthError {
  constructor(description: string) {
    super('invalid_scope', 400, description);
  }
}

export class InvalidTarget extends OAuthError {
  constructor(description: string) {
    super('invalid_target', 400, description);
  }
}

/** CIBA §11: the person has not decided yet; poll again after the interval. */
export class AuthorizationPending extends OAuthError {
  constructor(description = 'the user has not answered yet') {
    super('authorization_pending', 400, description);
  }
}

/** CIBA §11: polled before the interval was up; the interval is now 5 seconds longer. */
export class SlowDown extends OAuthError {
  constructor(description: string) {
    super('slow_down', 400, description);
  }
}

/** CIBA §11: the `auth_req_id` expired before the person approved it. */
export class ExpiredToken extends OAuthError {
  constructor(description = 'the approval request has expired') {
    super('expired_token', 400, description);
  }
}

/** CIBA §11: the person (or the broker on their behalf) denied the request. */
export class AccessDenied extends OAuthError {
  constructor(description = 'the user denied the request') {
    super('access_denied', 400, description);
  }
}

/** CIBA §13: the binding message is invalid or unacceptable. */
export class InvalidBindingMessage extends OAuthError {
  constructor(description: string) {
    super('invalid_binding_message', 400, description);
  }
}

/** 404 with the RFC 6749 error shape (`invalid_request`), as for an unknown path. */
export class NotFound extends OAuthError {
  constructor(description = 'no such endpoint') {
    super('invalid_request', 404, description);
  }
}

/** RFC 6750 §3.1 errors for bearer-protected endpoints (audit API, /mcp). */
export class BearerError extends Error {
  /** §5.2-clean and bounded, as for `OAuthError`; it also goes into `WWW-Authenticate`. */
  readonly description: string;

  constructor(
    readonly code: 'invalid_request' | 'invalid_token' | 'insufficient_scope',
    readonly status: 400 | 401 | 403,
    description: string,
    readonly challengeParams: Record<string, string> = {},
    /** RFC 6750 §3.1: when no credentials were sent, the challenge carries no error code. */
    readonly credentialsMissing = false,
  ) {
    const safe = wireText(description);
    super(safe);
    this.description = safe;
    this.name = 'BearerError';
  }
}
