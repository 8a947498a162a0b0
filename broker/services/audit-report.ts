/**
 * The audit report of one token (SPEC §3, §5): its chain, its descendants as a tree, the
 * refusals filed against any of them and the approval at the root. One service that the
 * audit API, `npx baton audit` and the MCP `audit_chain` tool all call.
 * @module
 */
import type { BrokerDeps } from '../deps.js';
import type { ApprovalRecord, LedgerRefusal, LedgerToken, TokenTree } from '../store/store.js';
import { isInvolved } from '../tokens/act.js';
import { GRANT_CIBA } from '../tokens/claims.js';

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

export function treeEntry(node: TokenTree): TreeEntry {
  return { ...tokenEntry(node), children: node.children.map(treeEntry) };
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

/**
 * Everything the audit API says about one token; undefined when the ledger has no such
 * jti or, when `asClient` is given, when that client is not involved in the token (which
 * reads exactly like unknown, so no client can probe for others' tokens).
 */
export async function auditReport(deps: Pick<BrokerDeps, 'store'>, jti: string, asClient?: string) {
  const token = await deps.store.getToken(jti);
  if (token === undefined) return undefined;
  if (asClient !== undefined && !isInvolved(asClient, token)) return undefined;
  const [chain, descendants] = await Promise.all([deps.store.chain(jti), deps.store.descendants(jti)]);
  const jtis: string[] = [];
  const walk = (n: TokenTree) => {
    jtis.push(n.jti);
    n.children.forEach(walk);
  };
  walk(descendants!);
  const refusals = await deps.store.refusalsAgainst(jtis);
  // A chain that began with a person's approval (CIBA) shows who approved what, and when.
  const root = chain[0];
  const approval = root?.grantType === GRANT_CIBA ? await deps.store.approvalForToken(root.jti) : undefined;
  return {
    token: tokenEntry(token),
    chain: chain.map(tokenEntry),
    descendants: treeEntry(descendants!),
    refusals: refusals.map(refusalEntry),
    approval: approval === undefined ? null : approvalEntry(approval),
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
