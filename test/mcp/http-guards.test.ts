/**
 * What `/mcp` refuses before any tool runs, and how it serves many callers with one MCP
 * server, through the real app (`app.request`) on a temp SQLite:
 * - a browser from another origin (`Origin`, `Origin: null`) is 403 (MCP transports,
 *   Streamable HTTP security warning), and on a loopback broker a foreign `Host` (DNS
 *   rebinding) is 403;
 * - a token for `/mcp` *and* another audience is 401 `invalid_token` (RFC 8707 binding);
 * - the MCP server is built once, and concurrent callers each act as themselves.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { Hono } from 'hono';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createApp } from '../../broker/app.js';
import { buildDeps } from '../../broker/build.js';
import { parsePolicy, type PolicyFile } from '../../broker/config/policy.js';
import { openStore } from '../../broker/store/open-store.js';
import type { Store } from '../../broker/store/store.js';
import { createMcpMount, mountMcp } from '../../mcp-server/http.js';
import { buildServer } from '../../mcp-server/server.js';
import { API, basic, ISSUER, makeIdp, testPolicy, toBody } from '../helpers.js';

/** The test policy with `${issuer}/mcp` allowed to planner and booker. */
const withMcp =
  (issuer: string) =>
  (p: PolicyFile): PolicyFile => ({
    ...p,
    clients: p.clients.map((c) =>
      c.client_id === 'planner' || c.client_id === 'booker'
        ? { ...c, audiences: [...(c.audiences ?? []), `${issuer}/mcp`] }
        : c,
    ),
  });

interface Broker {
  app: Hono;
  issuer: string;
  store: Store;
  dir: string;
}

async function broker(issuer: string, mount = mountMcp): Promise<Broker> {
  const dir = mkdtempSync(path.join(tmpdir(), 'baton-mcp-guards-'));
  const now = () => Math.floor(Date.now() / 1000);
  const idp = await makeIdp(now);
  const store = await openStore({ dbFile: path.join(dir, 'baton.db'), synchronous: 'FULL' });
  const deps = await buildDeps({
    issuer,
    policy: parsePolicy(withMcp(issuer)(testPolicy(idp.jwk)), issuer),
    store,
    now,
  });
  return { app: createApp(deps, [mount]), issuer, store, dir };
}

let opened: Broker[] = [];
async function open(issuer: string, mount = mountMcp): Promise<Broker> {
  const b = await broker(issuer, mount);
  opened.push(b);
  return b;
}
beforeEach(() => {
  opened = [];
});
afterEach(async () => {
  for (const b of opened) {
    await b.store.close();
    rmSync(b.dir, { recursive: true, force: true });
  }
});

async function clientCredentials(
  b: Broker,
  client: string,
  audience: string | string[],
): Promise<string> {
  const res = await b.app.request('/token', {
    method: 'POST',
    headers: { authorization: basic(client), 'content-type': 'application/x-www-form-urlencoded' },
    body: toBody({ grant_type: 'client_credentials', audience }),
  });
  expect(res.status).toBe(200);
  return ((await res.json()) as { access_token: string }).access_token;
}

let rpcId = 0;
/** One JSON-RPC request to /mcp, as a Streamable HTTP client sends it. */
function mcpPost(
  b: Broker,
  token: string,
  method: string,
  params: Record<string, unknown> = {},
  headers: Record<string, string> = {},
) {
  return b.app.request('/mcp', {
    method: 'POST',
    headers: {
      authorization: `Bearer ${token}`,
      'content-type': 'application/json',
      accept: 'application/json, text/event-stream',
      'mcp-protocol-version': '2025-06-18',
      ...headers,
    },
    body: JSON.stringify({ jsonrpc: '2.0', id: ++rpcId, method, params }),
  });
}

/** The JSON-RPC result in an SSE answer. */
async function result(res: Response): Promise<Record<string, unknown>> {
  expect(res.status).toBe(200);
  const data = (await res.text()).split('\n').find((l) => l.startsWith('data: '));
  const message = JSON.parse(data!.slice('data: '.length)) as {
    result?: Record<string, unknown>;
    error?: unknown;
  };
  expect(message.error).toBeUndefined();
  return message.result!;
}

