/**
 * `request_approval` end to end (SPEC §6, §7) through a real SDK `Client` over
 * `InMemoryTransport`: once in process (`InProcessBrokerClient`, what `/mcp` uses) and
 * once over HTTP (`HttpBrokerClient`, what `baton-mcp` uses). The person's decision is a
 * store write made while the tool waits: the injected `sleep` makes it, and moves the
 * clocks, so nothing really sleeps.
 */
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { InMemoryTransport } from '@modelcontextprotocol/sdk/inMemory.js';
import type { CallToolResult, Progress } from '@modelcontextprotocol/sdk/types.js';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { approveRequest, denyRequest } from '../../broker/approvals/decide.js';
import type { BrokerDeps } from '../../broker/deps.js';
import type { BrokerClient } from '../../mcp-server/broker-client.js';
import { HttpBrokerClient } from '../../mcp-server/http-broker-client.js';
import { InProcessBrokerClient } from '../../mcp-server/in-process-broker-client.js';
import { buildServer } from '../../mcp-server/server.js';
import { fixedAgentToken } from '../../mcp-server/tool-deps.js';
import { API, CIBA, claimsOf, makeBroker, SECRETS, withApprovals } from '../helpers.js';
import { startLiveBroker } from './live-broker.js';

interface Setup {
  deps: BrokerDeps;
  broker: BrokerClient;
  /** Moves the broker's clock, where the test owns it. */
  advance(seconds: number): void;
  close(): Promise<void>;
}

const setups: Array<[string, () => Promise<Setup>]> = [
  [
    'in process',
    async () => {
      const b = await makeBroker({ policy: withApprovals });
      return {
        deps: b.deps,
        broker: new InProcessBrokerClient(b.deps, b.deps.policy.clients.get('planner')!),
        advance: (s) => {
          b.clock.now += s;
        },
        close: () => b.close(),
      };
    },
  ],
  [
    'over HTTP',
    async () => {
      const live = await startLiveBroker({ policy: (p) => withApprovals(p) });
      return {
        deps: live.deps,
        broker: new HttpBrokerClient({
          url: live.url,
          credentials: {
            method: 'client_secret_basic',
            clientId: 'planner',
            secret: SECRETS.planner!,
          },
        }),
        // The live broker runs on the real clock; an approved request is answered at once.
        advance: () => {},
        close: () => live.close(),
      };
    },
  ],
];

