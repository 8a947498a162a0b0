/**
 * Token introspection (RFC 7662). The caller authenticates as a client. An unknown,
 * expired or revoked token, or one Baton did not issue, is `{"active": false}` and
 * nothing more; an active one shows its claims, `act` included.
 * @module
 */
import type { Hono } from 'hono';
import type { BrokerDeps } from '../deps.js';
import { InvalidRequest } from '../oauth/errors.js';
import { single } from '../oauth/form.js';
import type { VerifiedToken } from '../tokens/verify.js';
import { postFromClient } from './client-post.js';
import { NO_STORE, PATHS } from './urls.js';

/** Verifies one of Baton's own tokens and checks the ledger; undefined when not active. */
export async function activeToken(deps: BrokerDeps, token: string, now: number): Promise<VerifiedToken | undefined> {
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
export async function introspection(deps: BrokerDeps, token: string, now: number): Promise<Record<string, unknown>> {
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

export function mountIntrospect(app: Hono, deps: BrokerDeps): void {
  postFromClient(app, deps, PATHS.introspection, async (c, { form, now }) => {
    const token = single(form, 'token');
    if (token === undefined) throw new InvalidRequest('token is required');
    return c.json(await introspection(deps, token, now), 200, NO_STORE);
  });
}
