/** @jsxImportSource hono/jsx */
/**
 * The audit (SPEC §3a, §5) for operators signed in with `BATON_ADMIN_TOKEN`: search the
 * ledger by subject, client and time (`store.listTokens`, newest first, a page at a time),
 * and open any token's chain as a tree from its root, with the refusals filed against
 * each node marked on that node (`services/audit-report.ts`, bounded as the audit API is).
 * Read-only pages (GET), so a search is a link an operator can keep.
 * @module
 */
import type { Context } from 'hono';
import type { BrokerDeps } from '../deps.js';
import { auditReport } from '../services/audit-report.js';
import type { ConsoleSession, LedgerToken } from '../store/store.js';
import { forPage } from '../text/show.js';
import { Layout, Notice, render, when } from './layout.js';
import { actorOf, status, Tree, type TreeNode } from './tree.js';

/** Tokens per page of results. */
export const PAGE_SIZE = 50;

interface Search {
  sub: string;
  clientId: string;
  since: string;
  /** Where the previous page stopped: `iat.jti`. */
  before: string;
}

/** `since`: Unix seconds, or a date/time (`2026-12-03T09:00Z`); undefined when blank, NaN when unreadable. */
function parseSince(since: string): number | undefined {
  if (since.trim() === '') return undefined;
  return /^\d+$/.test(since.trim())
    ? Number(since.trim())
    : Math.floor(Date.parse(since.trim()) / 1000);
}

function parseBefore(before: string): { iat: number; jti: string } | undefined {
  const m = /^(\d{1,12})\.([A-Za-z0-9_-]{1,200})$/.exec(before);
  return m ? { iat: Number(m[1]), jti: m[2]! } : undefined;
}

function query(s: Search, extra: Record<string, string>): string {
  const q = new URLSearchParams();
  if (s.sub) q.set('sub', s.sub);
  if (s.clientId) q.set('client_id', s.clientId);
  if (s.since) q.set('since', s.since);
  for (const [k, v] of Object.entries(extra)) q.set(k, v);
  return q.toString();
}

function SearchForm(props: { search: Search }) {
  return (
    <form method="get" action="/console/audit" class="stack" role="search">
      <label for="sub">Subject</label>
      <input id="sub" name="sub" type="search" value={props.search.sub} maxlength={1000} />
      <label for="client_id">Client</label>
      <input
        id="client_id"
        name="client_id"
        type="search"
        value={props.search.clientId}
        maxlength={200}
      />
      <label for="since">Issued since</label>
      <input
        id="since"
        name="since"
        type="text"
        value={props.search.since}
        placeholder="2026-12-03T09:00Z or Unix seconds"
      />
      <button type="submit" class="primary">
        Search
      </button>
    </form>
  );
}

function Results(props: { tokens: readonly LedgerToken[]; now: number; next: string | undefined }) {
  if (props.tokens.length === 0) return <p>No token matches.</p>;
  return (
    <>
      <table>
        <caption>Tokens, newest first</caption>
        <thead>
          <tr>
            <th scope="col">Issued</th>
            <th scope="col">Subject</th>
            <th scope="col">Actor</th>
            <th scope="col">Client</th>
            <th scope="col">Scope</th>
            <th scope="col">Audience</th>
            <th scope="col">Status</th>
            <th scope="col">Chain</th>
          </tr>
        </thead>
        <tbody>
          {props.tokens.map((t) => {
            const node = {
              act: t.act,
              client_id: t.clientId,
              revoked: t.revokedAt !== null,
              revoked_at: t.revokedAt,
              exp: t.exp,
            };
            return (
              <tr>
                <td>{when(t.iat)}</td>
                <td>{forPage(t.sub, 200)}</td>
                <td>{forPage(actorOf(node), 200)}</td>
                <td>{forPage(t.clientId, 200)}</td>
                <td>{forPage(t.scope, 300)}</td>
                <td>{t.aud.map((a) => forPage(a, 200)).join(', ')}</td>
                <td>{status(node as TreeNode, props.now)}</td>
                <td>
                  <a
                    href={`/console/audit/chain?jti=${encodeURIComponent(t.jti)}`}
                  >{`Open chain of ${t.jti.slice(0, 8)}`}</a>
                </td>
              </tr>
            );
          })}
        </tbody>
      </table>
      {props.next ? (
        <p>
          <a href={props.next}>Older tokens</a>
        </p>
      ) : null}
    </>
  );
}

