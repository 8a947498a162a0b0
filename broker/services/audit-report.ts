/**
 * The audit report of one token (SPEC §3, §5): its chain, its descendants as a tree, the
 * refusals filed against any of them and the approval at the root. One service that the
 * audit API, `npx baton audit` and the MCP `audit_chain` tool all call.
 *
 * A report has a bounded size, whatever the ledger holds (issue 9 points 7 and 8: a
 * 12,001-token chain overflowed the stack, 21,000 children made an 8.4 MB report):
 * - `chain`: the root and the `CHAIN_NEAREST` tokens nearest this one (itself included);
 *   `chain_length` says how long the chain is and `chain_elided` how many tokens were left
 *   out, all of them between `chain[0]` (the root) and `chain[1]`;
 * - `descendants`: the first `DESCENDANTS_SHOWN` descendants breadth-first (by depth, then
 *   issue time), as a tree; `descendants_cursor`, when not null, pages on through
 *   `GET /audit/tokens/{jti}/descendants?after=<cursor>` (`descendantsPage`);
 * - `refusals`: the `REFUSALS_SHOWN` newest, oldest first; `refusals_total` counts all.
 * The store returns rows; trees are built here, in pure code, without recursion.
 * @module
 */
import type { BrokerDeps } from '../deps.js';
import type {
  ApprovalRecord,
  DescendantsCursor,
  LedgerDescendant,
  LedgerRefusal,
  LedgerToken,
} from '../store/store.js';
import { isInvolved } from '../tokens/act.js';
import { GRANT_CIBA } from '../tokens/claims.js';

/** Ancestors shown nearest the audited token (itself included); the root is shown too. */
export const CHAIN_NEAREST = 15;
/** Descendants shown in a report, and the default (and largest) page of `descendantsPage`. */
export const DESCENDANTS_SHOWN = 100;
export const MAX_DESCENDANTS_PAGE = 500;
/** Refusals shown in a report: the newest ones. */
export const REFUSALS_SHOWN = 20;

/** A ledger token as the audit API and `npx baton audit --json` show it. */
export function tokenEntry(t: LedgerToken) {
  return {
    jti: t.jti,
    parent_jti: t.parentJti,
    sub: t.sub,
    act: t.act,
    client_id: t.clientId,
    grant_type: t.grantType,
    scope: t.scope,
    aud: t.aud,
    iat: t.iat,
    exp: t.exp,
    revoked: t.revokedAt !== null,
    revoked_at: t.revokedAt,
  };
}

type TreeEntry = ReturnType<typeof tokenEntry> & { children: TreeEntry[] };

/**
 * The tree under `root` from its descendants in breadth-first order (each row's parent is
 * `root` or an earlier row). A row whose parent is not there is left out; a loop, not
 * recursion, so no depth can overflow the stack.
 */
export function buildTree(root: LedgerToken, rows: readonly LedgerToken[]): TreeEntry {
  const top: TreeEntry = { ...tokenEntry(root), children: [] };
  const nodes = new Map<string, TreeEntry>([[root.jti, top]]);
  for (const row of rows) {
    const parent = row.parentJti === null ? undefined : nodes.get(row.parentJti);
    if (parent === undefined) continue;
    const node: TreeEntry = { ...tokenEntry(row), children: [] };
    parent.children.push(node);
    nodes.set(row.jti, node);
  }
  return top;
}

export function refusalEntry(r: LedgerRefusal) {
  return {
    at: r.at,
    client_id: r.clientId,
    grant_type: r.grantType,
    subject_jti: r.subjectJti,
    error: r.error,
    error_description: r.errorDescription,
    requested: r.requested,
  };
}

/** An opaque cursor for the next page of descendants: where breadth-first order stopped. */
export function encodeDescendantsCursor(t: DescendantsCursor): string {
  return Buffer.from(JSON.stringify([t.hop, t.iat, t.jti])).toString('base64url');
}

/** The position a cursor from `encodeDescendantsCursor` names, or undefined for anything else. */
export function decodeDescendantsCursor(cursor: string): DescendantsCursor | undefined {
  if (cursor.length > 1024 || !/^[A-Za-z0-9_-]+$/.test(cursor)) return undefined;
  let value: unknown;
  try {
    value = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8'));
  } catch {
    return undefined;
  }
  if (!Array.isArray(value) || value.length !== 3) return undefined;
  const [hop, iat, jti] = value as unknown[];
  if (
    !Number.isSafeInteger(hop) ||
    !Number.isSafeInteger(iat) ||
    typeof jti !== 'string' ||
    jti.length > 256
  )
    return undefined;
  return { hop: hop as number, iat: iat as number, jti };
}