const FORBIDDEN_ORIGIN = {
  error: 'access_denied',
  error_description: 'requests from this Origin are not allowed at /mcp',
};
const FORBIDDEN_HOST = {
  error: 'access_denied',
  error_description: 'this broker listens on a loopback address and takes only a loopback Host',
};

describe('/mcp and browsers from other origins', () => {
  it('refuses a foreign Origin and Origin null with 403, even with a good token', async () => {
    const b = await open(ISSUER);
    const token = await clientCredentials(b, 'planner', `${ISSUER}/mcp`);
    for (const origin of [
      'http://evil.example',
      'null',
      'http://baton.test.evil.example',
      'https://baton.test',
      'http://baton.test:8080',
    ]) {
      const res = await mcpPost(b, token, 'tools/list', {}, { origin });
      expect({
        origin,
        status: res.status,
        cache: res.headers.get('cache-control'),
        body: await res.json(),
      }).toEqual({
        origin,
        status: 403,
        cache: 'no-store',
        body: FORBIDDEN_ORIGIN,
      });
    }
  });

  it("serves the issuer's own origin, and clients that send no Origin", async () => {
    const b = await open(ISSUER);
    const token = await clientCredentials(b, 'planner', `${ISSUER}/mcp`);
    expect(
      (await result(await mcpPost(b, token, 'tools/list', {}, { origin: ISSUER }))).tools,
    ).toHaveLength(6);
    expect((await result(await mcpPost(b, token, 'tools/list'))).tools).toHaveLength(6);
  });

  it('serves an origin the operator allowed', async () => {
    const b = await open(ISSUER, createMcpMount({ allowedOrigins: ['https://inspector.example'] }));
    const token = await clientCredentials(b, 'planner', `${ISSUER}/mcp`);
    expect(
      (
        await result(
          await mcpPost(b, token, 'tools/list', {}, { origin: 'https://inspector.example' }),
        )
      ).tools,
    ).toHaveLength(6);
    expect(
      (await mcpPost(b, token, 'tools/list', {}, { origin: 'https://other.example' })).status,
    ).toBe(403);
  });
});

describe('/mcp on a loopback broker and DNS rebinding', () => {
  const LOOPBACK = 'http://127.0.0.1:8787';

  it('refuses a Host that is not a loopback name with 403', async () => {
    const b = await open(LOOPBACK);
    const token = await clientCredentials(b, 'planner', `${LOOPBACK}/mcp`);
    for (const host of [
      'evil.example:8787',
      'evil.example',
      '127.0.0.1.nip.io:8787',
      'localhost.evil.example:8787',
    ]) {
      const res = await mcpPost(b, token, 'tools/list', {}, { host });
      expect({ host, status: res.status, body: await res.json() }).toEqual({
        host,
        status: 403,
        body: FORBIDDEN_HOST,
      });
    }
  });

  it('serves loopback Host names', async () => {
    const b = await open(LOOPBACK);
    const token = await clientCredentials(b, 'planner', `${LOOPBACK}/mcp`);
    for (const host of ['127.0.0.1:8787', 'localhost:8787', '[::1]:8787', 'localhost']) {
      expect({
        host,
        tools: (
          (await result(await mcpPost(b, token, 'tools/list', {}, { host }))).tools as unknown[]
        ).length,
      }).toEqual({
        host,
        tools: 6,
      });
    }
  });

  it('leaves Host alone when the issuer is not a loopback address (a proxy may front it)', async () => {
    const b = await open(ISSUER);
    const token = await clientCredentials(b, 'planner', `${ISSUER}/mcp`);
    expect(
      (await result(await mcpPost(b, token, 'tools/list', {}, { host: 'baton-internal:8787' })))
        .tools,
    ).toHaveLength(6);
  });
});