export async function showAudit(c: Context, deps: BrokerDeps, session: ConsoleSession) {
  const search: Search = {
    sub: (c.req.query('sub') ?? '').slice(0, 1000),
    clientId: (c.req.query('client_id') ?? '').slice(0, 200),
    since: (c.req.query('since') ?? '').slice(0, 64),
    before: c.req.query('before') ?? '',
  };
  const since = parseSince(search.since);
  const searched =
    search.sub !== '' || search.clientId !== '' || search.since !== '' || search.before !== '';
  let problem: string | undefined;
  let tokens: LedgerToken[] = [];
  if (since !== undefined && !Number.isFinite(since)) {
    problem = 'Issued since: give a date and time such as 2026-12-03T09:00Z, or Unix seconds.';
  } else if (searched) {
    tokens = await deps.store.listTokens({
      sub: search.sub || undefined,
      clientId: search.clientId || undefined,
      since,
      limit: PAGE_SIZE + 1,
      cursor: parseBefore(search.before),
    });
  }
  const last = tokens[PAGE_SIZE - 1];
  const next =
    tokens.length > PAGE_SIZE && last !== undefined
      ? `/console/audit?${query(search, { before: `${last.iat}.${last.jti}` })}`
      : undefined;
  return render(
    c,
    <Layout title="Audit" session={session}>
      {problem ? <Notice kind="problem">{problem}</Notice> : null}
      <SearchForm search={search} />
      {searched && problem === undefined ? (
        <section aria-label="Results">
          <h2>Results</h2>
          <Results tokens={tokens.slice(0, PAGE_SIZE)} now={deps.now()} next={next} />
        </section>
      ) : null}
    </Layout>,
    problem ? 400 : 200,
  );
}

/** One chain from its root, the asked-for token marked, refusals on the node they hit. */
export async function showChain(c: Context, deps: BrokerDeps, session: ConsoleSession) {
  const jti = (c.req.query('jti') ?? '').slice(0, 256);
  const token = jti === '' ? undefined : await deps.store.getToken(jti);
  const report = token === undefined ? undefined : await auditReport(deps, token.rootJti);
  if (token === undefined || report === undefined) {
    return render(
      c,
      <Layout title="Chain" session={session}>
        <Notice kind="problem">The ledger has no such token.</Notice>
        <p>
          <a href="/console/audit">Back to the search</a>
        </p>
      </Layout>,
      404,
    );
  }
  const refusals = report.refusals;
  const byNode = new Map<string, typeof refusals>();
  for (const r of refusals) {
    const key = r.subject_jti ?? '';
    byNode.set(key, [...(byNode.get(key) ?? []), r]);
  }
  const now = deps.now();
  const extra = (node: TreeNode) => (
    <>
      {node.jti === token.jti ? (
        <p>
          <strong>The token you opened.</strong>
        </p>
      ) : null}
      <p class="muted">
        {`Client ${forPage(node.client_id, 200)}, ${node.grant_type.split(':').pop()}, issued ${when(node.iat)}; jti `}
        <code>{node.jti}</code>
      </p>
      {(byNode.get(node.jti) ?? []).map((r) => (
        <p class="refusal">
          {`Refused at ${when(r.at)}: ${forPage(r.client_id, 200)} was told ${r.error}: ${forPage(r.error_description, 300)}`}
        </p>
      ))}
    </>
  );
  const a = report.approval;
  return render(
    c,
    <Layout title="Chain" session={session}>
      <p>
        <a href="/console/audit">Back to the search</a>
      </p>
      {a ? (
        <p>
          {`Approved by ${forPage(a.decided_by ?? a.user, 200)} for ${forPage(a.client_id, 200)}: `}
          {a.reason === null ? 'no reason given' : `“${forPage(a.reason, 500)}”`}
          {`; asked ${forPage(a.requested_scope, 500)}, granted ${forPage(a.approved_scope, 500)}.`}
        </p>
      ) : null}
      <Tree root={report.descendants} now={now} nodeExtra={extra} />
      {report.descendants_cursor !== null ? (
        <p class="muted">Only the first hand-offs are shown; the audit API pages on.</p>
      ) : null}
      {report.refusals_total > report.refusals.length ? (
        <p class="muted">{`${report.refusals_total} refusals in all; the newest ${report.refusals.length} are marked.`}</p>
      ) : null}
      <p>{`Subject ${forPage(report.token.sub, 200)}; ${status(report.descendants, now)} at the root.`}</p>
    </Layout>,
  );
}
