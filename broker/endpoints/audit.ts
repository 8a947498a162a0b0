/**
 * The audit API (SPEC §3, §5), behind the `BATON_ADMIN_TOKEN` bearer:
 * - `GET /audit/tokens/{jti}`: `chain` (root first, the token last), `descendants` (a
 *   tree with `children`) and `refusals` against the token or any descendant;
 * - `GET /audit/tokens?sub=&client_id=&since=&limit=&cursor=`: newest first, paginated.
 *
 * An agent may also read the report of one token it is involved in (its client or one
 * of its actors, the same test as revocation) with its own client credentials over HTTP
 * Basic: that is how the MCP `audit_chain` tool shows an agent its own chains without
 * the admin token.
 * @module
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import type { Context, Hono } from 'hono';
import { z } from 'zod';
import type { BrokerDeps } from '../deps.js';
import { BearerError, InvalidRequest, NotFound } from '../oauth/errors.js';
import { isInvolved } from '../policy/nest-act.js';
import type { ApprovalRecord, LedgerRefusal, LedgerToken, TokenTree } from '../store/store.js';
import { GRANT_CIBA } from '../tokens/claims.js';
import { NO_STORE, PATHS } from './urls.js';

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

function requireAdmin(c: Context, adminToken: string | undefined): void {
  const header = c.req.header('authorization');
  const challenge = { realm: 'baton-audit' };
  if (header === undefined || !/^bearer /i.test(header)) {
    throw new BearerError('invalid_request', 401, 'the audit API needs the admin bearer token', challenge, true);
  }
  const presented = createHash('sha256').update(header.slice(7).trim()).digest();
  const expected = createHash('sha256').update(adminToken ?? '').digest();
  if (adminToken === undefined || !timingSafeEqual(presented, expected)) {
    throw new BearerError('invalid_token', 401, 'the admin bearer token is not valid', challenge);
  }
}

const ListQuery = z.object({
  sub: z.string().min(1).max(1000).optional(),
  client_id: z.string().min(1).max(200).optional(),
  since: z
    .string()
    .transform((s, ctx) => {
      const n = /^\d+$/.test(s) ? Number(s) : Date.parse(s) / 1000;
      if (!Number.isFinite(n)) {
        ctx.addIssue({ code: 'custom', message: 'since must be Unix seconds or an ISO 8601 date' });
        return z.NEVER;
      }
      return Math.floor(n);
    })
    .optional(),
  limit: z
    .string()
    .regex(/^\d+$/, 'limit must be a whole number')
    .transform(Number)
    .pipe(z.number().min(1, 'limit must be 1 to 500').max(500, 'limit must be 1 to 500'))
    .default(50),
  cursor: z
    .string()
    .transform((s, ctx) => {
      const m = /^(\d+)\.(.+)$/.exec(Buffer.from(s, 'base64url').toString('utf8'));
      if (!m) {
        ctx.addIssue({ code: 'custom', message: 'cursor is not one this API gave out' });
        return z.NEVER;
      }
      return { iat: Number(m[1]), jti: m[2]! };
    })
    .optional(),
});

function encodeCursor(t: LedgerToken): string {
  return Buffer.from(`${t.iat}.${t.jti}`).toString('base64url');
}

export function mountAudit(app: Hono, deps: BrokerDeps): void {
  const url = `${deps.issuer}${PATHS.audit}`;
  app.get(`${PATHS.audit}/:jti`, async (c) => {
    const authorization = c.req.header('authorization');
    let client: string | undefined;
    if (authorization !== undefined && /^basic /i.test(authorization)) {
      client = (await deps.clients.authenticate(authorization, {}, deps.now(), url)).clientId;
    } else {
      requireAdmin(c, deps.adminToken);
    }
    const report = await auditReport(deps, c.req.param('jti'), client);
    if (report === undefined) throw new NotFound('no token with that jti in the ledger');
    return c.json(report, 200, NO_STORE);
  });

  app.get(PATHS.audit, async (c) => {
    requireAdmin(c, deps.adminToken);
    const parsed = ListQuery.safeParse(c.req.query());
    if (!parsed.success) throw new InvalidRequest(parsed.error.issues[0]!.message);
    const q = parsed.data;
    // One row more than asked says whether another page exists, so the last page has no cursor.
    const rows = await deps.store.listTokens({
      sub: q.sub,
      clientId: q.client_id,
      since: q.since,
      limit: q.limit + 1,
      cursor: q.cursor,
    });
    const tokens = rows.slice(0, q.limit);
    const last = tokens.at(-1);
    return c.json(
      { tokens: tokens.map(tokenEntry), next_cursor: rows.length > q.limit && last ? encodeCursor(last) : null },
      200,
      NO_STORE,
    );
  });
}
