/**
 * The authorization code grant for MCP clients (RFC 6749 §4.1.3, RFC 7636 §4.5, RFC 8707,
 * SPEC §8). A public client sends its client_id, the code, the same `redirect_uri`, the
 * PKCE `code_verifier` and the same `resource`. The code is claimed before anything else
 * is checked, so each code gets exactly one try; a second redemption is `invalid_grant`
 * and revokes whatever the first one issued (RFC 6749 §4.1.2). Success starts a refresh
 * family (`refresh-token.ts`) whose first access token is a chain root in the ledger.
 * @module
 */
import { randomUUID } from 'node:crypto';
import { z } from 'zod';
import type { BrokerDeps } from '../deps.js';
import { GRANT_AUTHORIZATION_CODE } from '../mcp-auth/clients.js';
import { issueForConsent } from '../mcp-auth/issue-for-consent.js';
import { mcpClientsPolicy } from '../mcp-auth/mcp-clients-policy.js';
import {
  MAX_SECRET_CHARS,
  newSecret,
  pkceMatches,
  REFRESH_PREFIX,
  secretHash,
} from '../mcp-auth/secrets.js';
import { InvalidGrant, InvalidRequest, InvalidTarget } from '../oauth/errors.js';
import { parseParams, repeated, text } from '../oauth/params.js';
import type { Grant, GrantContext, TokenResponse } from './grant.js';

const Params = z.object({
  code: text().max(MAX_SECRET_CHARS),
  redirect_uri: text().max(2048),
  code_verifier: text().max(128),
  resource: repeated(),
});

async function handle(ctx: GrantContext, deps: BrokerDeps): Promise<TokenResponse> {
  const { client, now } = ctx;
  const params = parseParams(Params, ctx.form);
  if (params.resource.length > 1) throw new InvalidTarget('send one resource');
  const claim = await deps.store.claimAuthCode(secretHash(params.code), now);
  if (claim.kind === 'unknown') throw new InvalidGrant('unknown authorization code');
  if (claim.kind === 'replayed')
    throw new InvalidGrant('the authorization code was already used; what it issued is revoked');
  const code = claim.code;
  if (code.clientId !== client.clientId)
    throw new InvalidGrant('the code was issued to another client');
  if (now >= code.expiresAt) throw new InvalidGrant('the authorization code has expired');
  if (params.redirect_uri !== code.redirectUri)
    throw new InvalidGrant('redirect_uri differs from the authorization request');
  if (!pkceMatches(params.code_verifier, code.codeChallenge))
    throw new InvalidGrant('code_verifier does not match the code_challenge');
  const resource = params.resource[0];
  if (resource === undefined) throw new InvalidRequest('resource is required (RFC 8707)');
  if (resource !== code.resource)
    throw new InvalidTarget('resource differs from the one the person consented to');

  const jti = randomUUID();
  const refreshToken = newSecret(REFRESH_PREFIX);
  const family = {
    // The family is named by its first token, the root its refreshed tokens hang under.
    familyId: jti,
    clientId: client.clientId,
    username: code.username,
    resource: code.resource,
    scope: code.scope,
    createdAt: now,
    // The consent was given when the code was made, not when it is redeemed.
    consentExpiresAt: code.createdAt + mcpClientsPolicy(deps.policy).consentTtlSeconds,
  };
  if (!(await deps.store.startRefreshFamily(code.codeHash, family, secretHash(refreshToken), jti)))
    throw new InvalidGrant('the authorization code was already used; what it issued is revoked');
  return issueForConsent(deps, {
    client,
    username: code.username,
    resource: code.resource,
    scope: code.scope,
    consentExpiresAt: family.consentExpiresAt,
    jti,
    grantType: GRANT_AUTHORIZATION_CODE,
    refreshToken,
    now,
    parentJti: null,
  });
}

export const authorizationCodeGrant: Grant = { grantType: GRANT_AUTHORIZATION_CODE, handle };
