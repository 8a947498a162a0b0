/**
 * The token endpoint (RFC 6749 §3.2): reads the form, authenticates the client, and
 * hands the rest to `runGrant` (dispatch + refusal ledger).
 * @module
 */
import type { Hono } from 'hono';
import type { BrokerDeps } from '../deps.js';
import { runGrant } from '../grants/run-grant.js';
import { postFromClient } from './client-post.js';
import { NO_STORE, PATHS } from './urls.js';

export function mountToken(app: Hono, deps: BrokerDeps): void {
  postFromClient(app, deps, PATHS.token, async (c, { client, form, now }) =>
    c.json(await runGrant(deps, client, form, now), 200, NO_STORE),
  );
}
