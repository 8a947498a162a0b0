/**
 * The access token an MCP client holds for a person (SPEC §8), from a code or a refresh:
 * `sub` the person, `act` the MCP client, `aud` the one resource consented to, the
 * consented (or narrower) scope, and a lifetime within the policy's and the consent's.
 * Recorded in the ledger as the root of a chain, through the same issuer as every token.
 * @module
 */
import { policyUsername } from '../approvals/policy-user.js';
import type { ClientPolicy } from '../config/policy.js';
import type { BrokerDeps } from '../deps.js';
import type { TokenResponse } from '../grants/grant.js';
import { InvalidGrant } from '../oauth/errors.js';
import { clampLifetime } from '../policy/clamp-lifetime.js';
import { must } from '../policy/refusal.js';

export interface ConsentTokenRequest {
  client: ClientPolicy;
  username: string;
  resource: string;
  scope: string;
  consentExpiresAt: number;
  jti: string;
  grantType: string;
  refreshToken: string;
  now: number;
}

export async function issueForConsent(
  deps: BrokerDeps,
  req: ConsentTokenRequest,
): Promise<TokenResponse> {
  // Whatever the database says, no token for a name the policy no longer has.
  const sub = policyUsername(deps.policy.users, req.username);
  if (sub === undefined) throw new InvalidGrant('the person who consented is no longer known');
  const exp = Math.min(
    must(
      clampLifetime({
        now: req.now,
        defaultTtl: deps.policy.defaultTtlSeconds,
        maxTtl: req.client.maxTtlSeconds,
      }),
    ),
    req.consentExpiresAt,
  );
  if (exp <= req.now) throw new InvalidGrant('the consent has ended');
  const issued = await deps.tokens.issue({
    jti: req.jti,
    sub,
    act: { sub: req.client.clientId },
    clientId: req.client.clientId,
    scope: req.scope,
    aud: [req.resource],
    iat: req.now,
    exp,
    grantType: req.grantType,
    parentJti: null,
  });
  return {
    access_token: issued.accessToken,
    token_type: 'Bearer',
    expires_in: issued.expiresIn,
    scope: issued.scope,
    refresh_token: req.refreshToken,
  };
}
