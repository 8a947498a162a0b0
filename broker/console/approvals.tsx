/** @jsxImportSource hono/jsx */
/**
 * Approvals (SPEC §3a, §6): the signed-in person's pending CIBA requests, newest first,
 * each with the agent, the reason (`binding_message`), the audience, the time left and
 * one checked box per requested scope; `Approve` grants the ticked scopes (fewer when
 * some are unticked), `Deny` refuses. Decisions go through `approvals/decide.ts`, the
 * same rules as `npx baton approve`, recorded as decided by this person. Everything an
 * agent wrote is shown through `forPage` (JSX escapes the markup; `forPage` makes bidi,
 * zero-width and control characters visible). New requests appear without a manual
 * reload: `refresh.js` compares the page's stamp with `GET /console/approvals/stamp`.
 * @module
 */
import { createHash } from 'node:crypto';
import type { Context } from 'hono';
import { approveRequest, denyRequest } from '../approvals/decide.js';
import type { BrokerDeps } from '../deps.js';
import { splitScope } from '../policy/narrow-scope.js';
import type { ApprovalRecord, ConsoleSession } from '../store/store.js';
import { forPage } from '../text/show.js';
import { field, type ConsoleForm } from './form.js';
import { namesUniqueAnyCase } from './sign-in.js';
import { Csrf, Layout, Notice, render, ScopeChoice, timeLeft } from './layout.js';

/** The most requests one page shows (the store caps its list too). */
const SHOWN = 50;

const DONE: Record<string, string> = {
  approved: 'Approved. The agent gets its token on its next poll.',
  denied: 'Denied. The agent is told on its next poll.',
};

/** What a refused decision (`approvals/decide.ts`) means, in a person's words. */
const PROBLEMS: Record<string, string> = {
  unknown: 'That request no longer exists.',
  expired: 'That request has expired; the agent has to ask again.',
  decided: 'That request was already decided.',
  scope: 'Only scopes the agent asked for can be granted.',
};

/**
 * Whether a request is addressed to this person: its `login_hint` is their name, in any
 * letter case when the policy's names are unique that way (as at sign-in).
 */
function isFor(deps: BrokerDeps, approval: ApprovalRecord, session: ConsoleSession): boolean {
  if (approval.username === session.username) return true;
  return (
    namesUniqueAnyCase(deps.policy.users) &&
    approval.username.toLowerCase() === session.username.toLowerCase()
  );
}

async function pendingFor(deps: BrokerDeps, session: ConsoleSession): Promise<ApprovalRecord[]> {
  return namesUniqueAnyCase(deps.policy.users)
    ? deps.store.listPendingApprovalsAnyCase(deps.now(), session.username, SHOWN)
    : deps.store.listPendingApprovals(deps.now(), session.username, SHOWN);
}

/** Changes whenever the set of pending requests does. */
export function stampOf(pending: readonly ApprovalRecord[]): string {
  return createHash('sha256')
    .update(pending.map((a) => a.authReqId).join(' '))
    .digest('base64url')
    .slice(0, 22);
}

function Request(props: {
  approval: ApprovalRecord;
  index: number;
  now: number;
  secret: string;
  me: string;
}) {
  const a = props.approval;
  const agent = forPage(a.clientId, 200);
  const id = `r${props.index}`;
  return (
    <article class="card" aria-labelledby={`${id}-title`}>
      <h2 id={`${id}-title`}>{`Request from ${agent}`}</h2>
      <dl>
        <dt>Agent</dt>
        <dd>{agent}</dd>
        {a.username === props.me ? null : (
          <>
            <dt>Asked for</dt>
            <dd>{`${forPage(a.username, 200)} (your name, spelled differently)`}</dd>
          </>
        )}
        <dt>Reason</dt>
        <dd>
          {a.bindingMessage === null ? (
            <span class="muted">none given</span>
          ) : (
            forPage(a.bindingMessage, 500)
          )}
        </dd>
        <dt>Audience</dt>
        <dd>{a.aud.map((v) => forPage(v, 300)).join(', ')}</dd>
        <dt>Time left</dt>
        <dd>{timeLeft(a.expiresAt, props.now)}</dd>
      </dl>
      <form method="post" action="/console/approvals">
        <Csrf secret={props.secret} />
        <input type="hidden" name="auth_req_id" value={a.authReqId} />
        <ScopeChoice
          legend="Scopes to grant"
          name="scope"
          idPrefix={`${id}-`}
          scopes={splitScope(a.scope)}
        />
        <div class="actions">
          <button type="submit" name="decision" value="approve" class="primary">
            Approve
          </button>
          <button type="submit" name="decision" value="deny" class="danger">
            Deny
          </button>
        </div>
      </form>
    </article>
  );
}

