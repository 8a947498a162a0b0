/**
 * What the MCP tools need from a Baton broker, as one interface with two
 * implementations: `HttpBrokerClient` (stdio: a broker somewhere on the network, spoken
 * to as an OAuth client would) and `InProcessBrokerClient` (`/mcp` on the broker itself,
 * calling the same grant/introspection/revocation code the HTTP endpoints call).
 *
 * Failures are typed so a tool can say what happened: `BrokerRefused` carries the RFC 6749
 * §5.2 `error` and `error_description` of a refusal; `BrokerUnreachable` says the broker
 * could not be reached at all.
 * @module
 */
import type { AuditReport as BrokerAuditReport } from '../broker/services/audit-report.js';
import type { BatonClaims } from '../broker/tokens/claims.js';

/** RFC 8693 §2.2.1 / RFC 6749 §5.1 token response, as Baton sends it. */
export interface TokenResponse {
  access_token: string;
  issued_token_type?: string | undefined;
  token_type: string;
  expires_in: number;
  scope: string;
}

export interface ExchangeParams {
  subjectToken: string;
  /** One or more audiences (RFC 8693 `audience`, repeated). */
  audience: readonly string[];
  scope?: string | undefined;
  /** Baton extension: a lifetime shorter than the default, in seconds. */
  expiresIn?: number | undefined;
}

export interface ClientCredentialsParams {
  audience?: readonly string[] | undefined;
  scope?: string | undefined;
  expiresIn?: number | undefined;
}

/** RFC 7662 introspection response: `{active: false}` or the claims of an active token. */
export type Introspection = { active: false } | ({ active: true } & BatonClaims);

/** The audit API's report on one token (`GET /audit/tokens/{jti}`). */
export type AuditReport = BrokerAuditReport;

/** The RFC 8414 metadata fields the tools look at. */
export interface BrokerMetadata {
  issuer: string;
  token_endpoint: string;
  introspection_endpoint?: string;
  revocation_endpoint?: string;
  /** OpenID CIBA: present only once the broker has approvals. */
  backchannel_authentication_endpoint?: string;
  baton_audit_endpoint?: string;
  [field: string]: unknown;
}

/** What policy lets the acting client ask for, when the broker client can know it. */
export interface Allowances {
  scopes: readonly string[];
  audiences: readonly string[];
}

/** OpenID CIBA §7.3 acknowledgement of a backchannel authentication request. */
export interface ApprovalStarted {
  auth_req_id: string;
  expires_in: number;
  /** Seconds between polls (CIBA §7.3); 5 when the broker does not say. */
  interval?: number | undefined;
}

export interface ApprovalRequest {
  user: string;
  scope: string;
  audience: readonly string[];
  reason: string;
}

/**
 * One poll of the token endpoint with the CIBA grant (CIBA §10/§11): a token once the
 * user approved, or the pending state. Denial and expiry throw `BrokerRefused`
 * (`access_denied`, `expired_token`).
 */
export type ApprovalPoll =
  { status: 'approved'; token: TokenResponse } | { status: 'pending' } | { status: 'slow_down' };

/** CIBA poll mode, present on a broker client only when the broker has approvals. */
export interface ApprovalClient {
  start(request: ApprovalRequest): Promise<ApprovalStarted>;
  poll(authReqId: string): Promise<ApprovalPoll>;
}

export interface BrokerClient {
  /** The client the tools act as. */
  readonly clientId: string;
  /** Where the broker is, for messages. */
  readonly brokerUrl: string;
  metadata(): Promise<BrokerMetadata>;
  exchange(params: ExchangeParams): Promise<TokenResponse>;
  clientCredentials(params?: ClientCredentialsParams): Promise<TokenResponse>;
  introspect(token: string): Promise<Introspection>;
  /** RFC 7009: resolves the same whether or not anything was revoked. */
  revoke(token: string): Promise<void>;
  /**
   * The ledger's revocation state of a token Baton issued (Unix seconds when revoked,
   * null while it stands, undefined when unknown), for clients that can read it at
   * near-zero cost (in process); absent otherwise. The token cache re-checks hits with it.
   */
  revokedAt?(jti: string): Promise<number | null | undefined>;
  /** The audit report of a token the client is involved in; undefined when unknown to it. */
  audit(jti: string): Promise<AuditReport | undefined>;
  /** The client's allowed scopes and audiences, or undefined when only the broker knows. */
  allowances(): Allowances | undefined;
  /** CIBA, or undefined while the broker has no approvals (see `metadata()`). */
  approvals(): Promise<ApprovalClient | undefined>;
}

/** The broker could not be reached (connection refused, DNS, timeout). */
export class BrokerUnreachable extends Error {
  constructor(
    readonly brokerUrl: string,
    reason: string,
  ) {
    super(
      `the Baton broker at ${brokerUrl} is unreachable (${reason}); is it running, and is BATON_URL right?`,
    );
    this.name = 'BrokerUnreachable';
  }
}

/** The broker answered with an OAuth error (RFC 6749 §5.2). */
export class BrokerRefused extends Error {
  constructor(
    readonly error: string,
    readonly errorDescription: string | undefined,
    readonly status: number,
  ) {
    super(errorDescription === undefined ? error : `${error}: ${errorDescription}`);
    this.name = 'BrokerRefused';
  }
}