describe('/mcp takes only tokens for it alone (RFC 8707)', () => {
  it('refuses a token for /mcp and another API together with 401 invalid_token', async () => {
    const b = await open(ISSUER);
    const both = await clientCredentials(b, 'planner', [API, `${ISSUER}/mcp`]);
    const res = await mcpPost(b, both, 'tools/list');
    const description = `the token is for other audiences too; ${ISSUER}/mcp takes only a token for it alone`;
    expect({
      status: res.status,
      challenge: res.headers.get('www-authenticate'),
      body: await res.json(),
    }).toEqual({
      status: 401,
      challenge: `Bearer resource_metadata="${ISSUER}/.well-known/oauth-protected-resource/mcp", scope="flights:book trips:book trips:read", error="invalid_token", error_description="${description}"`,
      body: { error: 'invalid_token', error_description: description },
    });
    const alone = await clientCredentials(b, 'planner', `${ISSUER}/mcp`);
    expect((await result(await mcpPost(b, alone, 'tools/list'))).tools).toHaveLength(6);
  });
});

describe('one MCP server for many requests', () => {
  function counting() {
    const count = { built: 0 };
    const mount = createMcpMount({
      buildServer: (deps) => {
        count.built++;
        return buildServer(deps);
      },
    });
    return { count, mount };
  }

  it('builds the MCP server once for requests one after another', async () => {
    const { count, mount } = counting();
    const b = await open(ISSUER, mount);
    const token = await clientCredentials(b, 'planner', `${ISSUER}/mcp`);
    for (let i = 0; i < 5; i++) {
      expect((await result(await mcpPost(b, token, 'tools/list'))).tools).toHaveLength(6);
      const issued = await result(
        await mcpPost(b, token, 'tools/call', {
          name: 'get_task_token',
          arguments: { audience: API, scope: 'trips:read' },
        }),
      );
      expect(issued.structuredContent).toMatchObject({
        sub: 'planner',
        actors: [],
        audience: [API],
      });
    }
    expect(count.built).toBe(1);
  });

  it("does not reuse the server an initialize ran on, which keeps that client's capabilities", async () => {
    const { count, mount } = counting();
    const b = await open(ISSUER, mount);
    const token = await clientCredentials(b, 'planner', `${ISSUER}/mcp`);
    const init = await result(
      await mcpPost(b, token, 'initialize', {
        protocolVersion: '2025-06-18',
        capabilities: { sampling: {} },
        clientInfo: { name: 't', version: '1' },
      }),
    );
    expect(init.serverInfo).toMatchObject({ name: 'baton' });
    expect(count.built).toBe(1);
    for (let i = 0; i < 3; i++)
      expect((await result(await mcpPost(b, token, 'tools/list'))).tools).toHaveLength(6);
    expect(count.built).toBe(2);
  });

  it('serves concurrent callers each as themselves, and reuses the servers afterwards', async () => {
    const { count, mount } = counting();
    const b = await open(ISSUER, mount);
    const tokens = {
      planner: await clientCredentials(b, 'planner', `${ISSUER}/mcp`),
      booker: await clientCredentials(b, 'booker', `${ISSUER}/mcp`),
    };
    const call = async (client: 'planner' | 'booker') => {
      const issued = await result(
        await mcpPost(b, tokens[client], 'tools/call', {
          name: 'get_task_token',
          arguments: { audience: API, scope: 'trips:read' },
        }),
      );
      return (issued.structuredContent as { sub: string }).sub;
    };
    const callers = Array.from(
      { length: 12 },
      (_, i) => (i % 2 === 0 ? 'planner' : 'booker') as 'planner' | 'booker',
    );
    expect(await Promise.all(callers.map(call))).toEqual(callers);
    const afterBurst = count.built;
    expect(afterBurst).toBeGreaterThanOrEqual(1);
    expect(afterBurst).toBeLessThanOrEqual(callers.length);
    expect(await call('booker')).toBe('booker');
    expect(await call('planner')).toBe('planner');
    expect(count.built).toBe(afterBurst);
  });
});
