/**
 * Runs one grant for an authenticated client: dispatch through the registry, check the
 * client may use the grant, and write every refusal to the ledger (SPEC §5) before the
 * error goes out. The token endpoint and the in-process MCP endpoint both call this, so
 * an exchange made through MCP obeys and records exactly what one made over HTTP does.
 * A refusal row keeps the typed reason, the description the client was sent, and a
 * capped, sanitised record of what was asked (never the sentence's raw inputs).
 * @module
 */
import type { ClientPolicy } from '../config/policy.js';
import type { BrokerDeps } from '../deps.js';
import {
  InvalidRequest,
  isRefusalCode,
  OAuthError,
  UnsupportedGrantType,
} from '../oauth/errors.js';
import { many, single, type Form } from '../oauth/form.js';
import { MAX_RECORDED_VALUE_CHARS, MAX_RECORDED_VALUES } from '../oauth/limits.js';
import { refuse, refusalToError } from '../policy/refusal.js';
import { inputText, wireText } from '../text/show.js';
import type { GrantContext, TokenResponse } from './grant.js';
import { grants } from './index.js';

/** A value from the request as the ledger keeps it: wire-safe characters, capped. */
const recorded = (value: string): string => wireText(value, MAX_RECORDED_VALUE_CHARS);

/**
 * What a refused request asked for, for the ledger: never a token or a secret, each value
 * sanitised like an error description and capped, at most `MAX_RECORDED_VALUES` values of
 * a repeated parameter (with `<name>_count` when there were more), so a hostile request
 * leaves a small row that is safe to show.
 */
function requested(form: Form): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const key of [
    'scope',
    'subject_token_type',
    'actor_token_type',
    'requested_token_type',
    'expires_in',
  ]) {
    const v = single(form, key);
    if (v !== undefined) out[key] = recorded(v);
  }
  for (const key of ['audience', 'resource']) {
    const v = many(form, key);
    if (v.length > 0) out[key] = v.slice(0, MAX_RECORDED_VALUES).map(recorded);
    if (v.length > MAX_RECORDED_VALUES) out[`${key}_count`] = v.length;
  }
  out.actor_token = single(form, 'actor_token') !== undefined;
  return out;
}

export async function runGrant(
  deps: BrokerDeps,
  client: ClientPolicy,
  form: Form,
  now: number,
): Promise<TokenResponse> {
  const grantType = single(form, 'grant_type');
  const ctx: GrantContext = { client, form, now };
  try {
    if (grantType === undefined) throw new InvalidRequest('grant_type is required');
    const grant = grants.get(grantType);
    if (grant === undefined)
      throw new UnsupportedGrantType(`grant_type ${inputText(grantType)} is not supported`);
    if (!client.grantTypes.has(grantType)) {
      throw refusalToError(
        refuse('grant_not_allowed', `${client.clientId} may not use ${grantType}`),
      );
    }
    return await grant.handle(ctx, deps);
  } catch (error) {
    if (error instanceof OAuthError && isRefusalCode(error.code)) {
      await deps.store.recordRefusal({
        at: now,
        clientId: client.clientId,
        grantType: recorded(grantType ?? ''),
        subjectJti: ctx.subjectJti ?? null,
        error: error.code,
        reason: error.reason ?? error.code,
        // What the client was told: already §5.2-clean and bounded (see `OAuthError`).
        errorDescription: error.description,
        requested: requested(form),
      });
    }
    throw error;
  }
}
