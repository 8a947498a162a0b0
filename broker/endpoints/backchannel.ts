/**
 * The backchannel authentication endpoint (OpenID CIBA Core §7, poll mode only):
 * authenticates the client as the token endpoint does and hands the request to
 * `startApproval`. Answers 200 with `auth_req_id`, `expires_in` and `interval`
 * (CIBA §7.3), `no-store`.
 * @module
 */
import type { Hono } from 'hono';
import { startApproval } from '../approvals/start.js';
import type { BrokerDeps } from '../deps.js';
import { postFromClient } from './client-post.js';
import { NO_STORE, PATHS } from './urls.js';

export function mountBackchannel(app: Hono, deps: BrokerDeps): void {
  postFromClient(app, deps, PATHS.backchannel, async (c, { client, form, now }) =>
    c.json(await startApproval(deps, client, form, now), 200, NO_STORE),
  );
}
