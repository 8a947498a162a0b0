/**
 * Renders an audit report (the audit API's JSON) as an indented tree a person can
 * read: who acts for whom, scope, audience, when, revoked or not, with refusals listed
 * under the token they were refused against. Pure: the same report prints the same.
 * @module
 */
import type { AuditReport } from './services/audit-report.js';
import { actorsOf } from './tokens/act.js';
import type { ActClaim } from './tokens/claims.js';

type Report = AuditReport;
type Entry = Report['chain'][number];
type Node = Report['descendants'];
type RefusalEntry = Report['refusals'][number];

/** Unix seconds as ISO 8601 UTC without milliseconds, as every Baton view shows time. */
export const isoTime = (seconds: number): string => new Date(seconds * 1000).toISOString().replace('.000Z', 'Z');

function who(e: { sub: string; act: unknown }): string {
  const actors = actorsOf((e.act ?? undefined) as ActClaim | undefined);
  if (actors.length === 0) return `${e.sub} (acting for itself)`;
  const via = actors.length > 1 ? `, via ${actors.slice(1).join(' ← ')}` : '';
  return `${actors[0]} acting for ${e.sub}${via}`;
}

function lines(e: Entry, now: number, marker: string): string[] {
  const status = e.revoked ? `REVOKED ${isoTime(e.revoked_at!)}` : e.exp <= now ? 'expired' : 'active';
  // token-exchange, ciba (an approval: the root of a chain), client_credentials.
  const grant = e.grant_type.replace(/^urn:(ietf:params:oauth|openid:params):grant-type:/, '');
  return [
    `${who(e)}  [${grant}]  ${status}${marker}`,
    `  jti ${e.jti}  client ${e.client_id}`,
    `  scope: ${e.scope || '(none)'}   audience: ${e.aud.join(' ')}`,
    `  issued ${isoTime(e.iat)}, expires ${isoTime(e.exp)}`,
  ];
}

function refusalLines(r: RefusalEntry): string[] {
  const asked = Object.entries(r.requested)
    .filter(([, v]) => v !== false)
    .map(([k, v]) => `${k}=${Array.isArray(v) ? v.join(',') : String(v)}`)
    .join(' ');
  return [`  ✗ refused ${isoTime(r.at)} to ${r.client_id}: ${r.error} (${r.error_description})${asked ? `  asked: ${asked}` : ''}`];
}

export function renderAuditTree(report: Report, now: number): string {
  const refusalsBy = new Map<string, RefusalEntry[]>();
  for (const r of report.refusals) {
    if (r.subject_jti === null) continue;
    refusalsBy.set(r.subject_jti, [...(refusalsBy.get(r.subject_jti) ?? []), r]);
  }
  const approval = report.approval;
  const approvalLines = (e: Entry): string[] =>
    approval === null || approval.jti !== e.jti
      ? []
      : [
          `  ✓ approved by ${approval.decided_by ?? approval.user}${approval.decided_at === null ? '' : ` ${isoTime(approval.decided_at)}`}: ` +
            `asked for "${approval.requested_scope}", granted "${approval.approved_scope}"${approval.reason === null ? '' : ` (reason: ${approval.reason})`}`,
        ];
  const out: string[] = [];
  /** Prints one entry under `prefix`; `last` says whether it closes its parent's list. */
  const emit = (e: Entry, prefix: string, isRoot: boolean, last: boolean, marker = '') => {
    const [first, ...rest] = [...lines(e, now, marker), ...approvalLines(e), ...(refusalsBy.get(e.jti) ?? []).flatMap(refusalLines)];
    const branch = isRoot ? '' : last ? '└─ ' : '├─ ';
    const under = isRoot ? '' : last ? '   ' : '│  ';
    out.push(prefix + branch + first, ...rest.map((l) => prefix + under + l));
    return prefix + under;
  };
  // Ancestors form a single path down to the audited token.
  let prefix = '';
  report.chain.slice(0, -1).forEach((e, i) => {
    prefix = emit(e, prefix, i === 0, true);
  });
  const walk = (n: Node, at: string, isRoot: boolean, last: boolean, marker = '') => {
    const below = emit(n, at, isRoot, last, marker);
    n.children.forEach((child, i) => walk(child, below, false, i === n.children.length - 1));
  };
  walk(report.descendants, prefix, report.chain.length === 1, true, '   ◀ this token');
  const total = report.refusals.length;
  out.push('', `${report.chain.length} token(s) from the root to this one, ${countNodes(report.descendants) - 1} derived from it, ${total} refusal(s).`);
  return out.join('\n');
}

function countNodes(n: Node): number {
  return 1 + n.children.reduce((sum, c) => sum + countNodes(c), 0);
}
