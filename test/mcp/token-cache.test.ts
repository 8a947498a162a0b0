/**
 * Agent-side reuse of exchanged tokens (mcp-server/token-cache.ts) and the tool metadata
 * (annotations, no token in the text a model reads), through a real SDK `Client`
 * against a real broker: in process over `InMemoryTransport` (the broker's clock is the
 * test's), and at `/mcp` over Streamable HTTP on a live broker, where two callers of the
 * same client must never share a cached token.
 */
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { InMemoryTransport } from '@modelcontextprotocol/sdk/inMemory.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import type { CallToolResult } from '@modelcontextprotocol/sdk/types.js';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { HttpBrokerClient } from '../../mcp-server/http-broker-client.js';
import { InProcessBrokerClient } from '../../mcp-server/in-process-broker-client.js';
import { buildServer } from '../../mcp-server/server.js';
import { TokenCache } from '../../mcp-server/token-cache.js';
import { fixedAgentToken } from '../../mcp-server/tool-deps.js';
import {
  API,
  basic,
  makeBroker,
  SECRETS,
  toBody,
  withAudience,
  type TestBroker,
} from '../helpers.js';
import { startLiveBroker, type LiveBroker } from './live-broker.js';

type Call = (name: string, args: Record<string, unknown>) => Promise<CallToolResult>;

/** Three base64url segments: what a JWT looks like anywhere in a text. */
const JWT = /[A-Za-z0-9_-]{10,}\.[A-Za-z0-9_-]{10,}\.[A-Za-z0-9_-]{10,}/;

const text = (r: CallToolResult) =>
  r.content.map((c) => (c.type === 'text' ? c.text : '')).join('\n');
const out = (r: CallToolResult) =>
  r.structuredContent as Record<string, unknown> & {
    access_token: string;
    jti: string;
    expires_in: number;
  };

