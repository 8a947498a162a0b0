/**
 * Token revocation (RFC 7009) with a cascade (SPEC §5): the token and everything
 * exchanged from it. Only the token's client or one of its actors may revoke it; for any
 * other token, as for an unknown or invalid one, the answer is the same 200 and nothing
 * is revoked, so no client can probe for tokens.
 * @module
 */
import type { Hono } from 'hono';
import type { BrokerDeps } from '../deps.js';
import { InvalidRequest } from '../oauth/errors.js';
import { single } from '../oauth/form.js';
import { revokeIfInvolved } from '../services/revocation.js';
import { postFromClient } from './client-post.js';
import { NO_STORE, PATHS } from './urls.js';

export function mountRevoke(app: Hono, deps: BrokerDeps): void {
  postFromClient(app, deps, PATHS.revocation, async (c, { client, form, now }) => {
    const token = single(form, 'token');
    if (token === undefined) throw new InvalidRequest('token is required');
    await revokeIfInvolved(deps, client.clientId, token, now);
    return c.body(null, 200, NO_STORE);
  });
}
