/**
 * The access token an MCP client holds for a person (SPEC §8), from a code or a refresh:
 * `sub` the person, `act` the MCP client, `aud` the one resource consented to, the
 * consented (or narrower) scope, and a lifetime within the policy's and the consent's.
 * Recorded in the ledger through the same issuer as every token: the code's token as the
 * root of a chain, each refreshed one as a child of that root.
 * @module
 */
import { policyUsername } from '../approvals/policy-user.js';
import type { ClientPolicy } from '../config/policy.js';
import type { BrokerDeps } from '../deps.js';
import type { TokenResponse } from '../grants/grant.js';
import { InvalidGrant } from '../oauth/errors.js';
import { clampLifetime } from '../policy/clamp-lifetime.js';
import { must } from '../policy/refusal.js';
import { ParentRevokedError } from '../store/store.js';

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
  /**
   * A refreshed token hangs under its consent's first token (the family's root), so the
   * person sees one chain per consent, and revoking that root ends everything under it.
   */
  parentJti: string | null;
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
  let issued;
  try {
    issued = await deps.tokens.issue({
      jti: req.jti,
      sub,
      act: { sub: req.client.clientId },
      clientId: req.client.clientId,
      scope: req.scope,
      aud: [req.resource],
      iat: req.now,
      exp,
      grantType: req.grantType,
      parentJti: req.parentJti,
    });
  } catch (error) {
    // The consent's root was revoked while this refresh ran: the family is over.
    if (error instanceof ParentRevokedError) throw new InvalidGrant('the consent was revoked');
    throw error;
  }
  return {
    access_token: issued.accessToken,
    token_type: 'Bearer',
    expires_in: issued.expiresIn,
    scope: issued.scope,
    refresh_token: req.refreshToken,
  };
}
