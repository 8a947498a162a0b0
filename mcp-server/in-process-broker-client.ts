/**
 * `BrokerClient` inside the broker, for `/mcp`: acts as one registered client and calls
 * the very functions the HTTP endpoints call (`runGrant` with its refusal ledger,
 * `activeToken`, `revokeIfInvolved`, `auditReport`, `startApproval`), so an exchange made
 * through MCP obeys and records exactly what one made over HTTP does. There is no client
 * authentication here: `/mcp` has already authenticated the caller's bearer token.
 * @module
 */
import type { ClientPolicy } from '../broker/config/policy.js';
import { startApproval } from '../broker/approvals/start.js';
import type { BrokerDeps } from '../broker/deps.js';
import { auditReport } from '../broker/services/audit-report.js';
import { metadataDocument } from '../broker/endpoints/discovery.js';
import { introspection } from '../broker/services/introspection.js';
import { revokeIfInvolved } from '../broker/services/revocation.js';
import { runGrant } from '../broker/grants/run-grant.js';
import { OAuthError } from '../broker/oauth/errors.js';
import type { Form } from '../broker/oauth/form.js';
import {
  GRANT_CIBA,
  GRANT_TOKEN_EXCHANGE,
  TOKEN_TYPE_ACCESS_TOKEN as ACCESS_TOKEN_TYPE,
} from '../broker/tokens/claims.js';
import {
  BrokerRefused,
  type Allowances,
  type ApprovalClient,
  type ApprovalPoll,
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

  /** One indexed read of the ledger row; revocation cascades, so an ancestor's shows here too. */
  revokedAt(jti: string): Promise<number | null | undefined> {
    return this.deps.store.revokedAt(jti);
  }

  /** Same rule as `GET /audit/tokens/{jti}` with Basic: only tokens the client is involved in. */
  audit(jti: string): Promise<AuditReport | undefined> {
    return auditReport(this.deps, jti, this.clientId);
  }

  allowances(): Allowances {
    return { scopes: this.client.scopes, audiences: [...this.client.audiences] };
  }

  /** CIBA through `startApproval` and the CIBA grant, as `/bc-authorize` and `/token` run them. */
  async approvals(): Promise<ApprovalClient> {
    return {
      start: (r) =>
        this.#call(() =>
          startApproval(
            this.deps,
            this.client,
            form({
              login_hint: r.user,
              scope: r.scope,
              audience: r.audience,
              binding_message: r.reason,
            }),
            this.deps.now(),
          ),
        ),
      poll: async (authReqId): Promise<ApprovalPoll> => {
        try {
          return {
            status: 'approved',
            token: await this.#grant({ grant_type: GRANT_CIBA, auth_req_id: authReqId }),
          };
        } catch (error) {
          if (error instanceof BrokerRefused && error.error === 'authorization_pending')
            return { status: 'pending' };
          if (error instanceof BrokerRefused && error.error === 'slow_down')
            return { status: 'slow_down' };
          throw error;
        }
      },
    };
  }

  #grant(values: Record<string, string | readonly string[] | undefined>): Promise<TokenResponse> {
    return this.#call(() => runGrant(this.deps, this.client, form(values), this.deps.now()));
  }

  /** Runs broker code, turning its typed OAuth errors into the `BrokerRefused` tools expect. */
  async #call<T>(run: () => Promise<T>): Promise<T> {
    try {
      return await run();
    } catch (error) {
      if (error instanceof OAuthError)
        throw new BrokerRefused(error.code, error.description, error.status);
      throw error;
    }
  }
}
