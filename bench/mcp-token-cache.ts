/**
 * What the MCP tools' token cache saves on a repeated `get_task_token` (issue 11 item 6).
 * A real broker listens on a free port (the test app, over a temp SQLite); then, with the
 * cache on and off:
 *
 * - stdio: a real `baton-mcp` process (`node bin/baton-mcp.js`, BATON_TOKEN_CACHE=on|off)
 *   driven by the SDK's stdio client, exchanging over HTTP as a desktop agent does;
 * - in process: the tools on `InProcessBrokerClient` (what `/mcp` runs), over the SDK's
 *   in-memory transport, the cache re-checking each hit against the ledger.
 *
 * Each makes CALLS identical calls after WARMUP, one after another, and prints the mean
 * and p50/p95 per call and how many ledger rows the run added.
 *
 *   npx tsx bench/mcp-token-cache.ts            # CALLS=200 WARMUP=20
 * @module
 */
import { fileURLToPath } from 'node:url';
import { performance } from 'node:perf_hooks';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { InMemoryTransport } from '@modelcontextprotocol/sdk/inMemory.js';
import {
  getDefaultEnvironment,
  StdioClientTransport,
} from '@modelcontextprotocol/sdk/client/stdio.js';
import type { CallToolResult } from '@modelcontextprotocol/sdk/types.js';
import { InProcessBrokerClient } from '../mcp-server/in-process-broker-client.js';
import { buildServer } from '../mcp-server/server.js';
import { TokenCache } from '../mcp-server/token-cache.js';
import { fixedAgentToken } from '../mcp-server/tool-deps.js';
import { API, SECRETS } from '../test/helpers.js';
import { startLiveBroker, type LiveBroker } from '../test/mcp/live-broker.js';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const CALLS = Number(process.env.CALLS ?? 200);
const WARMUP = Number(process.env.WARMUP ?? 20);
const ASK = { audience: API, scope: 'trips:read', lifetime_seconds: 600 };

async function run(label: string, client: Client, broker: LiveBroker): Promise<number> {
  const call = async () => {
    const res = (await client.callTool({
      name: 'get_task_token',
      arguments: ASK,
    })) as CallToolResult;
    if (res.isError) throw new Error(`${label}: get_task_token failed`);
  };
  for (let i = 0; i < WARMUP; i++) await call();
  const rows = async () =>
    (await broker.deps.store.listTokens({ sub: 'alice', limit: 100_000 })).length;
  const before = await rows();
  const times: number[] = [];
  const start = performance.now();
  for (let i = 0; i < CALLS; i++) {
    const t = performance.now();
    await call();
    times.push(performance.now() - t);
  }
  const total = performance.now() - start;
  times.sort((a, b) => a - b);
  const at = (q: number) => times[Math.min(times.length - 1, Math.floor(q * times.length))]!;
  const mean = total / CALLS;
  console.log(
    `| ${label.padEnd(28)} | ${mean.toFixed(2).padStart(7)} | ${at(0.5).toFixed(2).padStart(7)} | ${at(0.95).toFixed(2).padStart(7)} | ${String((await rows()) - before).padStart(11)} |`,
  );
  return mean;
}

async function stdioClient(broker: LiveBroker, alice: string, cache: 'on' | 'off') {
  const client = new Client({ name: 'bench-agent', version: '1.0.0' });
  await client.connect(
    new StdioClientTransport({
      command: process.execPath,
      args: ['bin/baton-mcp.js'],
      cwd: ROOT,
      env: {
        ...getDefaultEnvironment(),
        BATON_URL: broker.url,
        BATON_CLIENT_ID: 'planner',
        BATON_CLIENT_SECRET: SECRETS.planner!,
        BATON_SUBJECT_TOKEN: alice,
        BATON_TOKEN_CACHE: cache,
      },
      stderr: 'ignore',
    }),
  );
  return client;
}

async function inProcessClient(broker: LiveBroker, alice: string, cache: boolean) {
  const server = buildServer({
    broker: new InProcessBrokerClient(broker.deps, broker.deps.policy.clients.get('planner')!),
    agentToken: fixedAgentToken(alice),
    ...(cache ? { tokens: new TokenCache() } : {}),
  });
  const [clientSide, serverSide] = InMemoryTransport.createLinkedPair();
  await server.connect(serverSide);
  const client = new Client({ name: 'bench-agent', version: '1.0.0' });
  await client.connect(clientSide);
  return client;
}

const broker = await startLiveBroker();
try {
  const alice = await broker.idp.sign({ sub: 'alice' });
  console.log(
    `${CALLS} identical get_task_token calls after ${WARMUP} warm-up calls, one at a time`,
  );
  console.log('');
  console.log('| setup                        | mean ms |  p50 ms |  p95 ms | ledger rows |');
  console.log('| ---------------------------- | ------: | ------: | ------: | ----------: |');
  const means: Record<string, number> = {};
  for (const cache of ['off', 'on'] as const) {
    const client = await stdioClient(broker, alice, cache);
    try {
      means[`stdio ${cache}`] = await run(`stdio (baton-mcp), cache ${cache}`, client, broker);
    } finally {
      await client.close();
    }
  }
  for (const cache of [false, true]) {
    const client = await inProcessClient(broker, alice, cache);
    try {
      means[`in-process ${cache ? 'on' : 'off'}`] = await run(
        `in process (/mcp), cache ${cache ? 'on' : 'off'}`,
        client,
        broker,
      );
    } finally {
      await client.close();
    }
  }
  console.log('');
  for (const where of ['stdio', 'in-process']) {
    const off = means[`${where} off`]!;
    const on = means[`${where} on`]!;
    console.log(
      `${where}: ${((1 - on / off) * 100).toFixed(0)}% less time per call (${(off / on).toFixed(1)}x)`,
    );
  }
} finally {
  await broker.close();
}
