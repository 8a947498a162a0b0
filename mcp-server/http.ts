/**
 * Streamable HTTP MCP at `/mcp` on the broker (MCP 2025-06-18 transports + authorization).
 *
 * - `/mcp` is an OAuth protected resource (RFC 9728): its metadata is at
 *   `/.well-known/oauth-protected-resource/mcp` (the path-suffixed form, RFC 9728 §3.1,
 *   which the challenge names) and at `/.well-known/oauth-protected-resource`, and a
 *   request without an acceptable Baton bearer token gets 401 with
 *   `WWW-Authenticate: Bearer resource_metadata="...", scope="..."` (RFC 6750 §3: the
 *   scopes an MCP client may ask a person for, so a client knows what to request;
 *   `error="invalid_token"` only when a token was presented, as §3.1 asks).
 * - 403 `insufficient_scope` (with `scope`) when the token holds none of the scopes its
 *   client may use (e.g. a person consented with every box unticked): no tool could then
 *   get anything through an exchange, so the client should ask again rather than call.
 *   A client that may hold no scopes at all is not refused this way (its bare token
 *   still inspects, audits and revokes).
 * - An acceptable token is active (Baton's own, unrevoked, canonically spelled) and its
 *   `aud` is exactly `${issuer}/mcp` (RFC 8707 audience binding): a token minted for
 *   another API, or for another API *and* this one, is no key here, so an API that was
 *   handed such a token cannot act as the agent at `/mcp`. The tools act as the token's
 *   current actor (`act.sub`, or `client_id` without `act`) through
 *   `InProcessBrokerClient`, and exchange the token, never pass it on.
 * - Browsers (MCP transports, "Security Warning"): a request whose `Origin` is present
 *   and is not the issuer's origin (or one the operator allowed) is 403, `Origin: null`
 *   included; when the issuer is a loopback address, a `Host` that is not a loopback
 *   name is 403 too, which stops DNS rebinding from reaching a local broker. Clients
 *   that are not browsers send no `Origin` and are unaffected.
 * - Stateless: every POST gets its own transport (no session to steal or leak); GET
 *   and DELETE, which need a session, are 405. The MCP server itself is built once and
 *   reused (`McpServerPool`); each request's caller reaches the tools through the
 *   request's context (`asCaller`), and the SDK's `extra.authInfo` carries the token.
 * @module
 */
