/**
 * RFC 6749 §4.4 client_credentials (SPEC §4 rule 10): a token for the client itself
 * (`sub` = `client_id`, no `act`), scoped to its `scopes` or a requested subset, for the
 * requested audience from its allow-list or, with none requested, Baton's issuer. Such a
 * token serves as an `actor_token`, as a subject the client can re-target, and at `/mcp`.
 * @module
 */
import { z } from 'zod';
import type { BrokerDeps } from '../deps.js';
import { parseParams, repeated, scope as scopeParam, seconds } from '../oauth/params.js';
import { clampLifetime } from '../policy/clamp-lifetime.js';
import { narrowAudience } from '../policy/narrow-audience.js';
import { narrowScope } from '../policy/narrow-scope.js';
import { isRefusal, must } from '../policy/refusal.js';
import { GRANT_CLIENT_CREDENTIALS } from '../tokens/claims.js';
import type { Grant, GrantContext, TokenResponse } from './grant.js';

const Params = z.object({
  scope: scopeParam().optional(),
  audience: repeated(),
  resource: repeated(),
  expires_in: seconds().optional(),
});

async function handle(ctx: GrantContext, deps: BrokerDeps): Promise<TokenResponse> {
  const { client, now } = ctx;
  const params = parseParams(Params, ctx.form);
  const scope = narrowScope({
    requested: params.scope,
    subjectScopes: client.scopes,
    actorScopes: client.scopes,
  });
  // A client with no scopes at all may still get a bare identity token (for actor_token / MCP).
  const grantedScope =
    isRefusal(scope) && scope.refused === 'scope_empty' && params.scope === undefined
      ? ''
      : must(scope);
  const wantsAudience = params.audience.length > 0 || params.resource.length > 0;
  const aud = wantsAudience
    ? must(
        narrowAudience({
          audience: params.audience,
          resource: params.resource,
          allowed: client.audiences,
        }),
      )
    : [deps.issuer];
  const exp = must(
    clampLifetime({
      now,
      defaultTtl: deps.policy.defaultTtlSeconds,
      maxTtl: client.maxTtlSeconds,
      requestedTtl: params.expires_in,
    }),
  );
  const issued = await deps.tokens.issue({
    sub: client.clientId,
    act: undefined,
    clientId: client.clientId,
    scope: grantedScope,
    aud,
    iat: now,
    exp,
    grantType: GRANT_CLIENT_CREDENTIALS,
    parentJti: null,
  });
  return {
    access_token: issued.accessToken,
    token_type: 'Bearer',
    expires_in: issued.expiresIn,
    scope: issued.scope,
  };
}

export const clientCredentialsGrant: Grant = { grantType: GRANT_CLIENT_CREDENTIALS, handle };
