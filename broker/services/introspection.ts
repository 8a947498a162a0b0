/**
 * Introspection as a service (RFC 7662 §2.2): whether one of Baton's tokens is active
 * (signature, expiry, and the ledger says it stands) and, when it is, its claims. The
 * introspection endpoint, `/mcp` and the MCP `inspect_token` tool call it.
 * @module
 */
import type { BrokerDeps } from '../deps.js';
import type { VerifiedToken } from '../tokens/verify.js';

/** Verifies one of Baton's own tokens and checks the ledger; undefined when not active. */
export async function activeToken(
  deps: BrokerDeps,
  token: string,
  now: number,
): Promise<VerifiedToken | undefined> {
  let verified: VerifiedToken;
  try {
    verified = await deps.verifier.verifyOwn(token, now);
  } catch {
    return undefined;
  }
  // Known to the ledger and not revoked: `null`, not `undefined` (unknown) or a time.
  if ((await deps.store.revokedAt(verified.jti!)) !== null) return undefined;
  return verified;
}

/** The RFC 7662 answer for a token: its claims when active, `{ active: false }` otherwise. */
export async function introspection(
  deps: BrokerDeps,
  token: string,
  now: number,
): Promise<Record<string, unknown>> {
  const active = await activeToken(deps, token, now);
  if (active === undefined) return { active: false };
  const p = active.payload;
  return {
    active: true,
    iss: p.iss,
    sub: p.sub,
    aud: p.aud,
    exp: p.exp,
    iat: p.iat,
    jti: p.jti,
    client_id: p.client_id,
    scope: p.scope,
    token_type: 'Bearer',
    ...(p.act === undefined ? {} : { act: p.act }),
  };
}
