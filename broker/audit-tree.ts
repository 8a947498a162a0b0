/**
 * Renders an audit report (the audit API's JSON) as an indented tree a person can
 * read: who acts for whom, scope, audience, when, revoked or not, with refusals listed
 * under the token they were refused against. Pure: the same report prints the same.
 *
 * Every string in a report came from the ledger, and much of it from outside (a subject
 * from an identity provider, what a refused agent asked for, a binding message), so each
 * is shown through `forTerminal`: an escape sequence in a refusal cannot redraw an active
 * token as REVOKED. Text an agent wrote (a refusal and what it asked, an approval's
 * reason) goes through `agentText`, which MCP sets to `agentWritten` so a model reads it
 * as quoted data. Chains can be thousands of tokens long (re-targeting adds no `act`
 * level), so the walk uses an explicit stack, never recursion, and indentation stops
 * growing at `MAX_DRAWN_DEPTH`, past which each token is labelled with its depth.
 * A bounded report (an elided chain middle, a page of descendants, the newest refusals)
 * says so in the tree; fields the renderer does not know are ignored.
 * @module
 */
import { forTerminal } from './text/show.js';
import { actorsOf } from './tokens/act.js';
import type { ActClaim } from './tokens/claims.js';

/** What the renderer reads of a ledger token. */
export interface TokenView {
  jti: string;
  sub: string;
  act: unknown;
  client_id: string;
  grant_type: string;
  scope: string;
  aud: readonly string[];
  iat: number;
  exp: number;
  revoked: boolean;
  revoked_at: number | null;
}

export interface TreeView extends TokenView {
  /** Absent or empty for a leaf (a report may leave out children it does not include). */
  children?: readonly TreeView[] | undefined;
}

export interface RefusalView {
  at: number;
  client_id: string;
  subject_jti: string | null;
  error: string;
  error_description: string;
  requested: Record<string, unknown>;
}

export interface ApprovalView {
  jti: string | null;
  client_id: string;
  user: string;
  requested_scope: string;
  approved_scope: string;
  reason: string | null;
  decided_at: number | null;
  decided_by: string | null;
}

/** The parts of an audit report (`services/audit-report.ts`) the tree shows. */
export interface AuditTreeInput {
  chain: readonly TokenView[];
  descendants: TreeView;
  refusals: readonly RefusalView[];
  approval?: ApprovalView | null | undefined;
  /** A bounded report: tokens from the root to this one, when `chain` leaves some out... */
  chain_length?: number | undefined;
  /** ...how many were left out, all between `chain[0]` (the root) and `chain[1]`... */
  chain_elided?: number | undefined;
  /** ...a cursor when more descendants exist than `descendants` holds... */
  descendants_cursor?: string | null | undefined;
  /** ...and all refusals, when `refusals` holds only the newest. */
  refusals_total?: number | undefined;
}

export interface RenderOptions {
  /** Shows text that `author` (an agent) wrote; by default as inert terminal text. */
  agentText?: (author: string, text: string) => string;
}

/** Levels of indentation drawn; deeper tokens keep this indentation and show their depth. */
export const MAX_DRAWN_DEPTH = 24;

/** Unix seconds as ISO 8601 UTC without milliseconds, as every Baton view shows time. */
export const isoTime = (seconds: number): string => {
  const date = new Date(seconds * 1000);
  return Number.isNaN(date.getTime()) ? String(seconds) : date.toISOString().replace('.000Z', 'Z');
};

/** One ledger value for a terminal: inert, and bounded so one field cannot flood the screen. */
const show = (text: unknown, max = 300): string => forTerminal(String(text), max);

function who(e: TokenView): string {
  const actors = actorsOf((e.act ?? undefined) as ActClaim | undefined).map((a) => show(a, 128));
  const sub = show(e.sub, 128);
  if (actors.length === 0) return `${sub} (acting for itself)`;
  const via = actors.length > 1 ? `, via ${actors.slice(1).join(' ← ')}` : '';
  return `${actors[0]} acting for ${sub}${via}`;
}

function lines(e: TokenView, now: number, marker: string): string[] {
  const status = e.revoked
    ? `REVOKED ${isoTime(e.revoked_at ?? 0)}`
    : e.exp <= now
      ? 'expired'
      : 'active';
  // token-exchange, ciba (an approval: the root of a chain), client_credentials.
  const grant = show(e.grant_type, 100).replace(
    /^urn:(ietf:params:oauth|openid:params):grant-type:/,
    '',
  );
  return [
    `${who(e)}  [${grant}]  ${status}${marker}`,
    `  jti ${show(e.jti, 200)}  client ${show(e.client_id, 128)}`,
    `  scope: ${e.scope ? show(e.scope, 2000) : '(none)'}   audience: ${e.aud.map((a) => show(a)).join(' ')}`,
    `  issued ${isoTime(e.iat)}, expires ${isoTime(e.exp)}`,
  ];
}