describe('token cache and tool metadata, broker in process', () => {
  let b: TestBroker;
  let alice: string;
  const clients: Client[] = [];

  beforeEach(async () => {
    b = await makeBroker();
    alice = await b.idp.sign({ sub: 'alice' });
  });
  afterEach(async () => {
    for (const c of clients.splice(0)) await c.close();
    await b.close();
  });

  async function agent(clientId: string, own: string, tokens?: TokenCache): Promise<Call> {
    const server = buildServer({
      broker: new InProcessBrokerClient(b.deps, b.deps.policy.clients.get(clientId)!),
      agentToken: fixedAgentToken(own),
      tokens: tokens ?? new TokenCache({ nowSeconds: b.deps.now }),
    });
    const [clientSide, serverSide] = InMemoryTransport.createLinkedPair();
    await server.connect(serverSide);
    const client = new Client({ name: `${clientId}-agent`, version: '1.0.0' });
    await client.connect(clientSide);
    clients.push(client);
    return async (name, args) =>
      (await client.callTool({ name, arguments: args })) as CallToolResult;
  }

  /** Rows the ledger holds for alice's tokens acted on by `clientId`. */
  const ledgerRows = async (clientId: string) =>
    (await b.deps.store.listTokens({ sub: 'alice', clientId, limit: 1000 })).length;

  it('returns the same token for the same request without a second exchange, and a new one for another request', async () => {
    const call = await agent('planner', alice);
    const ask = { audience: API, scope: 'trips:read trips:book', lifetime_seconds: 300 };
    const first = await call('get_task_token', ask);
    expect(first.isError, text(first)).toBeFalsy();
    expect(await ledgerRows('planner')).toBe(1);

    b.clock.now += 10;
    // Same sets in another order and spelling: the same request.
    const again = await call('get_task_token', { ...ask, scope: 'trips:book  trips:read' });
    expect(again.isError, text(again)).toBeFalsy();
    expect(out(again).access_token).toBe(out(first).access_token);
    expect(out(again).expires_in).toBe(out(first).expires_in - 10);
    expect(await ledgerRows('planner')).toBe(1);

    const narrower = await call('get_task_token', { ...ask, scope: 'trips:read' });
    expect(out(narrower).jti).not.toBe(out(first).jti);
    const otherLifetime = await call('get_task_token', { ...ask, lifetime_seconds: 200 });
    expect(out(otherLifetime).jti).not.toBe(out(first).jti);
    expect(await ledgerRows('planner')).toBe(3);
  });

  it('shares one exchange between identical calls made at the same time', async () => {
    const call = await agent('planner', alice);
    const ask = { audience: API, scope: 'trips:read' };
    const [one, two, three] = await Promise.all([
      call('get_task_token', ask),
      call('get_task_token', ask),
      call('get_task_token', ask),
    ]);
    expect(out(two!).jti).toBe(out(one!).jti);
    expect(out(three!).jti).toBe(out(one!).jti);
    expect(await ledgerRows('planner')).toBe(1);
  });

  it('re-exchanges once a cached token is inside its refresh margin (30 s or a tenth of its life)', async () => {
    const call = await agent('planner', alice);
    const ask = { audience: API, scope: 'trips:read', lifetime_seconds: 600 };
    const first = await call('get_task_token', ask);
    b.clock.now += 539; // 61 s left, margin 60: still handed out
    expect(out(await call('get_task_token', ask)).jti).toBe(out(first).jti);
    b.clock.now += 1; // 60 s left: replaced
    const fresh = await call('get_task_token', ask);
    expect(fresh.isError, text(fresh)).toBeFalsy();
    expect(out(fresh).jti).not.toBe(out(first).jti);
    expect(await ledgerRows('planner')).toBe(2);
  });

  it('drops what it cached when revoke_token revokes it or an ancestor', async () => {
    const call = await agent('planner', alice);
    const ask = { audience: API, scope: 'trips:read' };
    const first = out(await call('get_task_token', ask));
    const revoked = await call('revoke_token', { token: first.access_token });
    expect(revoked.structuredContent).toMatchObject({ revoked: true });
    const next = await call('get_task_token', ask);
    expect(next.isError, text(next)).toBeFalsy();
    expect(out(next).jti).not.toBe(first.jti);

    // A hand-off, a task token exchanged from it, then the hand-off revoked: the task token is a descendant.
    const handoff = out(
      await call('delegate_to_agent', { agent_id: 'booker', scope: 'trips:read' }),
    );
    const task = out(await call('get_task_token', { ...ask, subject_token: handoff.access_token }));
    await call('revoke_token', { token: handoff.access_token });
    const after = await call('get_task_token', { ...ask, subject_token: handoff.access_token });
    expect(after.isError).toBe(true);
    expect(text(after)).toContain('the subject token has been revoked');
    expect(text(after)).not.toContain(task.access_token);
  });

  it('never hands out a token revoked through another path: each hit is checked against the ledger', async () => {
    const planner = await agent('planner', alice);
    const handoff = out(
      await planner('delegate_to_agent', { agent_id: 'booker', scope: 'flights:book' }),
    );
    const booker = await agent('booker', handoff.access_token);
    const ask = { audience: API, scope: 'flights:book' };
    const task = out(await booker('get_task_token', ask));
    expect(out(await booker('get_task_token', ask)).jti).toBe(task.jti);
    expect(await ledgerRows('booker')).toBe(1);

    // planner revokes its hand-off in its own session: booker's cache has not been told.
    await planner('revoke_token', { token: handoff.access_token });
    const res = await booker('get_task_token', ask);
    expect(res.isError).toBe(true);
    expect(text(res)).toContain('the subject token has been revoked');
  });

  it('keeps at most maxEntries tokens, dropping the least recently used', async () => {
    const tokens = new TokenCache({ nowSeconds: b.deps.now, maxEntries: 2 });
    const call = await agent('planner', alice, tokens);
    const a = out(await call('get_task_token', { audience: API, scope: 'trips:read' }));
    const c = out(await call('get_task_token', { audience: API, scope: 'trips:book' }));
    // Touch a, so c is the oldest when a third comes in.
    expect(out(await call('get_task_token', { audience: API, scope: 'trips:read' })).jti).toBe(
      a.jti,
    );
    await call('get_task_token', { audience: API, scope: 'trips:read trips:book' });
    expect(tokens.size).toBe(2);
    expect(out(await call('get_task_token', { audience: API, scope: 'trips:read' })).jti).toBe(
      a.jti,
    );
    expect(out(await call('get_task_token', { audience: API, scope: 'trips:book' })).jti).not.toBe(
      c.jti,
    );
  });

  it('lists tool annotations a client can act on', async () => {
    await agent('planner', alice);
    const { tools } = await clients[0]!.listTools();
    const by = Object.fromEntries(tools.map((t) => [t.name, t.annotations]));
    expect(by.inspect_token).toMatchObject({ readOnlyHint: true, openWorldHint: false });
    expect(by.audit_chain).toMatchObject({ readOnlyHint: true, openWorldHint: false });
    expect(by.revoke_token).toMatchObject({ destructiveHint: true, readOnlyHint: false });
    expect(by.get_task_token).toMatchObject({ readOnlyHint: false, destructiveHint: false });
    expect(by.delegate_to_agent).toMatchObject({ readOnlyHint: false, destructiveHint: false });
    expect(by.request_approval).toMatchObject({ openWorldHint: true });
    for (const t of tools) expect(t.annotations?.title, t.name).toBe(t.title);
  });

  it('keeps the token out of the text a model reads, and in structuredContent', async () => {
    const call = await agent('planner', alice);
    const task = await call('get_task_token', { audience: API, scope: 'trips:read' });
    const handoff = await call('delegate_to_agent', { agent_id: 'booker', scope: 'trips:read' });
    for (const res of [task, handoff]) {
      expect(res.isError, text(res)).toBeFalsy();
      expect(text(res)).not.toMatch(JWT);
      expect(out(res).access_token).toMatch(new RegExp(`^${JWT.source}$`));
      expect(text(res)).toContain(`jti ${out(res).jti}`);
      expect(text(res)).toContain('structured result (access_token)');
    }
    expect(text(task)).toContain('planner acting for alice');
    expect(text(handoff)).toContain('audience: agent:booker');
  });

  it('lets a model name a token it was given by its jti, and only its own', async () => {
    const planner = await agent('planner', alice);
    const handoff = out(
      await planner('delegate_to_agent', { agent_id: 'booker', scope: 'flights:book' }),
    );
    const inspected = await planner('inspect_token', { jti: handoff.jti });
    expect(inspected.isError, text(inspected)).toBeFalsy();
    expect(inspected.structuredContent).toMatchObject({ active: true, jti: handoff.jti });

    const task = await planner('get_task_token', {
      audience: API,
      scope: 'flights:book',
      subject_jti: handoff.jti,
    });
    expect(task.isError, text(task)).toBeFalsy();
    // Exchanged from the hand-off, not from planner's own token.
    expect((await b.deps.store.getToken(out(task).jti))?.parentJti).toBe(handoff.jti);

    // Another agent's tools were never given it.
    const booker = await agent('booker', alice);
    const foreign = await booker('revoke_token', { jti: handoff.jti });
    expect(foreign.isError).toBe(true);
    expect(text(foreign)).toContain(`no token with jti ${handoff.jti} was issued to you`);

    const revoked = await planner('revoke_token', { jti: handoff.jti });
    expect(revoked.structuredContent).toMatchObject({ revoked: true, jti: handoff.jti });
    const both = await planner('inspect_token', { jti: handoff.jti, token: handoff.access_token });
    expect(text(both)).toBe('Give exactly one of token or jti.');
  });
});

