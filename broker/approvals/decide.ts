/**
 * A person's answer to a CIBA request (SPEC §6): approve, possibly with fewer scopes, or
 * deny. Shared by `npx baton approve|deny` and, later, the console. Only a pending,
 * unexpired request can be decided, and an approved scope must be a non-empty subset of
 * the requested one (the same `narrowScope` rule as an exchange: scopes only narrow).
 * Outcomes are returned, not thrown, so each front end words them its own way.
 * @module
 */
import { narrowScope, splitScope } from '../policy/narrow-scope.js';
import { isRefusal } from '../policy/refusal.js';
import type { ApprovalRecord, Store } from '../store/store.js';

export type Decision =
  | { ok: true; approval: ApprovalRecord }
  | { ok: false; problem: 'unknown' | 'expired' | 'decided' | 'scope'; message: string };

export interface DecideOptions {
  now: number;
  /** Who decided, for the record; the request's user when not given. */
  by?: string | undefined;
}

async function loadPending(store: Store, authReqId: string, now: number): Promise<Decision> {
  const approval = await store.getApproval(authReqId);
  if (approval === undefined) return { ok: false, problem: 'unknown', message: `No approval request ${authReqId}.` };
  if (approval.status !== 'pending') {
    return { ok: false, problem: 'decided', message: `Approval request ${authReqId} was already ${approval.status}.` };
  }
  if (now >= approval.expiresAt) return { ok: false, problem: 'expired', message: `Approval request ${authReqId} has expired.` };
  return { ok: true, approval };
}

async function record(
  store: Store,
  approval: ApprovalRecord,
  decision: 'approved' | 'denied',
  scope: string | null,
  options: DecideOptions,
): Promise<Decision> {
  const by = options.by ?? approval.username;
  if (!(await store.decideApproval(approval.authReqId, decision, scope, by, options.now))) {
    // Decided (or expired) between the read and the write: say which.
    const current = await loadPending(store, approval.authReqId, options.now);
    if (!current.ok) return current;
    return { ok: false, problem: 'decided', message: `Approval request ${approval.authReqId} changed meanwhile; try again.` };
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
  const scope = narrowScope({ requested: options.scope, subjectScopes: requested, actorScopes: requested });
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
export async function denyRequest(store: Store, authReqId: string, options: DecideOptions): Promise<Decision> {
  const loaded = await loadPending(store, authReqId, options.now);
  if (!loaded.ok) return loaded;
  return record(store, loaded.approval, 'denied', null, options);
}
