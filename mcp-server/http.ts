/**
 * Streamable HTTP MCP at `/mcp` on the broker (MCP 2025-06-18 transports + authorization).
 *
 * - `/mcp` is an OAuth protected resource (RFC 9728): its metadata is at
 *   `/.well-known/oauth-protected-resource` (and `.../mcp`, the path-suffixed form), and
 *   a request without an acceptable Baton bearer token gets 401 with
 *   `WWW-Authenticate: Bearer resource_metadata="..."` (RFC 6750 §3; `error="invalid_token"`
 *   only when a token was presented, as §3.1 asks).
 * - An acceptable token is active (Baton's own, unrevoked) and its `aud` holds
 *   `${issuer}/mcp` (RFC 8707 audience binding, so a token minted for another API is no
 *   key to this one). The tools act as the token's current actor (`act.sub`, or
 *   `client_id` without `act`) through `InProcessBrokerClient`, and exchange the token,
 *   never pass it on.
 * - Stateless: every POST gets a fresh server and transport (no session to steal or
 *   leak); GET and DELETE, which need a session, are 405.
 * @module
 */
import { WebStandardStreamableHTTPServerTransport } from '@modelcontextprotocol/sdk/server/webStandardStreamableHttp.js';
import type { Context, Hono } from 'hono';
import type { Mount } from '../broker/app.js';
import type { ClientPolicy } from '../broker/config/policy.js';
import type { BrokerDeps } from '../broker/deps.js';
import { activeToken } from '../broker/services/introspection.js';
import { NO_STORE } from '../broker/endpoints/urls.js';
import { InProcessBrokerClient } from './in-process-broker-client.js';
import { buildServer } from './server.js';
import { fixedAgentToken } from './tool-deps.js';

export const MCP_PATH = '/mcp';
export const PROTECTED_RESOURCE_PATH = '/.well-known/oauth-protected-resource';

/** RFC 9728 §2 metadata for `/mcp`. */
export function protectedResourceMetadata(deps: BrokerDeps) {
  return {
    resource: `${deps.issuer}${MCP_PATH}`,
    authorization_servers: [deps.issuer],
    bearer_methods_supported: ['header'],
    scopes_supported: deps.policy.scopesSupported,
    resource_name: 'Baton MCP tools',
  };
}

type Authenticated = { client: ClientPolicy; token: string };

/** RFC 6750 §3 challenge pointing at the RFC 9728 metadata. */
function unauthorized(c: Context, deps: BrokerDeps, presented: boolean, description: string): Response {
  const params = [`resource_metadata="${deps.issuer}${PROTECTED_RESOURCE_PATH}"`];
  if (presented) params.push('error="invalid_token"', `error_description="${description}"`);
  return c.json({ error: 'invalid_token', error_description: description }, 401, {
    ...NO_STORE,
    'WWW-Authenticate': `Bearer ${params.join(', ')}`,
  });
}

async function authenticate(c: Context, deps: BrokerDeps): Promise<Authenticated | Response> {
  const header = c.req.header('authorization');
  const match = header === undefined ? null : /^Bearer[ ]+([A-Za-z0-9\-._~+/]+=*)[ ]*$/i.exec(header);
  if (header === undefined || !/^bearer\b/i.test(header)) {
    return unauthorized(c, deps, false, `a Baton bearer token with audience ${deps.issuer}${MCP_PATH} is required`);
  }
  if (match === null) return unauthorized(c, deps, true, 'the Authorization header is not a bearer token');
  const token = match[1]!;
  const verified = await activeToken(deps, token, deps.now());
  if (verified === undefined) return unauthorized(c, deps, true, 'the token is not active');
  if (!verified.aud.includes(`${deps.issuer}${MCP_PATH}`)) {
    return unauthorized(c, deps, true, `the token is not for ${deps.issuer}${MCP_PATH}`);
  }
  const actor = verified.act?.sub ?? verified.clientId;
  const client = actor === undefined ? undefined : deps.policy.clients.get(actor);
  if (client === undefined) return unauthorized(c, deps, true, "the token's actor is not a registered client");
  return { client, token };
}

export const mountMcp: Mount = (app: Hono, deps: BrokerDeps) => {
  const metadata = protectedResourceMetadata(deps);
  for (const path of [PROTECTED_RESOURCE_PATH, `${PROTECTED_RESOURCE_PATH}${MCP_PATH}`]) {
    app.get(path, (c) => c.json(metadata, 200, { 'Cache-Control': 'public, max-age=300' }));
  }

  app.all(MCP_PATH, async (c) => {
    const auth = await authenticate(c, deps);
    if (auth instanceof Response) return auth;
    if (c.req.method !== 'POST') {
      return c.json({ error: 'invalid_request', error_description: 'this MCP endpoint is stateless: use POST' }, 405, {
        ...NO_STORE,
        Allow: 'POST',
      });
    }
    const server = buildServer({
      broker: new InProcessBrokerClient(deps, auth.client),
      agentToken: fixedAgentToken(auth.token),
    });
    const transport = new WebStandardStreamableHTTPServerTransport({ sessionIdGenerator: undefined });
    await server.connect(transport);
    return transport.handleRequest(c.req.raw);
  });
};
