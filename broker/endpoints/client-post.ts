/**
 * The shape every client-facing POST endpoint shares (token, introspection, revocation,
 * backchannel authentication): read the form strictly, authenticate the client at this
 * endpoint's URL (also accepted as a client assertion's `aud`), apply the client's rate
 * limit (SPEC §10), then hand over.
 *
 * Failed authentications are counted per remote address, and an address over its limit
 * is answered 429 before its body is read: a flood of bad credentials costs one map
 * lookup per request, not a hash or a signature check each.
 * @module
 */
import type { Context, Hono } from 'hono';
import type { ClientPolicy } from '../config/policy.js';
import type { BrokerDeps } from '../deps.js';
import { grants } from '../grants/index.js';
import { InvalidClient } from '../oauth/errors.js';
import { readForm, single, type Form } from '../oauth/form.js';
import { peerAddress } from '../ops/peer.js';
import { limitClient, tooManyRequests } from '../ops/rate-limit.js';
import { endpointUrl, PATHS } from './urls.js';

export interface ClientRequest {
  client: ClientPolicy;
  form: Form;
  /** Unix seconds, read once per request. */
  now: number;
}

/** The grant label for logs and metrics: a registered grant type, else `other` (bounded). */
function grantLabel(form: Form): string {
  const grantType = single(form, 'grant_type');
  return grantType !== undefined && grants.has(grantType) ? grantType : 'other';
}

export function postFromClient(
  app: Hono,
  deps: BrokerDeps,
  path: string,
  handle: (c: Context, request: ClientRequest) => Promise<Response>,
): void {
  const url = endpointUrl(deps.issuer, path);
  const isToken = path === PATHS.token;
  const limiter = deps.rateLimiter;
  app.post(path, async (c) => {
    const now = deps.now();
    const info = c.get('requestInfo');
    const address = peerAddress(c);
    const held = limiter.authenticationWait(address, now);
    if (held > 0) {
      info.refusal = { error: 'temporarily_unavailable', reason: 'failed_authentication_limit' };
      return tooManyRequests(c, held);
    }
    const form = await readForm(c);
    if (isToken) info.grant = grantLabel(form);
    let client: ClientPolicy;
    try {
      client = await deps.clients.authenticate(c.req.header('authorization'), form, now, url);
    } catch (error) {
      // Counted, then rethrown untouched: onError still writes the answer.
      if (error instanceof InvalidClient) limiter.authenticationFailed(address, now);
      throw error;
    }
    return limitClient(c, limiter, client.clientId, now) ?? handle(c, { client, form, now });
  });
}
