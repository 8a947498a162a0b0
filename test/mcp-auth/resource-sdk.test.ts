/**
 * The MCP SDK's own client code (unmodified) reads what `/mcp` says: it finds the
 * metadata URL and the scope in the 401 and 403 challenges, and discovers and validates
 * the RFC 9728 metadata the way `auth()` does before it looks for an authorization server.
 */
import {
  discoverOAuthProtectedResourceMetadata,
  extractWWWAuthenticateParams,
} from '@modelcontextprotocol/sdk/client/auth.js';
import { afterEach, describe, expect, it } from 'vitest';
import {
  clientToken,
  closeBroker,
  ISSUER,
  listTools,
  openBroker,
  policyFile,
  type ResourceBroker,
} from './resource-broker.js';

const MCP = `${ISSUER}/mcp`;

let opened: Array<[ResourceBroker, boolean]> = [];
afterEach(async () => {
  for (const [b, owns] of opened.reverse()) await closeBroker(b, owns);
  opened = [];
});
async function open(...args: Parameters<typeof openBroker>) {
  const b = await openBroker(...args);
  opened.push([b, args[1]?.dir === undefined]);
  return b;
}

/** The SDK's `FetchLike`, answered by the app itself. */
const fetchFrom = (b: ResourceBroker) => (url: string | URL, init?: RequestInit) =>
  Promise.resolve(b.app.request(String(url), init));

describe('the MCP SDK client reads /mcp', () => {
  it('takes the metadata URL and scope from the 401, then discovers and validates the metadata', async () => {
    const b = await open(await policyFile());
    const challenge = extractWWWAuthenticateParams(await listTools(b, undefined));
    expect({
      resourceMetadataUrl: challenge.resourceMetadataUrl?.href,
      scope: challenge.scope,
      error: challenge.error,
    }).toEqual({
      resourceMetadataUrl: `${ISSUER}/.well-known/oauth-protected-resource/mcp`,
      scope: 'flights:book trips:book trips:read',
      error: undefined,
    });
    const named = await discoverOAuthProtectedResourceMetadata(
      MCP,
      { resourceMetadataUrl: challenge.resourceMetadataUrl! },
      fetchFrom(b),
    );
    // Without the challenge, the SDK probes the well-known paths itself.
    const probed = await discoverOAuthProtectedResourceMetadata(MCP, {}, fetchFrom(b));
    for (const metadata of [named, probed]) {
      expect(metadata.resource).toBe(MCP);
      expect(metadata.authorization_servers).toEqual([ISSUER]);
      expect(metadata.scopes_supported).toEqual(['flights:book', 'trips:book', 'trips:read']);
    }
  });

  it('reads error and scope from a 403 insufficient_scope (the scope step-up it would ask for)', async () => {
    const first = await open(await policyFile());
    const token = await clientToken(first, 'planner', { scope: 'trips:read' });
    const later = await open(
      await policyFile((p) => ({
        ...p,
        clients: p.clients.map((c) =>
          c.client_id === 'planner' ? { ...c, scopes: ['flights:book'] } : c,
        ),
      })),
      { dir: first.dir },
    );
    const res = await listTools(later, token);
    expect(res.status).toBe(403);
    const challenge = extractWWWAuthenticateParams(res);
    expect({ error: challenge.error, scope: challenge.scope }).toEqual({
      error: 'insufficient_scope',
      scope: 'flights:book',
    });
  });
});
