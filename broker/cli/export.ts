/**
 * `npx baton export --since <ISO or Unix seconds> [--until <...>]`: the ledger as JSON
 * Lines on stdout, to archive before retention prunes it (issue 9). One record per token
 * (`{"type":"token",...}`, with `parent_jti` and `root_jti` linking its chain) issued in
 * [since, until), then one per refusal (`{"type":"refusal",...}`) recorded in it, then
 * one per approval request (`{"type":"approval",...}`) made in it: pruning removes a
 * chain's approval with the chain, so the archive keeps who approved what.
 *
 * Streaming: rows are read in keyset-paginated pages of `PAGE` and each page is written
 * before the next is read, waiting for stdout to drain, so memory stays flat however
 * large the ledger. Every character outside printable ASCII is written as a JSON `\u`
 * escape: the file is the same JSON, and inert if someone prints it on a terminal.
 * @module
 */
import { once } from 'node:events';
import { parseArgs } from 'node:util';
import { parseEnv } from '../config/env.js';
import { ConfigError } from '../config/format-issues.js';
import type { ApprovalRecord, LedgerRefusal, LedgerToken, Store } from '../store/store.js';
import { openExistingStore } from './ledger.js';

const PAGE = 1000;

/** Unix seconds from `1767225600` or an ISO 8601 date such as `2026-01-01T00:00:00Z`. */
export function parseTime(option: string, value: string): number {
  const seconds = /^\d{1,12}$/.test(value)
    ? Number(value)
    : /^\d{4}-\d{2}-\d{2}/.test(value)
      ? Date.parse(value) / 1000
      : NaN;
  if (!Number.isFinite(seconds))
    throw new ConfigError(
      `--${option} must be Unix seconds or an ISO 8601 date (2026-01-31 or 2026-01-31T12:00:00Z)`,
    );
  return Math.floor(seconds);
}

/** JSON with every character outside printable ASCII escaped. */
function asciiJson(value: unknown): string {
  return JSON.stringify(value).replace(
    /[^\x20-\x7e]/g,
    (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`,
  );
}

export function tokenRecord(t: LedgerToken) {
  return {
    type: 'token',
    jti: t.jti,
    parent_jti: t.parentJti,
    root_jti: t.rootJti,
    hop: t.hop,
    sub: t.sub,
    act: t.act,
    client_id: t.clientId,
    grant_type: t.grantType,
    scope: t.scope,
    aud: t.aud,
    iat: t.iat,
    exp: t.exp,
    revoked_at: t.revokedAt,
    revoked_via: t.revokedVia,
  };
}

export function refusalRecord(r: LedgerRefusal) {
  return {
    type: 'refusal',
    id: r.id,
    at: r.at,
    client_id: r.clientId,
    grant_type: r.grantType,
    subject_jti: r.subjectJti,
    error: r.error,
    reason: r.reason,
    error_description: r.errorDescription,
    requested: r.requested,
  };
}

export function approvalRecord(a: ApprovalRecord) {
  return {
    type: 'approval',
    auth_req_id: a.authReqId,
    client_id: a.clientId,
    user: a.username,
    scope: a.scope,
    aud: a.aud,
    binding_message: a.bindingMessage,
    created_at: a.createdAt,
    expires_at: a.expiresAt,
    status: a.status,
    approved_scope: a.approvedScope,
    decided_at: a.decidedAt,
    decided_by: a.decidedBy,
    issued_jti: a.issuedJti,
  };
}

/** Writes one page, waiting for the stream to drain when it asks to. */
async function write(out: NodeJS.WritableStream, lines: string[]): Promise<void> {
  if (lines.length > 0 && !out.write(`${lines.join('\n')}\n`)) await once(out, 'drain');
}

/** Streams the records of [since, until) to `out`; resolves how many it wrote. */
export async function exportLedger(
  store: Store,
  range: { since: number; until: number },
  out: NodeJS.WritableStream,
) {
  const query = { ...range, limit: PAGE };
  let tokens = 0;
  let refusals = 0;
  for (let after: { iat: number; jti: string } | undefined; ;) {
    const page = await store.exportTokens(query, after);
    await write(
      out,
      page.map((t) => asciiJson(tokenRecord(t))),
    );
    tokens += page.length;
    const last = page.at(-1);
    if (last === undefined || page.length < PAGE) break;
    after = { iat: last.iat, jti: last.jti };
  }
  for (let after: { at: number; id: number } | undefined; ;) {
    const page = await store.exportRefusals(query, after);
    await write(
      out,
      page.map((r) => asciiJson(refusalRecord(r))),
    );
    refusals += page.length;
    const last = page.at(-1);
    if (last === undefined || page.length < PAGE) break;
    after = { at: last.at, id: last.id };
  }
  let approvals = 0;
  for (let after: { createdAt: number; authReqId: string } | undefined; ;) {
    const page = await store.exportApprovals(query, after);
    await write(
      out,
      page.map((a) => asciiJson(approvalRecord(a))),
    );
    approvals += page.length;
    const last = page.at(-1);
    if (last === undefined || page.length < PAGE) break;
    after = { createdAt: last.createdAt, authReqId: last.authReqId };
  }
  return { tokens, refusals, approvals };
}

/** `npx baton export`; the summary goes to stderr, the records alone to stdout. */
export async function runExport(args: string[]): Promise<number> {
  const { values } = parseArgs({
    args,
    options: { since: { type: 'string' }, until: { type: 'string' } },
  });
  if (values.since === undefined)
    throw new ConfigError(
      'export needs --since <ISO date or Unix seconds>: npx baton export --since 2026-01-01',
    );
  const since = parseTime('since', values.since);
  const until =
    values.until === undefined ? Number.MAX_SAFE_INTEGER : parseTime('until', values.until);
  if (until <= since) throw new ConfigError('--until must be later than --since');
  const store = await openExistingStore(parseEnv());
  try {
    const n = await exportLedger(store, { since, until }, process.stdout);
    process.stderr.write(
      `exported ${n.tokens} token(s), ${n.refusals} refusal(s) and ${n.approvals} approval request(s)\n`,
    );
    return 0;
  } finally {
    await store.close();
  }
}
