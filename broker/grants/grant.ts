/**
 * What every grant module exports (node-oidc-provider's `lib/actions/grants/` shape):
 * its `grantType` and a `handle` that turns an authenticated request into a token
 * response or throws a typed OAuth error. The token endpoint only dispatches.
 * @module
 */
import type { ClientPolicy } from '../config/policy.js';
import type { BrokerDeps } from '../deps.js';
import type { Form } from '../oauth/form.js';

export interface GrantContext {
  readonly client: ClientPolicy;
  readonly form: Form;
  readonly now: number;
  /** Set by a grant once it has a signature-checked subject token, for the refusal ledger. */
  subjectJti?: string;
}

export interface TokenResponse {
  access_token: string;
  issued_token_type?: string;
  token_type: 'Bearer';
  expires_in: number;
  scope: string;
  /** Only the authorization code and refresh token grants (SPEC §8) issue one. */
  refresh_token?: string;
}

export interface Grant {
  readonly grantType: string;
  handle(ctx: GrantContext, deps: BrokerDeps): Promise<TokenResponse>;
}