export function ApprovalsPage(props: {
  session: ConsoleSession;
  pending: readonly ApprovalRecord[];
  now: number;
  notice?: { kind: 'ok' | 'problem'; text: string } | undefined;
}) {
  return (
    <Layout title="Approvals" session={props.session} refresh stamp={stampOf(props.pending)}>
      {props.notice ? <Notice kind={props.notice.kind}>{props.notice.text}</Notice> : null}
      {props.pending.length === 0 ? (
        <p>No agent is waiting for your approval. New requests appear here by themselves.</p>
      ) : (
        props.pending.map((approval, i) => (
          <Request
            approval={approval}
            index={i}
            now={props.now}
            secret={props.session.csrfSecret}
            me={props.session.username}
          />
        ))
      )}
    </Layout>
  );
}

export async function showApprovals(
  c: Context,
  deps: BrokerDeps,
  session: ConsoleSession,
  notice?: { kind: 'ok' | 'problem'; text: string },
  status = 200,
) {
  const done = DONE[c.req.query('done') ?? ''];
  return render(
    c,
    <ApprovalsPage
      session={session}
      pending={await pendingFor(deps, session)}
      now={deps.now()}
      notice={notice ?? (done === undefined ? undefined : { kind: 'ok', text: done })}
    />,
    status,
  );
}

export async function approvalsStamp(c: Context, deps: BrokerDeps, session: ConsoleSession) {
  return c.text(stampOf(await pendingFor(deps, session)));
}

/** `Approve` or `Deny` on one request; answers with a redirect, or the page and a notice. */
export async function decide(
  c: Context,
  deps: BrokerDeps,
  session: ConsoleSession,
  form: ConsoleForm,
) {
  const problem = (text: string, status: number) =>
    showApprovals(c, deps, session, { kind: 'problem', text }, status);
  const authReqId = field(form, 'auth_req_id');
  const approval = authReqId === '' ? undefined : await deps.store.getApproval(authReqId);
  // Another person's request reads exactly like an unknown one.
  if (approval === undefined || !isFor(deps, approval, session)) {
    return problem('That request no longer exists.', 404);
  }
  const decision = field(form, 'decision');
  const now = deps.now();
  let outcome;
  if (decision === 'approve') {
    const scopes = form.get('scope') ?? [];
    if (scopes.length === 0) {
      return problem('Tick at least one scope to approve, or press Deny.', 400);
    }
    outcome = await approveRequest(deps.store, approval.authReqId, {
      now,
      by: session.username,
      users: deps.policy.users,
      scope: scopes.join(' '),
    });
  } else if (decision === 'deny') {
    outcome = await denyRequest(deps.store, approval.authReqId, {
      now,
      by: session.username,
      users: deps.policy.users,
    });
  } else {
    return problem('Choose Approve or Deny.', 400);
  }
  if (!outcome.ok) {
    return problem(PROBLEMS[outcome.problem] ?? 'That request could not be decided.', 409);
  }
  return c.redirect(
    `/console/approvals?done=${decision === 'approve' ? 'approved' : 'denied'}`,
    303,
  );
}
