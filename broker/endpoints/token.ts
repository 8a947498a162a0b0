/**
 * The token endpoint (RFC 6749 §3.2): reads the form, authenticates the client, and
 * dispatches to the grant registry. Every refusal after the client is known is written
 * to the ledger (SPEC §5) before the error goes out.
 * @module
 */
import type { Hono } from 'hono';
import type { BrokerDeps } from '../deps.js';
import type { GrantContext } from '../grants/grant.js';
import { grants } from '../grants/index.js';
import { InvalidRequest, OAuthError, UnsupportedGrantType } from '../oauth/errors.js';
import { many, readForm, single, type Form } from '../oauth/form.js';
import { refuse, refusalToError } from '../policy/refusal.js';
import { endpointUrl, NO_STORE, PATHS } from './urls.js';

/** What a refused request asked for, for the ledger: never a token or a secret. */
function requested(form: Form): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const key of ['scope', 'subject_token_type', 'actor_token_type', 'requested_token_type', 'expires_in']) {
    const v = single(form, key);
    if (v !== undefined) out[key] = v.slice(0, 512);
  }
  for (const key of ['audience', 'resource']) {
    const v = many(form, key);
    if (v.length > 0) out[key] = v.slice(0, 16).map((s) => s.slice(0, 512));
  }
  out.actor_token = single(form, 'actor_token') !== undefined;
  return out;
}

export function mountToken(app: Hono, deps: BrokerDeps): void {
  const url = endpointUrl(deps.issuer, PATHS.token);
  app.post(PATHS.token, async (c) => {
    const now = deps.now();
    const form = await readForm(c);
    const client = await deps.clients.authenticate(c.req.header('authorization'), form, now, url);
    const grantType = single(form, 'grant_type');
    const ctx: GrantContext = { client, form, now };
    try {
      if (grantType === undefined) throw new InvalidRequest('grant_type is required');
      const grant = grants.get(grantType);
      if (grant === undefined) throw new UnsupportedGrantType(`grant_type ${grantType.slice(0, 100)} is not supported`);
      if (!client.grantTypes.has(grantType)) {
        throw refusalToError(refuse('grant_not_allowed', `${client.clientId} may not use ${grantType}`));
      }
      return c.json(await grant.handle(ctx, deps), 200, NO_STORE);
    } catch (error) {
      if (error instanceof OAuthError) {
        await deps.store.recordRefusal({
          at: now,
          clientId: client.clientId,
          grantType: (grantType ?? '').slice(0, 200),
          subjectJti: ctx.subjectJti ?? null,
          error: error.code,
          errorDescription: error.description,
          requested: requested(form),
        });
      }
      throw error;
    }
  });
}
