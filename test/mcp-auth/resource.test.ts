/**
 * SPEC §8, the resource side of `/mcp`, through the real app: RFC 9728 metadata at both
 * well-known paths naming the `mcp_clients` scopes, the RFC 6750 §3 challenge a client
 * follows (the path-suffixed metadata URL, the scopes to ask for, `invalid_token` only
 * when a token was sent), and 403 `insufficient_scope` for a token that holds none of
 * its client's scopes.
 */
import { afterEach, describe, expect, it } from 'vitest';
import {
  clientToken,
  closeBroker,
  ISSUER,
  listTools,
  openBroker,
  policyFile,
  toolNames,
  type ResourceBroker,
} from './resource-broker.js';

const MCP = `${ISSUER}/mcp`;
const METADATA_URL = `${ISSUER}/.well-known/oauth-protected-resource/mcp`;
const ALL_SCOPES = 'flights:book trips:book trips:read';

let opened: Array<[ResourceBroker, boolean]> = [];
async function open(...args: Parameters<typeof openBroker>) {
  const b = await openBroker(...args);
  opened.push([b, args[1]?.dir === undefined]);
  return b;
}
afterEach(async () => {
  // Brokers sharing a directory close before the one that made it removes it.
  for (const [b, owns] of opened.reverse()) await closeBroker(b, owns);
  opened = [];
});

describe('RFC 9728 protected resource metadata for /mcp', () => {
  it('is served at the path-suffixed and the root well-known URLs, naming the issuer and the MCP scopes', async () => {
    const b = await open(await policyFile());
    for (const path of [
      '/.well-known/oauth-protected-resource/mcp',
      '/.well-known/oauth-protected-resource',
    ]) {
      const res = await b.app.request(path);
      expect(res.status).toBe(200);
      expect(res.headers.get('content-type')).toMatch(/^application\/json/);
      expect(await res.json()).toEqual({
        resource: MCP,
        authorization_servers: [ISSUER],
        bearer_methods_supported: ['header'],
        scopes_supported: ALL_SCOPES.split(' '),
        resource_name: 'Baton MCP tools',
      });
    }
  });

  it('lists mcp_clients.scopes when the policy narrows them', async () => {
    const b = await open(
      await policyFile((p) => ({ ...p, mcp_clients: { scopes: ['trips:read'] } })),
    );
    const res = await b.app.request('/.well-known/oauth-protected-resource/mcp');
    expect(((await res.json()) as { scopes_supported: string[] }).scopes_supported).toEqual([
      'trips:read',
    ]);
  });
});

describe('the /mcp challenge (RFC 6750 §3)', () => {
  it('without a token: 401, resource_metadata and scope, no error code; the URL it names is the metadata', async () => {
    const b = await open(await policyFile());
    const res = await listTools(b, undefined);
    expect(res.status).toBe(401);
    expect(res.headers.get('cache-control')).toBe('no-store');
    const challenge = res.headers.get('www-authenticate')!;
    expect(challenge).toBe(`Bearer resource_metadata="${METADATA_URL}", scope="${ALL_SCOPES}"`);
    // What a client does next: fetch the URL the challenge names.
    const named = /resource_metadata="([^"]+)"/.exec(challenge)![1]!;
    const metadata = await b.app.request(named.slice(ISSUER.length));
    expect(((await metadata.json()) as { resource: string }).resource).toBe(MCP);
  });

  it('with a bad token: 401 error="invalid_token", the same pointers', async () => {
    const b = await open(await policyFile());
    const res = await listTools(b, 'not-a-token');
    expect(res.status).toBe(401);
    expect(res.headers.get('www-authenticate')).toBe(
      `Bearer resource_metadata="${METADATA_URL}", scope="${ALL_SCOPES}", error="invalid_token", error_description="the token is not active"`,
    );
    expect(await res.json()).toEqual({
      error: 'invalid_token',
      error_description: 'the token is not active',
    });
  });

  it('leaves scope out when the policy gives MCP clients none', async () => {
    const b = await open(await policyFile((p) => ({ ...p, mcp_clients: { scopes: [] } })));
    const res = await listTools(b, undefined);
    expect(res.headers.get('www-authenticate')).toBe(`Bearer resource_metadata="${METADATA_URL}"`);
  });

  it('a token for /mcp alone with a scope of its client passes to the tools', async () => {
    const b = await open(await policyFile());
    const token = await clientToken(b, 'planner', { scope: 'trips:read' });
    expect(await toolNames(await listTools(b, token))).toHaveLength(6);
  });
});

describe('403 insufficient_scope', () => {
  it('refuses a token holding none of the scopes its client may now use, naming those scopes', async () => {
    // planner's token carries trips:read; then the operator narrows planner to flights:book.
    const first = await open(await policyFile());
    const token = await clientToken(first, 'planner', { scope: 'trips:read' });
    const narrowed = await policyFile((p) => ({
      ...p,
      clients: p.clients.map((c) =>
        c.client_id === 'planner' ? { ...c, scopes: ['flights:book'] } : c,
      ),
    }));
    const later = await open(narrowed, { dir: first.dir });
    const res = await listTools(later, token);
    expect(res.status).toBe(403);
    expect(res.headers.get('www-authenticate')).toBe(
      `Bearer resource_metadata="${METADATA_URL}", error="insufficient_scope", scope="flights:book", error_description="the token holds none of the scopes the MCP tools can use for this client"`,
    );
    expect(await res.json()).toEqual({
      error: 'insufficient_scope',
      error_description: 'the token holds none of the scopes the MCP tools can use for this client',
    });
    // A token holding one scope the client still has passes.
    const mixed = await clientToken(first, 'planner', { scope: 'trips:read flights:book' });
    expect(await toolNames(await listTools(later, mixed))).toHaveLength(6);
  });

  it('does not refuse the bare token of a client that may hold no scopes', async () => {
    const b = await open(
      await policyFile((p) => ({
        ...p,
        clients: p.clients.map((c) => (c.client_id === 'booker' ? { ...c, scopes: [] } : c)),
      })),
    );
    const bare = await clientToken(b, 'booker');
    expect(await toolNames(await listTools(b, bare))).toHaveLength(6);
  });
});