describe.each(setups)('request_approval, broker %s', (_name, makeSetup) => {
  let s: Setup;
  let client: Client;
  let slept: number[];
  /** Runs at each sleep of the wait loop, with its index: the person acting meanwhile. */
  let meanwhile: (sleep: number, signal: AbortSignal) => Promise<void>;

  beforeEach(async () => {
    s = await makeSetup();
    slept = [];
    meanwhile = async () => {};
    let ms = 0;
    const server = buildServer({
      broker: s.broker,
      agentToken: fixedAgentToken('unused'),
      clock: () => ms,
      sleep: async (wait, signal) => {
        slept.push(wait / 1000);
        ms += wait;
        s.advance(wait / 1000);
        await meanwhile(slept.length, signal);
        // As the real sleep does: an aborted MCP request ends the wait.
        signal.throwIfAborted();
      },
    });
    const [clientSide, serverSide] = InMemoryTransport.createLinkedPair();
    await server.connect(serverSide);
    client = new Client({ name: 'baton-test-agent', version: '1.0.0' });
    await client.connect(clientSide);
  });
  afterEach(async () => {
    await client.close();
    await s.close();
  });

  const pendingId = async () => {
    const [pending] = await s.deps.store.listPendingApprovals(s.deps.now(), 'alice');
    return pending!.authReqId;
  };

  async function call(
    args: Record<string, unknown>,
    progress: Progress[] = [],
  ): Promise<CallToolResult> {
    return (await client.callTool({ name: 'request_approval', arguments: args }, undefined, {
      onprogress: (p) => progress.push(p),
    })) as CallToolResult;
  }

  const text = (r: CallToolResult) =>
    r.content.map((c) => (c.type === 'text' ? c.text : '')).join('\n');
  const ASK = {
    user: 'alice',
    scope: 'trips:read trips:book',
    audience: API,
    reason: 'Book the Lisbon trip you asked for',
  };

  it('waits while the person decides and returns the token they approved, narrowed', async () => {
    meanwhile = async (n) => {
      if (n === 2)
        expect(
          (
            await approveRequest(s.deps.store, await pendingId(), {
              now: s.deps.now(),
              scope: 'trips:read',
            })
          ).ok,
        ).toBe(true);
    };
    const progress: Progress[] = [];
    const res = await call(ASK, progress);
    expect(res.isError, text(res)).toBeFalsy();
    const out = res.structuredContent as Record<string, unknown>;
    expect(out).toMatchObject({
      user: 'alice',
      sub: 'alice',
      actors: ['planner'],
      act: { sub: 'planner' },
      scope: 'trips:read',
      audience: [API],
    });
    expect(claimsOf(out.access_token)).toMatchObject({
      sub: 'alice',
      act: { sub: 'planner' },
      scope: 'trips:read',
      aud: API,
    });
    expect(text(res)).toMatch(/^Approved by alice: planner acting for alice\./);
    expect(slept).toEqual([5, 5]);
    expect(progress.map((p) => p.message)).toEqual([
      'waiting for alice to approve (0 s of 120 s)',
      'waiting for alice to approve (5 s of 120 s)',
    ]);
    expect((await s.deps.store.getToken(String(out.jti)))?.grantType).toBe(CIBA);
  });

  it('waits the whole timeout asked for, says so, and cancels the request nobody waits for any more', async () => {
    const res = await call({ ...ASK, timeout_seconds: 10 });
    expect(res).toMatchObject({ isError: true });
    expect(text(res)).toBe(
      'alice did not answer within 10 s. Ask again later, or with a longer timeout_seconds.',
    );
    expect(slept).toEqual([5, 5]);
    const [request] = await s.deps.store.exportApprovals({
      since: 0,
      until: 4_000_000_000,
      limit: 10,
    });
    expect(request).toMatchObject({ username: 'alice', status: 'cancelled' });
    expect(await s.deps.store.listPendingApprovals(s.deps.now())).toEqual([]);
  });

  it('cancels the request when the agent cancels its MCP request', async () => {
    const controller = new AbortController();
    meanwhile = async (n, signal) => {
      if (n !== 1) return;
      controller.abort();
      // The server hears of it through notifications/cancelled: wait for that event.
      await new Promise((resolve) => signal.addEventListener('abort', resolve, { once: true }));
    };
    await expect(
      client.callTool({ name: 'request_approval', arguments: ASK }, undefined, {
        signal: controller.signal,
      }),
    ).rejects.toThrow();
    await vi.waitFor(async () => {
      const [request] = await s.deps.store.exportApprovals({
        since: 0,
        until: 4_000_000_000,
        limit: 10,
      });
      expect(request?.status).toBe('cancelled');
    });
  });

  it('says the person denied it, as a tool error with what to do', async () => {
    meanwhile = async (n) => {
      if (n === 1)
        expect((await denyRequest(s.deps.store, await pendingId(), { now: s.deps.now() })).ok).toBe(
          true,
        );
    };
    const res = await call(ASK);
    expect(res.isError).toBe(true);
    expect(text(res)).toMatch(
      /^Baton refused to get alice's approval: access_denied \(the user denied the request\)\.\nThe person said no\. Do not ask again/,
    );
  });

  it('refuses a reason the person could not read safely before asking anyone', async () => {
    const res = await call({ ...ASK, reason: 'Book it\u202e' });
    expect(res.isError).toBe(true);
    expect(text(res)).toMatch(
      /^Baton refused to get alice's approval: invalid_binding_message \(binding_message must be printable text/,
    );
    expect(text(res)).toContain(
      'Give a reason of at most 100 characters of plain text, without line breaks or control characters.',
    );
    expect(await s.deps.store.listPendingApprovals(s.deps.now())).toEqual([]);
  });

  it.each([
    ['an escape sequence', 'bob\u001b[2J\u001b[H'],
    ['a bidi override', 'alice\u202E'],
    ['a line break', 'alice\nagent planner'],
    ['a leading dash', '-alice'],
  ])(
    "refuses a user name with %s before asking anyone, by the broker's username rule",
    async (_name, user) => {
      const res = await call({ ...ASK, user });
      expect(res.isError).toBe(true);
      expect(text(res)).toMatch(/Input validation error/);
      expect(text(res)).toContain(
        'must be a username: 1-128 characters of ASCII letters, digits and . _ @ + -, starting with a letter or digit',
      );
      expect(await s.deps.store.listPendingApprovals(s.deps.now())).toEqual([]);
    },
  );
});
