/**
 * A person's answer to a CIBA request (SPEC §6): approve, possibly with fewer scopes, or
 * deny. Shared by `npx baton approve|deny` and, later, the console. Only a pending,
 * unexpired request can be decided, and an approved scope must be a non-empty subset of
 * the requested one (the same `narrowScope` rule as an exchange: scopes only narrow).
 * Outcomes are returned, not thrown, so each front end words them its own way. A request
 * the agent cancelled (it stopped waiting) can no longer be decided.
 * @module
 */
import { narrowScope, splitScope } from '../policy/narrow-scope.js';
import { isRefusal } from '../policy/refusal.js';
import type { ApprovalRecord, Store } from '../store/store.js';
import { policyUsername } from './policy-user.js';

export type Decision =
  | { ok: true; approval: ApprovalRecord }
  | {
      ok: false;
      problem: 'unknown' | 'expired' | 'decided' | 'cancelled' | 'scope' | 'who' | 'nobody';
      message: string;
    };

export interface DecideOptions {
  now: number;
  /** Who decided, for the record; the request's user when not given. */
  by?: string | undefined;
  /**
   * The policy's users. Given (as every front end does: the CLI, the console), `by` must
   * name one of them (case-insensitively; recorded in the policy's spelling), and a
   * request for a name the policy lacks cannot be approved: it would never yield a token
   * (grants/ciba.ts), so "Approved" would be a lie to the person and the agent.
   */
  users?: ReadonlyMap<string, unknown> | undefined;
}

async function loadPending(store: Store, authReqId: string, now: number): Promise<Decision> {
  const approval = await store.getApproval(authReqId);
  if (approval === undefined)
    return { ok: false, problem: 'unknown', message: `No approval request ${authReqId}.` };
  if (approval.status === 'cancelled') {
    return {
      ok: false,
      problem: 'cancelled',
      message: `Approval request ${authReqId} was cancelled: the agent stopped waiting for an answer.`,
    };
  }
  if (approval.status !== 'pending') {
    return {
      ok: false,
      problem: 'decided',
      message: `Approval request ${authReqId} was already ${approval.status}.`,
    };
  }
  if (now >= approval.expiresAt)
    return { ok: false, problem: 'expired', message: `Approval request ${authReqId} has expired.` };
  return { ok: true, approval };
}

/** Who decides, in the policy's spelling, or why they may not. */
function decider(
  approval: ApprovalRecord,
  decision: 'approved' | 'denied',
  options: DecideOptions,
): string | Decision {
  const { users } = options;
  if (users === undefined) return options.by ?? approval.username;
  const subject = policyUsername(users, approval.username);
  if (subject === undefined && decision === 'approved') {
    return {
      ok: false,
      problem: 'nobody',
      message:
        `Approval request ${approval.authReqId} is for "${approval.username}", who is not a user of the policy: ` +
        'it can never yield a token, so it cannot be approved (deny it, or let it expire).',
    };
  }
  if (options.by === undefined) {
    if (subject !== undefined) return subject;
    return {
      ok: false,
      problem: 'who',
      message: 'Say who decides: --as <username>, a user of the policy.',
    };
  }
  const by = policyUsername(users, options.by);
  if (by === undefined) {
    return {
      ok: false,
      problem: 'who',
      message: `"${options.by}" is not a user of the policy; --as must name one.`,
    };
  }
  return by;
}

async function record(
  store: Store,
  approval: ApprovalRecord,
  decision: 'approved' | 'denied',
  scope: string | null,
  options: DecideOptions,
): Promise<Decision> {
  const by = decider(approval, decision, options);
  if (typeof by !== 'string') return by;
  if (!(await store.decideApproval(approval.authReqId, decision, scope, by, options.now))) {
    // Decided (or expired) between the read and the write: say which.
    const current = await loadPending(store, approval.authReqId, options.now);
    if (!current.ok) return current;
    return {
      ok: false,
      problem: 'decided',
      message: `Approval request ${approval.authReqId} changed meanwhile; try again.`,
    };
  }
  return { ok: true, approval: (await store.getApproval(approval.authReqId))! };
}

/** Approves a pending request, with `scope` (a subset of the requested scope) or all of it. */
export async function approveRequest(
  store: Store,
  authReqId: string,
  options: DecideOptions & { scope?: string | undefined },
): Promise<Decision> {
  const loaded = await loadPending(store, authReqId, options.now);
  if (!loaded.ok) return loaded;
  const requested = splitScope(loaded.approval.scope);
  const scope = narrowScope({
    requested: options.scope,
    subjectScopes: requested,
    actorScopes: requested,
  });
  if (isRefusal(scope)) {
    const outside = splitScope(options.scope).filter((s) => !requested.includes(s));
    const why = outside.length > 0 ? `${outside.join(' ')} was not asked for` : 'it is empty';
    return {
      ok: false,
      problem: 'scope',
      message: `The approved scope must be a non-empty subset of the requested scope (${loaded.approval.scope}); ${why}.`,
    };
  }
  return record(store, loaded.approval, 'approved', scope.ok, options);
}

/** Denies a pending request. */
export async function denyRequest(
  store: Store,
  authReqId: string,
  options: DecideOptions,
): Promise<Decision> {
  const loaded = await loadPending(store, authReqId, options.now);
  if (!loaded.ok) return loaded;
  return record(store, loaded.approval, 'denied', null, options);
}