describe('token cache at /mcp: per caller', () => {
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

  async function bearer(): Promise<string> {
    const res = await fetch(`${broker.url}/token`, {
      method: 'POST',
      headers: {
        authorization: basic('planner'),
        'content-type': 'application/x-www-form-urlencoded',
      },
      body: toBody({ grant_type: 'client_credentials', audience: mcp }),
    });
    expect(res.status).toBe(200);
    return ((await res.json()) as { access_token: string }).access_token;
  }

  async function session(token: string): Promise<{ call: Call; close: () => Promise<void> }> {
    const client = new Client({ name: 'cache-test-agent', version: '1.0.0' });
    await client.connect(
      new StreamableHTTPClientTransport(new URL(mcp), {
        requestInit: { headers: { Authorization: `Bearer ${token}` } },
      }),
    );
    return {
      call: async (name, args) =>
        (await client.callTool({ name, arguments: args })) as CallToolResult,
      close: () => client.close(),
    };
  }

  it('reuses a token for one caller and never gives it to another caller of the same client', async () => {
    const alice = await broker.idp.sign({ sub: 'alice' });
    const one = await session(await bearer());
    const two = await session(await bearer());
    try {
      const ask = { audience: API, scope: 'trips:read', subject_token: alice };
      const a1 = await one.call('get_task_token', ask);
      expect(a1.isError, text(a1)).toBeFalsy();
      const a2 = await one.call('get_task_token', ask);
      expect(out(a2).jti).toBe(out(a1).jti);
      const b1 = await two.call('get_task_token', ask);
      expect(b1.isError, text(b1)).toBeFalsy();
      expect(out(b1).jti).not.toBe(out(a1).jti);
      expect(out(await two.call('get_task_token', ask)).jti).toBe(out(b1).jti);
      const rows = await broker.deps.store.listTokens({
        sub: 'alice',
        clientId: 'planner',
        limit: 100,
      });
      expect(rows.map((r) => r.jti).sort()).toEqual([out(a1).jti, out(b1).jti].sort());
      expect(text(a1)).not.toMatch(JWT);
    } finally {
      await one.close();
      await two.close();
    }
  });
});

