/**
 * OpenID CIBA Core §7 (poll mode): an authenticated client asks a named person to approve
 * a delegation. The request is checked against the client's policy (the CIBA grant, its
 * scopes and audiences, the same pure rules a token exchange uses), recorded as pending
 * in the database, and acknowledged with an `auth_req_id` (CIBA §7.3).
 *
 * An unknown `login_hint` is answered exactly like a known one (a known one is only
 * rewritten to the policy's spelling, usernames matching case-insensitively) and simply never approved, so a client cannot enumerate users (the CIBA
 * grant refuses to issue for a name the policy lacks, whatever the database says). It
 * must still look like a username (`text/username.ts`, the rule policy usernames follow),
 * since a person later reads it: a hint with escapes or bidi characters is
 * `invalid_request`, and the description never echoes it.
 *
 * The backchannel endpoint and the in-process MCP client both call `startApproval`.
 * @module
 */
import { randomBytes } from 'node:crypto';
import { z } from 'zod';
import type { ClientPolicy } from '../config/policy.js';
import type { BrokerDeps } from '../deps.js';
import { InvalidRequest } from '../oauth/errors.js';
import { single, type Form } from '../oauth/form.js';
import { parseParams, repeated, scope, seconds, text, username } from '../oauth/params.js';
import { checkBindingMessage } from '../policy/binding-message.js';
import { narrowAudience } from '../policy/narrow-audience.js';
import { narrowScope } from '../policy/narrow-scope.js';
import { must, refuse, refusalToError } from '../policy/refusal.js';
import { GRANT_CIBA } from '../tokens/claims.js';
import { policyUsername } from './policy-user.js';

/** CIBA §7.3: seconds the client waits between polls. */
export const POLL_INTERVAL = 5;
/** How long a request waits for the person when the client names no `requested_expiry`. */
export const DEFAULT_EXPIRY = 300;
/** The longest a request may wait; a larger `requested_expiry` is clamped to it. */
export const MAX_EXPIRY = 600;

/**
 * Issue 9 point 10: over the cap on pending requests (per client, and per client and
 * person). CIBA §13 has no "too many" code (`slow_down` belongs to the token endpoint),
 * so it is `invalid_request` with this fixed description.
 */
export const TOO_MANY_PENDING =
  'too many pending approval requests from this client; wait for answers or for some to expire';

/** CIBA §7.1 identifies the user by one of three hints; Baton takes the plain username. */
const UNSUPPORTED_HINTS = ['id_token_hint', 'login_hint_token'] as const;

const Params = z.object({
  /** Checked like a username, so what a person is later shown cannot drive their terminal. */
  login_hint: username(),
  scope: scope(),
  audience: repeated(),
  resource: repeated(),
  binding_message: text().optional(),
  requested_expiry: seconds().optional(),
});

/**
 * CIBA §7.3 `auth_req_id`: 32 random bytes, base64url, never starting with "-" so that
 * `npx baton approve <id>` (or any other command line) cannot mistake it for an option.
 */
export function newAuthReqId(random: (size: number) => Buffer = randomBytes): string {
  for (;;) {
    const id = random(32).toString('base64url');
    if (!id.startsWith('-')) return id;
  }
}

/** CIBA §7.3 successful authentication request acknowledgement. */
export interface ApprovalAcknowledgement {
  auth_req_id: string;
  expires_in: number;
  interval: number;
}

/** Validates and records a backchannel authentication request for `client`. */
export async function startApproval(
  deps: BrokerDeps,
  client: ClientPolicy,
  form: Form,
  now: number,
): Promise<ApprovalAcknowledgement> {
  if (!client.grantTypes.has(GRANT_CIBA)) {
    throw refusalToError(
      refuse('grant_not_allowed', `${client.clientId} may not use ${GRANT_CIBA}`),
    );
  }
  if (UNSUPPORTED_HINTS.some((hint) => single(form, hint) !== undefined)) {
    throw new InvalidRequest('only login_hint is supported');
  }
  const params = parseParams(Params, form);
  const scope = must(
    narrowScope({
      requested: params.scope,
      subjectScopes: client.scopes,
      actorScopes: client.scopes,
    }),
  );
  const aud = must(
    narrowAudience({
      audience: params.audience,
      resource: params.resource,
      allowed: client.audiences,
    }),
  );
  const bindingMessage = must(checkBindingMessage(params.binding_message));
  const expiresIn = Math.min(params.requested_expiry ?? DEFAULT_EXPIRY, MAX_EXPIRY);
  const authReqId = newAuthReqId();
  // The store counts and inserts in one statement (caps: store/sqlite-approvals.ts).
  const created = await deps.store.createApproval({
    authReqId,
    clientId: client.clientId,
    // The policy's spelling when a user matches case-insensitively ("Alice" is alice), so
    // the grant, the CLI and the console all see the name the person signs in with.
    username: policyUsername(deps.policy.users, params.login_hint) ?? params.login_hint,
    scope,
    aud,
    bindingMessage: bindingMessage ?? null,
    createdAt: now,
    expiresAt: now + expiresIn,
    interval: POLL_INTERVAL,
  });
  if (!created) throw new InvalidRequest(TOO_MANY_PENDING);
  return { auth_req_id: authReqId, expires_in: expiresIn, interval: POLL_INTERVAL };
}