import type { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import type { AuthInfo } from '@modelcontextprotocol/sdk/server/auth/types.js';
import type { Context, Hono } from 'hono';
import type { Mount } from '../broker/app.js';
import type { ClientPolicy } from '../broker/config/policy.js';
import type { BrokerDeps } from '../broker/deps.js';
import { activeToken } from '../broker/services/introspection.js';
import { NO_STORE } from '../broker/endpoints/urls.js';
import { addCorsHeaders, namedOriginPreflight, publicCors } from '../broker/ops/cors.js';
import { limitClient } from '../broker/ops/rate-limit.js';
import { mcpClientsPolicy } from '../broker/mcp-auth/mcp-clients-policy.js';
import { InProcessBrokerClient } from './in-process-broker-client.js';
import { buildServer } from './server.js';
import { McpServerPool } from './server-pool.js';
import { asCaller, callerToolDeps, fixedAgentToken, type ToolDeps } from './tool-deps.js';

export const MCP_PATH = '/mcp';
export const PROTECTED_RESOURCE_PATH = '/.well-known/oauth-protected-resource';

/** RFC 9728 §2 metadata for `/mcp`. */
export function protectedResourceMetadata(deps: BrokerDeps) {
  return {
    resource: `${deps.issuer}${MCP_PATH}`,
    authorization_servers: [deps.issuer],
    bearer_methods_supported: ['header'],
    // What an MCP client may ask a person for (`mcp_clients.scopes`).
    scopes_supported: mcpClientsPolicy(deps.policy).scopes,
    resource_name: 'Baton MCP tools',
  };
}

type Authenticated = { client: ClientPolicy; token: string; authInfo: AuthInfo };

/** A scope list longer than this is left out of a challenge: the metadata has it all. */
const MAX_CHALLENGE_SCOPE_CHARS = 1024;

/** `scope="..."` for a challenge, or nothing when there is none to name or it is too long. */
function scopeParam(scopes: readonly string[]): string[] {
  const joined = scopes.join(' ');
  return joined === '' || joined.length > MAX_CHALLENGE_SCOPE_CHARS ? [] : [`scope="${joined}"`];
}

/** RFC 6750 §3 challenge pointing at the RFC 9728 metadata (the path-suffixed URL). */
function unauthorized(
  c: Context,
  deps: BrokerDeps,
  presented: boolean,
  description: string,
): Response {
  const params = [
    `resource_metadata="${deps.issuer}${PROTECTED_RESOURCE_PATH}${MCP_PATH}"`,
    ...scopeParam(mcpClientsPolicy(deps.policy).scopes),
  ];
  if (presented) params.push('error="invalid_token"', `error_description="${description}"`);
  return c.json({ error: 'invalid_token', error_description: description }, 401, {
    ...NO_STORE,
    'WWW-Authenticate': `Bearer ${params.join(', ')}`,
  });
}

/** RFC 6750 §3.1 `insufficient_scope`, naming the scopes the client may ask for instead. */
function insufficientScope(c: Context, deps: BrokerDeps, scopes: readonly string[]): Response {
  const description = 'the token holds none of the scopes the MCP tools can use for this client';
  const params = [
    `resource_metadata="${deps.issuer}${PROTECTED_RESOURCE_PATH}${MCP_PATH}"`,
    'error="insufficient_scope"',
    ...scopeParam(scopes),
    `error_description="${description}"`,
  ];
  return c.json({ error: 'insufficient_scope', error_description: description }, 403, {
    ...NO_STORE,
    'WWW-Authenticate': `Bearer ${params.join(', ')}`,
  });
}

function forbidden(c: Context, description: string): Response {
  return c.json({ error: 'access_denied', error_description: description }, 403, NO_STORE);
}

async function authenticate(c: Context, deps: BrokerDeps): Promise<Authenticated | Response> {
  const resource = `${deps.issuer}${MCP_PATH}`;
  const header = c.req.header('authorization');
  const match =
    header === undefined ? null : /^Bearer[ ]+([A-Za-z0-9\-._~+/]+=*)[ ]*$/i.exec(header);
  if (header === undefined || !/^bearer\b/i.test(header)) {
    return unauthorized(
      c,
      deps,
      false,
      `a Baton bearer token with audience ${resource} is required`,
    );
  }
  if (match === null)
    return unauthorized(c, deps, true, 'the Authorization header is not a bearer token');
  const token = match[1]!;
  const verified = await activeToken(deps, token, deps.now());
  if (verified === undefined) return unauthorized(c, deps, true, 'the token is not active');
  if (!verified.aud.includes(resource))
    return unauthorized(c, deps, true, `the token is not for ${resource}`);
  // RFC 8707 §2 audience binding: whoever else the token was for could replay it here.
  if (verified.aud.length !== 1) {
    return unauthorized(
      c,
      deps,
      true,
      `the token is for other audiences too; ${resource} takes only a token for it alone`,
    );
  }
  const actor = verified.act?.sub ?? verified.clientId;
  const client = actor === undefined ? undefined : await deps.clients.bearerClient(actor);
  if (client === undefined)
    return unauthorized(c, deps, true, "the token's actor is not a registered client");
  if (client.scopes.length > 0 && !verified.scopes.some((s) => client.scopes.includes(s)))
    return insufficientScope(c, deps, client.scopes);
  const authInfo: AuthInfo = {
    token,
    clientId: client.clientId,
    scopes: verified.scopes,
    ...(verified.exp === undefined ? {} : { expiresAt: verified.exp }),
    resource: new URL(resource),
  };
  return { client, token, authInfo };
}

/** `localhost`, `127.0.0.0/8` and `[::1]`: names that can only mean this machine. */
function isLoopbackHostname(hostname: string): boolean {
  return hostname === 'localhost' || hostname === '[::1]' || /^127(\.\d{1,3}){3}$/.test(hostname);
}

/** The hostname in a `Host` header (`host[:port]`), or undefined when it is not one. */
function hostnameOf(host: string): string | undefined {
  if (!URL.canParse(`http://${host}`)) return undefined;
  const url = new URL(`http://${host}`);
  const bare =
    url.username === '' &&
    url.password === '' &&
    url.pathname === '/' &&
    url.search === '' &&
    url.hash === '';
  return bare ? url.hostname : undefined;
}

export interface McpMountOptions {
  /** Origins allowed besides the issuer's own (exact `scheme://host[:port]`), for browser-based MCP clients. */
  allowedOrigins?: readonly string[];
  /** Builds the one MCP server the endpoint reuses; a test can count builds through it. */
  buildServer?: (deps: ToolDeps) => McpServer;
}

/** The `/mcp` mount, with the origins it accepts and how its MCP server is built. */
export function createMcpMount(options: McpMountOptions = {}): Mount {
  return (app: Hono, deps: BrokerDeps) => {
    const metadata = protectedResourceMetadata(deps);
    for (const path of [PROTECTED_RESOURCE_PATH, `${PROTECTED_RESOURCE_PATH}${MCP_PATH}`]) {
      // A public document: any origin may read it (broker/ops/cors.ts).
      app.use(path, publicCors('GET'));
      app.get(path, (c) => c.json(metadata, 200, { 'Cache-Control': 'public, max-age=300' }));
    }

    const issuer = new URL(deps.issuer);
    const origins = new Set([
      issuer.origin,
      ...(options.allowedOrigins ?? []).map((o) => new URL(o).origin),
    ]);
    const loopback = isLoopbackHostname(issuer.hostname);
    const build = options.buildServer ?? buildServer;
    const tools = callerToolDeps();
    const pool = new McpServerPool(() => build(tools));

    /** Host, token, rate limit and method; then the MCP server answers as the caller. */
    const guarded = async (c: Context): Promise<Response> => {
      const auth = await authenticate(c, deps);
      if (auth instanceof Response) return auth;
      // SPEC §10: /mcp draws on the same per-client rate limit as the token endpoint.
      const limited = limitClient(c, deps.rateLimiter, auth.client.clientId, deps.now());
      if (limited !== undefined) return limited;
      if (c.req.method !== 'POST') {
        return c.json(
          {
            error: 'invalid_request',
            error_description: 'this MCP endpoint is stateless: use POST',
          },
          405,
          {
            ...NO_STORE,
            Allow: 'POST',
          },
        );
      }
      const caller = {
        broker: new InProcessBrokerClient(deps, auth.client),
        agentToken: fixedAgentToken(auth.token),
      };
      return asCaller(caller, () => pool.handle(c.req.raw, auth.authInfo));
    };

    app.all(MCP_PATH, async (c) => {
      // Origin: null (sandboxed frames, file:) is a browser too, and never the issuer.
      const origin = c.req.header('origin');
      if (origin !== undefined && !origins.has(origin))
        return forbidden(c, 'requests from this Origin are not allowed at /mcp');
      if (loopback) {
        const hostname = hostnameOf(c.req.header('host') ?? new URL(c.req.url).host);
        if (hostname === undefined || !isLoopbackHostname(hostname)) {
          return forbidden(
            c,
            'this broker listens on a loopback address and takes only a loopback Host',
          );
        }
      }
      if (origin === undefined) return guarded(c);
      // An allowed browser origin reads every answer, the 401 challenge included, by name
      // (never `*`); its preflight carries no token, so it is answered before any check.
      if (c.req.method === 'OPTIONS') return namedOriginPreflight(c, origin, 'POST');
      const answer = await guarded(c);
      // A copy, so the headers can be added whatever made the answer (the SDK streams).
      const readable = new Response(answer.body, answer);
      addCorsHeaders(readable, origin);
      return readable;
    });
  };
}

/** `/mcp` accepting the issuer's own origin only. */
export const mountMcp: Mount = createMcpMount();
