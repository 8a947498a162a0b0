/**
 * Streamable HTTP at `/mcp` on a running broker: RFC 9728 metadata, RFC 6750 challenges,
 * and one real MCP session (`StreamableHTTPClientTransport`) authenticated with a Baton
 * token whose audience is the MCP endpoint.
 */
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import type { CallToolResult } from '@modelcontextprotocol/sdk/types.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { API, basic, toBody, withAudience } from '../helpers.js';
import { startLiveBroker, type LiveBroker } from './live-broker.js';

describe('MCP over Streamable HTTP at /mcp', () => {
  let broker: LiveBroker;
  let mcp: string;
  beforeAll(async () => {
    broker = await startLiveBroker({
      policy: (p, issuer) => withAudience(p, 'planner', `${issuer}/mcp`),
    });
    mcp = `${broker.url}/mcp`;
  });
  afterAll(async () => {
    await broker.close();
  });

  async function clientCredentials(audience: string): Promise<string> {
    const res = await fetch(`${broker.url}/token`, {
      method: 'POST',
      headers: {
        authorization: basic('planner'),
        'content-type': 'application/x-www-form-urlencoded',
      },
      body: toBody({ grant_type: 'client_credentials', audience }),
    });
    expect(res.status).toBe(200);
    return ((await res.json()) as { access_token: string }).access_token;
  }

  const initialize = (authorization?: string) =>
    fetch(mcp, {
      method: 'POST',
      headers: {
        'content-type': 'application/json',
        accept: 'application/json, text/event-stream',
        ...(authorization === undefined ? {} : { authorization }),
      },
      body: JSON.stringify({
        jsonrpc: '2.0',
        id: 1,
        method: 'initialize',
        params: {
          protocolVersion: '2025-06-18',
          capabilities: {},
          clientInfo: { name: 't', version: '1' },
        },
      }),
    });

  it('serves RFC 9728 protected-resource metadata for /mcp', async () => {
    for (const path of [
      '/.well-known/oauth-protected-resource',
      '/.well-known/oauth-protected-resource/mcp',
    ]) {
      const res = await fetch(`${broker.url}${path}`);
      expect(res.status).toBe(200);
      expect(await res.json()).toEqual({
        resource: mcp,
        authorization_servers: [broker.url],
        bearer_methods_supported: ['header'],
        scopes_supported: ['flights:book', 'trips:book', 'trips:read'],
        resource_name: 'Baton MCP tools',
      });
    }
  });

  it('answers 401 with a resource_metadata challenge and no error code when no token is sent', async () => {
    const res = await initialize();
    expect(res.status).toBe(401);
    expect(res.headers.get('www-authenticate')).toBe(
      `Bearer resource_metadata="${broker.url}/.well-known/oauth-protected-resource/mcp", scope="flights:book trips:book trips:read"`,
    );
    expect(await res.json()).toEqual({
      error: 'invalid_token',
      error_description: `a Baton bearer token with audience ${mcp} is required`,
    });
  });

  it('answers 401 invalid_token for a token minted for another audience, or one that is not a token', async () => {
    const forApi = await clientCredentials(API);
    const wrongAud = await initialize(`Bearer ${forApi}`);
    expect(wrongAud.status).toBe(401);
    expect(wrongAud.headers.get('www-authenticate')).toBe(
      `Bearer resource_metadata="${broker.url}/.well-known/oauth-protected-resource/mcp", scope="flights:book trips:book trips:read", error="invalid_token", error_description="the token is not for ${mcp}"`,
    );
    const garbage = await initialize('Bearer not-a-token');
    expect(garbage.status).toBe(401);
    expect(await garbage.json()).toEqual({
      error: 'invalid_token',
      error_description: 'the token is not active',
    });
  });

  it('refuses a session without a token through the SDK client too', async () => {
    const client = new Client({ name: 'http-test-agent', version: '1.0.0' });
    await expect(
      client.connect(new StreamableHTTPClientTransport(new URL(mcp))),
    ).rejects.toMatchObject({
      code: 401,
      message: expect.stringContaining('a Baton bearer token with audience'),
    });
  });

  it('runs get_task_token in a session authenticated by a token for /mcp, exchanging that token', async () => {
    const bearer = await clientCredentials(mcp);
    const transport = new StreamableHTTPClientTransport(new URL(mcp), {
      requestInit: { headers: { Authorization: `Bearer ${bearer}` } },
    });
    const client = new Client({ name: 'http-test-agent', version: '1.0.0' });
    await client.connect(transport);
    try {
      expect((await client.listTools()).tools).toHaveLength(6);
      const own = (await client.callTool({
        name: 'get_task_token',
        arguments: { audience: API, scope: 'trips:read' },
      })) as CallToolResult;
      expect(own.isError).toBeFalsy();
      expect(own.structuredContent).toMatchObject({
        sub: 'planner',
        actors: [],
        scope: 'trips:read',
        audience: [API],
      });
      expect((own.structuredContent as { access_token: string }).access_token).not.toBe(bearer);

      const alice = await broker.idp.sign({ sub: 'alice' });
      const forAlice = (await client.callTool({
        name: 'delegate_to_agent',
        arguments: { agent_id: 'booker', scope: 'flights:book', subject_token: alice },
      })) as CallToolResult;
      expect(forAlice.structuredContent).toMatchObject({
        sub: 'alice',
        actors: ['planner'],
        audience: ['agent:booker'],
        agent_id: 'booker',
      });
    } finally {
      await client.close();
    }
  });

  it('stops accepting a bearer token once it is revoked', async () => {
    const bearer = await clientCredentials(mcp);
    expect((await initialize(`Bearer ${bearer}`)).status).toBe(200);
    const revoke = await fetch(`${broker.url}/revoke`, {
      method: 'POST',
      headers: {
        authorization: basic('planner'),
        'content-type': 'application/x-www-form-urlencoded',
      },
      body: toBody({ token: bearer }),
    });
    expect(revoke.status).toBe(200);
    const res = await initialize(`Bearer ${bearer}`);
    expect(res.status).toBe(401);
    expect(res.headers.get('www-authenticate')).toContain(
      'error="invalid_token", error_description="the token is not active"',
    );
  });
});
