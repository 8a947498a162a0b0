/**
 * The OpenID CIBA grant (`urn:openid:params:grant-type:ciba`, CIBA Core §10-§11, poll
 * mode): the client polls with its `auth_req_id` until the person decides.
 *
 * - unknown, or another client's, `auth_req_id` → `invalid_grant` (the same answer, so a
 *   client learns nothing about other clients' requests); already issued → `invalid_grant`
 * - denied → `access_denied`; expired, or cancelled by the client → `expired_token`
 * - pending → `authorization_pending`, or `slow_down` when polled before the interval
 *   was up (the request's interval then grows by 5 s, §11)
 * - approved → exactly one token: `sub` = the person, `act` = `{ sub: client }`, the
 *   approved scope, the requested audience. The approval's claim and the token's ledger
 *   row commit in one transaction (`Store.issueForApproval`), so a second poll can never
 *   get a second token, a crash never strands an approval, and `issued_jti` links the
 *   approval to the root of the chain it starts.
 * @module
 */
import { z } from 'zod';
import type { BrokerDeps } from '../deps.js';
import {
  AccessDenied,
  AuthorizationPending,
  ExpiredToken,
  InvalidGrant,
  SlowDown,
} from '../oauth/errors.js';
import { parseParams, text } from '../oauth/params.js';
import { clampLifetime } from '../policy/clamp-lifetime.js';
import { must } from '../policy/refusal.js';
import { pacePoll } from '../policy/pace-poll.js';
import { policyUsername } from '../approvals/policy-user.js';
import type { ApprovalRecord } from '../store/store.js';
import { GRANT_CIBA } from '../tokens/claims.js';
import type { Grant, GrantContext, TokenResponse } from './grant.js';

const Params = z.object({ auth_req_id: text().max(200) });

async function pending(deps: BrokerDeps, approval: ApprovalRecord, now: number): Promise<never> {
  const pace = pacePoll({ now, nextPollAt: approval.nextPollAt, interval: approval.interval });
  await deps.store.schedulePoll(approval.authReqId, pace.interval, pace.nextPollAt);
  if (pace.tooEarly)
    throw new SlowDown(`polling too fast: wait ${pace.interval} seconds between polls`);
  throw new AuthorizationPending();
}

async function issue(
  deps: BrokerDeps,
  ctx: GrantContext,
  approval: ApprovalRecord,
): Promise<TokenResponse> {
  const { client, now } = ctx;
  // Defence in depth: whatever the database says, no token for a name the policy lacks.
  // Case-insensitively, as everywhere: a row stored before /bc-authorize normalised names
  // still names its person. The token carries the policy's spelling.
  const sub = policyUsername(deps.policy.users, approval.username);
  if (sub === undefined) throw new AccessDenied('the request was not approved');
  const exp = must(
    clampLifetime({ now, defaultTtl: deps.policy.defaultTtlSeconds, maxTtl: client.maxTtlSeconds }),
  );
  // Signed first, then recorded in the one transaction that claims the approval: a
  // crash at any point leaves either an approved request (the next poll tries again) or
  // an issued one with its token in the ledger, never one without the other.
  const issued = await deps.tokens.issueForApproval(approval.authReqId, {
    sub,
    act: { sub: client.clientId },
    clientId: client.clientId,
    scope: approval.approvedScope ?? approval.scope,
    aud: approval.aud,
    iat: now,
    exp,
    grantType: GRANT_CIBA,
    parentJti: null,
  });
  if (issued === undefined)
    throw new InvalidGrant('the token for this auth_req_id has already been issued');
  return {
    access_token: issued.accessToken,
    token_type: 'Bearer',
    expires_in: issued.expiresIn,
    scope: issued.scope,
  };
}

async function handle(ctx: GrantContext, deps: BrokerDeps): Promise<TokenResponse> {
  const { client, now } = ctx;
  const params = parseParams(Params, ctx.form);
  const approval = await deps.store.getApproval(params.auth_req_id);
  if (approval === undefined || approval.clientId !== client.clientId)
    throw new InvalidGrant('unknown auth_req_id');
  switch (approval.status) {
    case 'issued':
      throw new InvalidGrant('the token for this auth_req_id has already been issued');
    case 'denied':
      throw new AccessDenied();
    case 'cancelled':
      // The client cancelled it (it stopped waiting): like an expired request, it will
      // never be answered and a new one is needed (CIBA §11 expired_token), whatever the clock.
      throw new ExpiredToken('the request was cancelled: make a new one');
    case 'pending':
    case 'approved':
      if (now >= approval.expiresAt) throw new ExpiredToken();
      return approval.status === 'approved'
        ? issue(deps, ctx, approval)
        : pending(deps, approval, now);
    default: {
      const unknown: never = approval.status;
      throw new TypeError(`unknown approval status ${String(unknown)}`);
    }
  }
}

export const cibaGrant: Grant = { grantType: GRANT_CIBA, handle };
