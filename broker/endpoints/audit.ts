/**
 * The audit API (SPEC §3, §5), behind the `BATON_ADMIN_TOKEN` bearer:
 * - `GET /audit/tokens/{jti}`: `chain` (root first, the token last), `descendants` (a
 *   tree with `children`) and `refusals` against the token or any descendant, each part
 *   bounded (`services/audit-report.ts` says how and which fields tell what was left out);
 * - `GET /audit/tokens/{jti}/descendants?after=&limit=`: the next descendants, breadth-first,
 *   from the report's `descendants_cursor`;
 * - `GET /audit/tokens?sub=&client_id=&since=&limit=&cursor=`: newest first, paginated.
 *
 * An agent may also read the report of one token it is involved in (its client or one
 * of its actors, the same test as revocation) with its own client credentials over HTTP
 * Basic: that is how the MCP `audit_chain` tool shows an agent its own chains without
 * the admin token.
 * @module
 */
import type { Context, Hono } from 'hono';
import { z } from 'zod';
import type { BrokerDeps } from '../deps.js';
import { requireAdminBearer } from '../oauth/admin-bearer.js';
import { InvalidRequest, NotFound } from '../oauth/errors.js';
import {
  auditReport,
  decodeDescendantsCursor,
  descendantsPage,
  DESCENDANTS_SHOWN,
  MAX_DESCENDANTS_PAGE,
  tokenEntry,
} from '../services/audit-report.js';
import type { LedgerToken } from '../store/store.js';
import { NO_STORE, PATHS } from './urls.js';

function requireAdmin(c: Context, adminToken: string | undefined): void {
  requireAdminBearer(c, adminToken, 'the audit API needs the admin bearer token', 'baton-audit');
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

const PageQuery = z.object({
  after: z
    .string()
    .transform((s, ctx) => {
      const cursor = decodeDescendantsCursor(s);
      if (cursor === undefined) {
        ctx.addIssue({ code: 'custom', message: 'after is not a cursor this API gave out' });
        return z.NEVER;
      }
      return cursor;
    })
    .optional(),
  limit: z
    .string()
    .regex(/^\d+$/, 'limit must be a whole number')
    .transform(Number)
    .pipe(
      z
        .number()
        .min(1, `limit must be 1 to ${MAX_DESCENDANTS_PAGE}`)
        .max(MAX_DESCENDANTS_PAGE, `limit must be 1 to ${MAX_DESCENDANTS_PAGE}`),
    )
    .default(DESCENDANTS_SHOWN),
});

function encodeCursor(t: LedgerToken): string {
  return Buffer.from(`${t.iat}.${t.jti}`).toString('base64url');
}

export function mountAudit(app: Hono, deps: BrokerDeps): void {
  const url = `${deps.issuer}${PATHS.audit}`;
  /** The admin, or (undefined when admin) the client reading a token it is involved in. */
  const reader = async (c: Context): Promise<string | undefined> => {
    const authorization = c.req.header('authorization');
    if (authorization !== undefined && /^basic /i.test(authorization)) {
      return (await deps.clients.authenticate(authorization, {}, deps.now(), url)).clientId;
    }
    requireAdmin(c, deps.adminToken);
    return undefined;
  };

  app.get(`${PATHS.audit}/:jti`, async (c) => {
    const report = await auditReport(deps, c.req.param('jti'), await reader(c));
    if (report === undefined) throw new NotFound('no token with that jti in the ledger');
    return c.json(report, 200, NO_STORE);
  });

  app.get(`${PATHS.audit}/:jti/descendants`, async (c) => {
    const client = await reader(c);
    const parsed = PageQuery.safeParse(c.req.query());
    if (!parsed.success) throw new InvalidRequest(parsed.error.issues[0]!.message);
    const page = await descendantsPage(deps, c.req.param('jti'), parsed.data, client);
    if (page === undefined) throw new NotFound('no token with that jti in the ledger');
    return c.json(page, 200, NO_STORE);
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
      {
        tokens: tokens.map(tokenEntry),
        next_cursor: rows.length > q.limit && last ? encodeCursor(last) : null,
      },
      200,
      NO_STORE,
    );
  });
}