export function renderAuditTree(
  report: AuditTreeInput,
  now: number,
  options: RenderOptions = {},
): string {
  const agentText = options.agentText ?? ((_author: string, text: string) => show(text, 2000));
  const refusalLines = (r: RefusalView): string[] => {
    const asked = Object.entries(r.requested ?? {})
      .filter(([, v]) => v !== false)
      .map(([k, v]) => `${k}=${Array.isArray(v) ? v.join(',') : String(v)}`)
      .join(' ');
    const client = show(r.client_id, 128);
    return [
      `  ✗ refused ${isoTime(r.at)} to ${client}: ${show(r.error, 64)} (${agentText(r.client_id, r.error_description)})` +
        (asked ? `  asked: ${agentText(r.client_id, asked)}` : ''),
    ];
  };
  const refusalsBy = new Map<string, RefusalView[]>();
  for (const r of report.refusals) {
    if (r.subject_jti === null) continue;
    const list = refusalsBy.get(r.subject_jti);
    if (list === undefined) refusalsBy.set(r.subject_jti, [r]);
    else list.push(r);
  }
  const approval = report.approval ?? null;
  const approvalLines = (e: TokenView): string[] =>
    approval === null || approval.jti !== e.jti
      ? []
      : [
          `  ✓ approved by ${show(approval.decided_by ?? approval.user, 128)}${approval.decided_at === null ? '' : ` ${isoTime(approval.decided_at)}`}: ` +
            `asked for "${show(approval.requested_scope, 2000)}", granted "${show(approval.approved_scope, 2000)}"` +
            (approval.reason === null
              ? ''
              : ` (reason: ${agentText(approval.client_id, approval.reason)})`),
        ];

  const out: string[] = [];
  /**
   * Prints one token at `depth` under `prefix`; `last` says whether it closes its parent's
   * list. Returns the prefix for its children.
   */
  const emit = (
    e: TokenView,
    prefix: string,
    depth: number,
    last: boolean,
    marker = '',
  ): string => {
    const [first, ...rest] = [
      ...lines(e, now, marker),
      ...approvalLines(e),
      ...(refusalsBy.get(e.jti) ?? []).flatMap(refusalLines),
    ];
    const isRoot = depth === 0;
    const deep = depth > MAX_DRAWN_DEPTH;
    const branch = isRoot ? '' : last ? '└─ ' : '├─ ';
    const under = isRoot ? '' : last ? '   ' : '│  ';
    out.push(
      prefix + branch + (deep ? `[depth ${depth}] ` : '') + first!,
      ...rest.map((l) => prefix + under + l),
    );
    return deep ? prefix : prefix + under;
  };

  // Ancestors form a single path down to the audited token; a bounded report may leave
  // out the middle of a long one, between the root and the rest.
  const ancestors = report.chain.length - 1;
  const elided = Math.max(0, report.chain_elided ?? 0);
  let prefix = '';
  for (let i = 0; i < ancestors; i++) {
    prefix = emit(report.chain[i]!, prefix, i === 0 ? 0 : i + elided, true);
    if (i === 0 && elided > 0)
      out.push(`${prefix}⋮  ${elided} more token(s) of this chain not shown`);
  }

  // The audited token and everything derived from it, depth first, children in order.
  let derived = -1;
  const stack: Array<{ node: TreeView; prefix: string; depth: number; last: boolean }> = [
    {
      node: report.descendants,
      prefix,
      depth: Math.max(ancestors, 0) + (ancestors > 0 ? elided : 0),
      last: true,
    },
  ];
  for (let item = stack.pop(); item !== undefined; item = stack.pop()) {
    derived++;
    const below = emit(
      item.node,
      item.prefix,
      item.depth,
      item.last,
      derived === 0 ? '   ◀ this token' : '',
    );
    const children = item.node.children ?? [];
    for (let i = children.length - 1; i >= 0; i--) {
      stack.push({
        node: children[i]!,
        prefix: below,
        depth: item.depth + 1,
        last: i === children.length - 1,
      });
    }
  }
  const chainLength = report.chain_length ?? report.chain.length;
  const moreDerived = report.descendants_cursor ? ' shown (more not shown)' : '';
  const refusals = report.refusals_total ?? report.refusals.length;
  const newest =
    refusals > report.refusals.length ? ` (the newest ${report.refusals.length} shown)` : '';
  out.push(
    '',
    `${chainLength} token(s) from the root to this one, ${derived} derived from it${moreDerived}, ${refusals} refusal(s)${newest}.`,
  );
  return out.join('\n');
}
