/** @jsxImportSource hono/jsx */
/**
 * What acts for me (SPEC §3a, §5): the signed-in person's chains as trees, root first:
 * the approval at the root (what the agent asked, why, what the person granted), then
 * every hand-off with its actor, scope, audience and expiry, and a `Revoke` button on
 * each standing node that revokes it and everything exchanged from it
 * (`store.revokeCascade`). Active chains come first; expired and revoked ones are folded
 * in a `<details>` below, never mixed in. Bounded: the newest `ROOTS_SHOWN` chains, each
 * with its first `DESCENDANTS_SHOWN` hand-offs.
 * @module
 */
import type { Context } from 'hono';
import type { BrokerDeps } from '../deps.js';
import { buildTree, DESCENDANTS_SHOWN } from '../services/audit-report.js';
import type { ApprovalRecord, ConsoleSession } from '../store/store.js';
import { forPage } from '../text/show.js';
import { GRANT_CIBA } from '../tokens/claims.js';
import { field, type ConsoleForm } from './form.js';
import { Csrf, Layout, Notice, render, when } from './layout.js';
import { Tree, type TreeNode } from './tree.js';

/** The newest chains shown. */
export const ROOTS_SHOWN = 30;

interface Chain {
  tree: TreeNode;
  approval: ApprovalRecord | undefined;
  /** Hand-offs left out of the tree (past `DESCENDANTS_SHOWN`). */
  more: boolean;
}

async function loadChains(deps: BrokerDeps, username: string): Promise<Chain[]> {
  const roots = await deps.store.rootTokensFor(username, ROOTS_SHOWN);
  return Promise.all(
    roots.map(async (root) => {
      const [rows, approval] = await Promise.all([
        deps.store.descendants(root.jti, { limit: DESCENDANTS_SHOWN + 1 }),
        root.grantType === GRANT_CIBA
          ? deps.store.approvalForToken(root.jti)
          : Promise.resolve(undefined),
      ]);
      return {
        tree: buildTree(root, rows.slice(0, DESCENDANTS_SHOWN)),
        approval,
        more: rows.length > DESCENDANTS_SHOWN,
      };
    }),
  );
}

function ApprovalNote(props: { approval: ApprovalRecord | undefined }) {
  const a = props.approval;
  if (a === undefined) return <p class="muted">The first token of this chain.</p>;
  return (
    <p>
      {`You approved ${forPage(a.clientId, 200)}${a.decidedAt === null ? '' : ` at ${when(a.decidedAt)}`}: `}
      {a.bindingMessage === null ? 'no reason given' : `“${forPage(a.bindingMessage, 500)}”`}
      {`; it asked for ${forPage(a.scope, 500)}, you granted ${forPage(a.approvedScope ?? a.scope, 500)}.`}
    </p>
  );
}

export function ChainsPage(props: {
  session: ConsoleSession;
  chains: readonly Chain[];
  now: number;
  notice?: { kind: 'ok' | 'problem'; text: string } | undefined;
}) {
  const isActive = (ch: Chain) => !ch.tree.revoked && ch.tree.exp > props.now;
  const active = props.chains.filter(isActive);
  const inactive = props.chains.filter((ch) => !isActive(ch));
  const revokeButton = (node: TreeNode) =>
    node.revoked || node.exp <= props.now ? null : (
      <form method="post" action="/console/chains">
        <Csrf secret={props.session.csrfSecret} />
        <input type="hidden" name="jti" value={node.jti} />
        <button type="submit" class="danger">
          Revoke
        </button>
      </form>
    );
  const drawn = (ch: Chain, withButtons: boolean) => (
    <div class="card">
      <Tree
        root={ch.tree}
        now={props.now}
        rootNote={<ApprovalNote approval={ch.approval} />}
        nodeExtra={withButtons ? revokeButton : () => null}
      />
      {ch.more ? (
        <p class="muted">{`Only the first ${DESCENDANTS_SHOWN} hand-offs are shown.`}</p>
      ) : null}
    </div>
  );
  return (
    <Layout title="What acts for me" session={props.session}>
      {props.notice ? <Notice kind={props.notice.kind}>{props.notice.text}</Notice> : null}
      <p class="muted">
        Each tree is one delegation: the token you approved at the top, and every agent it was
        handed to below. Revoke takes back a token and everything handed on from it.
      </p>
      <h2>Active</h2>
      {active.length === 0 ? (
        <p>Nothing acts for you right now.</p>
      ) : (
        active.map((ch) => drawn(ch, true))
      )}
      {inactive.length > 0 ? (
        <details>
          <summary>{`Expired or revoked (${inactive.length})`}</summary>
          {inactive.map((ch) => drawn(ch, false))}
        </details>
      ) : null}
    </Layout>
  );
}

export async function showChains(
  c: Context,
  deps: BrokerDeps,
  session: ConsoleSession,
  notice?: { kind: 'ok' | 'problem'; text: string },
  status = 200,
) {
  const done =
    c.req.query('done') === 'revoked' ? 'Revoked, with everything handed on from it.' : undefined;
  return render(
    c,
    <ChainsPage
      session={session}
      chains={await loadChains(deps, session.username)}
      now={deps.now()}
      notice={notice ?? (done === undefined ? undefined : { kind: 'ok', text: done })}
    />,
    status,
  );
}

/** `Revoke` on one node: only a token this person is the subject of. */
export async function revoke(
  c: Context,
  deps: BrokerDeps,
  session: ConsoleSession,
  form: ConsoleForm,
) {
  const jti = field(form, 'jti');
  const token = jti === '' ? undefined : await deps.store.getToken(jti);
  if (token === undefined || token.sub !== session.username) {
    return showChains(
      c,
      deps,
      session,
      { kind: 'problem', text: 'That token is not one of yours.' },
      404,
    );
  }
  await deps.store.revokeCascade(token.jti, deps.now());
  return c.redirect('/console/chains?done=revoked', 303);
}
