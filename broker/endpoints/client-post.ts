/**
 * The shape every client-facing POST endpoint shares (token, introspection, revocation,
 * backchannel authentication): read the form strictly, authenticate the client at this
 * endpoint's URL (also accepted as a client assertion's `aud`), then hand over.
 * @module
 */
import type { Context, Hono } from 'hono';
import type { ClientPolicy } from '../config/policy.js';
import type { BrokerDeps } from '../deps.js';
import { readForm, type Form } from '../oauth/form.js';
import { endpointUrl } from './urls.js';

export interface ClientRequest {
  client: ClientPolicy;
  form: Form;
  /** Unix seconds, read once per request. */
  now: number;
}

export function postFromClient(
  app: Hono,
  deps: BrokerDeps,
  path: string,
  handle: (c: Context, request: ClientRequest) => Promise<Response>,
): void {
  const url = endpointUrl(deps.issuer, path);
  app.post(path, async (c) => {
    const now = deps.now();
    const form = await readForm(c);
    const client = await deps.clients.authenticate(c.req.header('authorization'), form, now, url);
    return handle(c, { client, form, now });
  });
}
