/** @jsxImportSource hono/jsx */
/**
 * A delegation chain drawn as a tree (root first), shared by the chains page and the
 * audit page. Each node says who acts (the actor), with which scope, for which audience,
 * until when, and whether it still stands; `nodeExtra` adds a page's own parts (a
 * `Revoke` button, the refusals filed against the node). Trees come from
 * `services/audit-report.ts` `buildTree` over a bounded page of descendants, so the
 * components' recursion is bounded too.
 * @module
 */
import type { Child } from 'hono/jsx';
import { buildTree } from '../services/audit-report.js';
import { forPage } from '../text/show.js';
import { timeLeft, when } from './layout.js';

export type TreeNode = ReturnType<typeof buildTree>;

/** The actor of a ledger entry: the outermost `act`, or the client for a token of its own. */
export function actorOf(node: { act: { sub: string } | null; client_id: string }): string {
  return node.act?.sub ?? node.client_id;
}

/** The accessible name of a node: who acts, for what audience. */
export function nodeName(node: TreeNode): string {
  return `${forPage(actorOf(node), 200)} → ${node.aud.map((a) => forPage(a, 200)).join(', ')}`;
}

export function status(node: TreeNode, now: number): string {
  if (node.revoked)
    return `revoked ${node.revoked_at === null ? '' : when(node.revoked_at)}`.trim();
  if (node.exp <= now) return `expired ${when(node.exp)}`;
  return `active, ${timeLeft(node.exp, now)} left`;
}

export function Tree(props: {
  root: TreeNode;
  now: number;
  nodeExtra: (node: TreeNode) => Child;
  rootNote?: Child;
}) {
  return (
    <ul class="tree">
      <Node node={props.root} now={props.now} nodeExtra={props.nodeExtra} note={props.rootNote} />
    </ul>
  );
}

function Node(props: {
  node: TreeNode;
  now: number;
  nodeExtra: (node: TreeNode) => Child;
  note?: Child;
}) {
  const n = props.node;
  const inactive = n.revoked || n.exp <= props.now;
  return (
    <li>
      <section aria-label={nodeName(n)} class={inactive ? 'inactive' : undefined}>
        <h3>{nodeName(n)}</h3>
        {props.note}
        <dl>
          <dt>Actor</dt>
          <dd>{forPage(actorOf(n), 200)}</dd>
          <dt>Scope</dt>
          <dd>{forPage(n.scope, 500)}</dd>
          <dt>Audience</dt>
          <dd>{n.aud.map((a) => forPage(a, 300)).join(', ')}</dd>
          <dt>Expires</dt>
          <dd>{when(n.exp)}</dd>
          <dt>Status</dt>
          <dd>{status(n, props.now)}</dd>
        </dl>
        {props.nodeExtra(n)}
      </section>
      {n.children.length > 0 ? (
        <ul>
          {n.children.map((child) => (
            <Node node={child} now={props.now} nodeExtra={props.nodeExtra} />
          ))}
        </ul>
      ) : null}
    </li>
  );
}