/** The token when it exists and, with `asClient`, that client is involved in it. */
async function visibleToken(
  deps: Pick<BrokerDeps, 'store'>,
  jti: string,
  asClient: string | undefined,
) {
  const token = await deps.store.getToken(jti);
  if (token === undefined) return undefined;
  if (asClient !== undefined && !isInvolved(asClient, token)) return undefined;
  return token;
}

/** Whether a page asked for `limit` rows and got one more: then it says where to go on. */
function nextCursor(rows: readonly LedgerDescendant[], limit: number): string | null {
  const last = rows[limit - 1];
  return rows.length > limit && last !== undefined ? encodeDescendantsCursor(last) : null;
}

/**
 * Everything the audit API says about one token; undefined when the ledger has no such
 * jti or, when `asClient` is given, when that client is not involved in the token (which
 * reads exactly like unknown, so no client can probe for others' tokens).
 */
export async function auditReport(deps: Pick<BrokerDeps, 'store'>, jti: string, asClient?: string) {
  const token = await visibleToken(deps, jti, asClient);
  if (token === undefined) return undefined;
  const [chain, rows, refused] = await Promise.all([
    deps.store.chain(jti, CHAIN_NEAREST),
    deps.store.descendants(jti, { limit: DESCENDANTS_SHOWN + 1 }),
    deps.store.refusalsInTree(jti, REFUSALS_SHOWN),
  ]);
  const shown = rows.slice(0, DESCENDANTS_SHOWN);
  // A chain that began with a person's approval (CIBA) shows who approved what, and when.
  const root = chain[0];
  const approval =
    root?.grantType === GRANT_CIBA ? await deps.store.approvalForToken(root.jti) : undefined;
  const chainLength = Math.max(token.hop + 1, chain.length);
  return {
    token: tokenEntry(token),
    chain: chain.map(tokenEntry),
    descendants: buildTree(token, shown),
    refusals: refused.refusals.map(refusalEntry),
    approval: approval === undefined ? null : approvalEntry(approval),
    /** Tokens from the root to this one. */
    chain_length: chainLength,
    /** Tokens of the chain not shown, all between `chain[0]` and `chain[1]`. */
    chain_elided: chainLength - chain.length,
    /** Descendants in `descendants` (the token itself not counted). */
    descendants_shown: shown.length,
    /** Null when every descendant is shown; else the `after` of the next page. */
    descendants_cursor: nextCursor(rows, DESCENDANTS_SHOWN),
    /** Refusals against the token or a descendant; `refusals` holds the newest. */
    refusals_total: refused.total,
  };
}

/**
 * The next descendants of a token after `after`, breadth-first, each with its
 * `parent_jti` and `depth` (1 for a child), so pages join into the tree; undefined as for
 * `auditReport`.
 */
export async function descendantsPage(
  deps: Pick<BrokerDeps, 'store'>,
  jti: string,
  page: { after?: DescendantsCursor; limit: number },
  asClient?: string,
) {
  const token = await visibleToken(deps, jti, asClient);
  if (token === undefined) return undefined;
  const limit = Math.max(1, Math.min(page.limit, MAX_DESCENDANTS_PAGE));
  const rows = await deps.store.descendants(jti, { limit: limit + 1, after: page.after });
  return {
    descendants: rows.slice(0, limit).map((r) => ({ ...tokenEntry(r), depth: r.depth })),
    next_cursor: nextCursor(rows, limit),
  };
}

/** The approval at the root of a chain: what the agent asked, what the person granted. */
export function approvalEntry(a: ApprovalRecord) {
  return {
    jti: a.issuedJti,
    client_id: a.clientId,
    user: a.username,
    requested_scope: a.scope,
    approved_scope: a.approvedScope ?? a.scope,
    aud: a.aud,
    reason: a.bindingMessage,
    requested_at: a.createdAt,
    decided_at: a.decidedAt,
    decided_by: a.decidedBy,
  };
}

/** The report `auditReport` returns for a known token. */
export type AuditReport = NonNullable<Awaited<ReturnType<typeof auditReport>>>;
