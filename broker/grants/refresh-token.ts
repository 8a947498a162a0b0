/**
 * The refresh token grant, for MCP clients' consents only (RFC 6749 §6, SPEC §8). A
 * refresh token is opaque, stored as its SHA-256, bound to its client, and rotated on
 * every use: the answer carries a new one and the old one is spent. The store checks the
 * family stands and rotates it in one transaction (`rotateRefreshToken`), so two
 * concurrent refreshes with one token yield at most one success. Presenting a spent
 * token revokes the whole family and every access token it issued (and, through the
 * ledger, everything exchanged from them); so does a revoked access token of the family,
 * at the next refresh. No refresh outlives `consent_ttl_seconds` from the consent.
 * `scope` may only narrow what was consented to. Each refreshed access token is recorded
 * as a child of the consent's first token (the family is named by its jti), so a person
 * sees one chain per consent, and revoking its root revokes every refreshed token too.
 * @module
 */
import { randomUUID } from 'node:crypto';
import { z } from 'zod';
import type { BrokerDeps } from '../deps.js';
import { GRANT_REFRESH_TOKEN, REGISTERED_PREFIX } from '../mcp-auth/clients.js';
import { mcpResource } from '../mcp-auth/authorization-request.js';
import { issueForConsent } from '../mcp-auth/issue-for-consent.js';
import { MAX_SECRET_CHARS, newSecret, REFRESH_PREFIX, secretHash } from '../mcp-auth/secrets.js';
import { InvalidGrant, InvalidScope, InvalidTarget } from '../oauth/errors.js';
import { parseParams, repeated, scope, text } from '../oauth/params.js';
import { inputList } from '../text/show.js';
import type { Grant, GrantContext, TokenResponse } from './grant.js';

const Params = z.object({
  refresh_token: text().max(MAX_SECRET_CHARS),
  scope: scope().optional(),
  resource: repeated(),
});

async function handle(ctx: GrantContext, deps: BrokerDeps): Promise<TokenResponse> {
  const { client, now } = ctx;
  const params = parseParams(Params, ctx.form);
  // What can be refused without the family is refused before the token is spent, so a
  // client's mistake does not cost it its consent.
  const resource = mcpResource(deps);
  if (params.resource.some((r) => r !== resource))
    throw new InvalidTarget('resource differs from the one the person consented to');
  const asked =
    params.scope === undefined
      ? undefined
      : [...new Set(params.scope.split(' ').filter((s) => s !== ''))];
  if (asked !== undefined && asked.length === 0) throw new InvalidScope('scope is empty');
  const neverAllowed = (asked ?? []).filter((s) => !client.scopes.includes(s));
  if (neverAllowed.length > 0)
    throw new InvalidScope(`scope not consented to: ${inputList(neverAllowed)}`);
  const jti = randomUUID();
  const refreshToken = newSecret(REFRESH_PREFIX);
  const rotation = await deps.store.rotateRefreshToken(
    secretHash(params.refresh_token),
    client.clientId,
    secretHash(refreshToken),
    jti,
    now,
  );
  switch (rotation.kind) {
    case 'unknown':
      throw new InvalidGrant('unknown refresh token');
    case 'replayed':
      throw new InvalidGrant('the refresh token was already used; its whole family is revoked');
    case 'ended':
      throw new InvalidGrant('the consent behind this refresh token has ended or was revoked');
    case 'rotated':
      break;
    default: {
      const unknown: never = rotation;
      throw new TypeError(`unknown rotation ${String(unknown)}`);
    }
  }
  const family = rotation.family;
  // A registration in use stays live (it is swept only when idle), however long the consent.
  if (client.clientId.startsWith(REGISTERED_PREFIX))
    await deps.store.touchMcpClient(client.clientId, now);
  // Only a scope the MCP client may hold but this person did not consent to gets here:
  // the token is spent by then (the family lives on, under the new refresh token).
  const consented = family.scope.split(' ');
  let granted = family.scope;
  if (asked !== undefined) {
    const wider = asked.filter((s) => !consented.includes(s));
    if (wider.length > 0) throw new InvalidScope(`scope not consented to: ${inputList(wider)}`);
    granted = asked.join(' ');
  }
  return issueForConsent(deps, {
    client,
    username: family.username,
    resource: family.resource,
    scope: granted,
    consentExpiresAt: family.consentExpiresAt,
    jti,
    grantType: GRANT_REFRESH_TOKEN,
    refreshToken,
    now,
    parentJti: family.familyId,
  });
}

export const refreshTokenGrant: Grant = { grantType: GRANT_REFRESH_TOKEN, handle };
