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
import { introspection } from '../services/introspection.js';
import { postFromClient } from './client-post.js';
import { NO_STORE, PATHS } from './urls.js';

export function mountIntrospect(app: Hono, deps: BrokerDeps): void {
  postFromClient(app, deps, PATHS.introspection, async (c, { form, now }) => {
    const token = single(form, 'token');
    if (token === undefined) throw new InvalidRequest('token is required');
    return c.json(await introspection(deps, token, now), 200, NO_STORE);
  });
}
