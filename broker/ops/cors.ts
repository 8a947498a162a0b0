/**
 * CORS (Fetch standard) for browser-based MCP clients (SPEC §8): a client running in a
 * web page must read the discovery documents, the key set, and the answers of the token,
 * registration and revocation endpoints from another origin.
 *
 * - Those endpoints answer any origin with `Access-Control-Allow-Origin: *` and never
 *   allow credentials: they are public documents, or authenticated by what the body
 *   carries (a code verifier, a refresh token, a client assertion), never by cookies, so
 *   a foreign page learns nothing it could not learn with curl.
 * - A preflight (`OPTIONS` with `Origin`) is answered 204 with the methods and the
 *   headers an MCP client sends; `WWW-Authenticate` and `mcp-session-id` are exposed.
 * - Nothing is added when a request carries no `Origin` (every non-browser client, and
 *   the hot path of `/token`): the middleware then costs one header lookup.
 * - Never on `/console`, `/audit` or `/authorize`: those pages act on a person's cookie or
 *   an operator's token, and must not be readable from another origin. `/mcp` keeps its
 *   own rule (a foreign `Origin` is refused; see `mcp-server/http.ts`), which answers
 *   only the origins it allows, by name (`allowOrigin`).
 * @module
 */
import type { Context, MiddlewareHandler } from 'hono';
import { PATHS } from '../endpoints/urls.js';

/** Request headers an MCP client sends (MCP transports, Streamable HTTP). */
export const CORS_ALLOW_HEADERS =
  'Authorization, Content-Type, mcp-protocol-version, mcp-session-id, last-event-id';
/** Response headers a browser client must read: the challenge and the MCP session. */
export const CORS_EXPOSE_HEADERS = 'WWW-Authenticate, mcp-session-id';
/** How long a browser may reuse a preflight answer. */
const PREFLIGHT_MAX_AGE_SECONDS = '600';

/** Paths answered to any origin, with the methods each serves: the public documents and the body-authenticated endpoints. */
export function publicCorsRoutes(issuer: string): Array<[path: string, methods: string]> {
  const issuerPath = new URL(issuer).pathname.replace(/\/$/, '');
  return [
    [PATHS.metadata, 'GET'],
    ...(issuerPath === '' ? [] : [[`${PATHS.metadata}${issuerPath}`, 'GET'] as [string, string]]),
    ['/.well-known/openid-configuration', 'GET'],
    [PATHS.jwks, 'GET'],
    [PATHS.token, 'POST'],
    [PATHS.revocation, 'POST'],
    [PATHS.registration, 'POST'],
  ];
}

/** The preflight answer: 204, the methods given, the MCP request headers. */
function preflight(c: Context, allowOrigin: string, methods: string): Response {
  const headers: Record<string, string> = {
    'Access-Control-Allow-Origin': allowOrigin,
    'Access-Control-Allow-Methods': methods,
    'Access-Control-Allow-Headers': CORS_ALLOW_HEADERS,
    'Access-Control-Max-Age': PREFLIGHT_MAX_AGE_SECONDS,
  };
  if (allowOrigin !== '*') headers.Vary = 'Origin';
  return c.body(null, 204, headers);
}

/** Adds the CORS answer headers to a response already made. */
export function addCorsHeaders(res: Response, allowOrigin: string): void {
  res.headers.set('Access-Control-Allow-Origin', allowOrigin);
  res.headers.set('Access-Control-Expose-Headers', CORS_EXPOSE_HEADERS);
  if (allowOrigin !== '*') res.headers.append('Vary', 'Origin');
}

/**
 * Middleware for a public path: `*` to any origin, preflight answered, nothing done
 * without an `Origin`. `methods` is what the path serves (e.g. `GET` or `POST`).
 */
export function publicCors(methods: string): MiddlewareHandler {
  const allowed = `${methods}, OPTIONS`;
  return async (c, next) => {
    if (c.req.header('origin') === undefined) return next();
    if (c.req.method === 'OPTIONS') return preflight(c, '*', allowed);
    await next();
    addCorsHeaders(c.res, '*');
  };
}

/** A preflight for an origin a route allows by name (the `/mcp` endpoint's own origins). */
export function namedOriginPreflight(c: Context, origin: string, methods: string): Response {
  return preflight(c, origin, `${methods}, OPTIONS`);
}
