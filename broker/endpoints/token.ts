/**
 * The token endpoint (RFC 6749 §3.2): reads the form, authenticates the client, and
 * hands the rest to `runGrant` (dispatch + refusal ledger).
 * @module
 */
import type { Hono } from 'hono';
import type { BrokerDeps } from '../deps.js';
import { runGrant } from '../grants/run-grant.js';
import { readForm } from '../oauth/form.js';
import { endpointUrl, NO_STORE, PATHS } from './urls.js';

export function mountToken(app: Hono, deps: BrokerDeps): void {
  const url = endpointUrl(deps.issuer, PATHS.token);
  app.post(PATHS.token, async (c) => {
    const now = deps.now();
    const form = await readForm(c);
    const client = await deps.clients.authenticate(c.req.header('authorization'), form, now, url);
    return c.json(await runGrant(deps, client, form, now), 200, NO_STORE);
  });
}
