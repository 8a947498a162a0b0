/**
 * `BrokerClient` inside the broker, for `/mcp`: acts as one registered client and calls
 * the very functions the HTTP endpoints call (`runGrant` with its refusal ledger,
 * `activeToken`, `revokeIfInvolved`, `auditReport`), so an exchange made through MCP
 * obeys and records exactly what one made over HTTP does. There is no client
 * authentication here: `/mcp` has already authenticated the caller's bearer token.
 * @module
 */
import type { ClientPolicy } from '../broker/config/policy.js';
import type { BrokerDeps } from '../broker/deps.js';
import { auditReport } from '../broker/endpoints/audit.js';
import { metadataDocument } from '../broker/endpoints/discovery.js';
import { introspection } from '../broker/endpoints/introspect.js';
import { revokeIfInvolved } from '../broker/endpoints/revoke.js';
import { runGrant } from '../broker/grants/run-grant.js';
import { OAuthError } from '../broker/oauth/errors.js';
import type { Form } from '../broker/oauth/form.js';
import { GRANT_TOKEN_EXCHANGE, TOKEN_TYPE_ACCESS_TOKEN as ACCESS_TOKEN_TYPE } from '../broker/tokens/claims.js';
import {
  BrokerRefused,
  type Allowances,
  type AuditReport,
  type BrokerClient,
  type BrokerMetadata,
  type ClientCredentialsParams,
  type ExchangeParams,
  type Introspection,
  type TokenResponse,
} from './broker-client.js';


function form(values: Record<string, string | readonly string[] | undefined>): Form {
  const out: Form = Object.create(null);
  for (const [key, value] of Object.entries(values)) {
    if (value === undefined || value === '') continue;
    out[key] = typeof value === 'string' ? value : [...value];
  }
  return out;
}

export class InProcessBrokerClient implements BrokerClient {
  readonly clientId: string;
  readonly brokerUrl: string;

  constructor(
    readonly deps: BrokerDeps,
    readonly client: ClientPolicy,
  ) {
    this.clientId = client.clientId;
    this.brokerUrl = deps.issuer;
  }

  async metadata(): Promise<BrokerMetadata> {
    return metadataDocument(this.deps) as BrokerMetadata;
  }

  exchange(p: ExchangeParams): Promise<TokenResponse> {
    return this.#grant({
      grant_type: GRANT_TOKEN_EXCHANGE,
      subject_token: p.subjectToken,
      subject_token_type: ACCESS_TOKEN_TYPE,
      audience: p.audience,
      scope: p.scope,
      expires_in: p.expiresIn === undefined ? undefined : String(p.expiresIn),
    });
  }

  clientCredentials(p: ClientCredentialsParams = {}): Promise<TokenResponse> {
    return this.#grant({
      grant_type: 'client_credentials',
      audience: p.audience,
      scope: p.scope,
      expires_in: p.expiresIn === undefined ? undefined : String(p.expiresIn),
    });
  }

  /** The introspection endpoint's answer (RFC 7662), without the HTTP. */
  async introspect(token: string): Promise<Introspection> {
    return (await introspection(this.deps, token, this.deps.now())) as Introspection;
  }

  revoke(token: string): Promise<void> {
    return revokeIfInvolved(this.deps, this.clientId, token, this.deps.now());
  }

  /** Same rule as `GET /audit/tokens/{jti}` with Basic: only tokens the client is involved in. */
  audit(jti: string): Promise<AuditReport | undefined> {
    return auditReport(this.deps, jti, this.clientId);
  }

  allowances(): Allowances {
    return { scopes: this.client.scopes, audiences: [...this.client.audiences] };
  }

  /** TODO(approvals): return the CIBA client once the broker has a backchannel endpoint. */
  async approvals(): Promise<undefined> {
    return undefined;
  }

  async #grant(values: Record<string, string | readonly string[] | undefined>): Promise<TokenResponse> {
    try {
      return await runGrant(this.deps, this.client, form(values), this.deps.now());
    } catch (error) {
      if (error instanceof OAuthError) throw new BrokerRefused(error.code, error.description, error.status);
      throw error;
    }
  }
}