describe('token cache over HTTP (what baton-mcp uses)', () => {
  let broker: LiveBroker;
  beforeAll(async () => {
    broker = await startLiveBroker();
  });
  afterAll(async () => {
    await broker.close();
  });

  it('trusts a hit for at most recheckSeconds, then introspects and replaces a token revoked elsewhere', async () => {
    const alice = await broker.idp.sign({ sub: 'alice' });
    let skew = 0;
    const server = buildServer({
      broker: new HttpBrokerClient({
        url: broker.url,
        credentials: {
          method: 'client_secret_basic',
          clientId: 'planner',
          secret: SECRETS.planner!,
        },
      }),
      agentToken: fixedAgentToken(alice),
      tokens: new TokenCache({
        nowSeconds: () => Math.floor(Date.now() / 1000) + skew,
        recheckSeconds: 30,
      }),
    });
    const [clientSide, serverSide] = InMemoryTransport.createLinkedPair();
    await server.connect(serverSide);
    const client = new Client({ name: 'stdio-like-agent', version: '1.0.0' });
    await client.connect(clientSide);
    try {
      const call = async () =>
        out(
          (await client.callTool({
            name: 'get_task_token',
            arguments: { audience: API, scope: 'trips:read' },
          })) as CallToolResult,
        );
      const first = await call();
      // Revoked by another path (the console): the cache is not told.
      expect(await broker.deps.store.revokeCascade(first.jti, broker.deps.now())).toBe(1);
      skew = 29;
      expect((await call()).jti).toBe(first.jti); // the documented window
      skew = 31;
      const fresh = await call();
      expect(fresh.jti).not.toBe(first.jti);
      expect(await broker.deps.store.revokedAt(fresh.jti)).toBeNull();
    } finally {
      await client.close();
    }
  });
});
