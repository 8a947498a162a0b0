/**
 * `npm run demo`: the Baton story, end to end, with scripted agents (no LLM needed).
 *
 *   alice (a person) → trip-planner (agent) → flight-booker (agent) → airline API
 *
 * Each agent is an MCP client of the SDK talking to its own `baton-mcp` process over
 * stdio, as a desktop agent would. The airline API is a Hono app protected by
 * `baton/verify`. The demo starts the broker it needs on a temp database, stops
 * everything at the end, and exits 0 only if every step behaved as shown.
 *
 * It starts with a real approval: trip-planner asks alice through OpenID CIBA
 * (`request_approval`), and alice, at a terminal, approves with fewer scopes
 * (`npx baton approvals`, `npx baton approve <id> --scope ...`).
 * @module
 */
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { once } from 'node:events';
import { mkdtempSync, rmSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { serve, type ServerType } from '@hono/node-server';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StdioClientTransport } from '@modelcontextprotocol/sdk/client/stdio.js';
import { Hono } from 'hono';
import { requireDelegation, type DelegationVariables } from 'baton/verify';
import { AIRLINE_API, DEMO_CLIENTS } from '../broker/config/demo-policy.js';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const useColor = process.stdout.isTTY && !process.env.NO_COLOR;
const paint = (code: string) => (s: string) => (useColor ? `\x1b[${code}m${s}\x1b[0m` : s);
const bold = paint('1');
const dim = paint('2');
const green = paint('32');
const red = paint('31');

let failures = 0;
function step(title: string): void {
  console.log(`\n${bold(title)}`);
}
function show(text: string): void {
  console.log(text.replace(/^/gm, '   '));
}
function check(ok: boolean, what: string): void {
  if (!ok) failures++;
  console.log(`   ${ok ? green('✓') : red('✗')} ${what}`);
}

async function freePort(): Promise<number> {
  const server = net.createServer().listen(0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address() as net.AddressInfo;
  server.close();
  await once(server, 'close');
  return port;
}

/** Starts the broker exactly as `npm start` runs it, on a temp database. */
async function startBroker(
  dbFile: string,
  port: number,
  adminToken: string,
): Promise<ChildProcess> {
  const child = spawn(process.execPath, ['--import', 'tsx', 'broker/main.ts'], {
    cwd: ROOT,
    env: {
      ...process.env,
      PORT: String(port),
      HOST: '127.0.0.1',
      BATON_DB: dbFile,
      BATON_ADMIN_TOKEN: adminToken,
      BATON_POLICY: '',
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  child.stdout!.on('data', (b: Buffer) => (output += b.toString()));
  child.stderr!.on('data', (b: Buffer) => (output += b.toString()));
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(
      () => reject(new Error(`the broker did not start:\n${output}`)),
      30_000,
    );
    child.stdout!.on('data', () => {
      if (output.includes('listening on')) {
        clearTimeout(timer);
        resolve();
      }
    });
    child.once('exit', () => {
      clearTimeout(timer);
      reject(new Error(`the broker exited:\n${output}`));
    });
  });
  return child;
}

/** The mock airline API: books a flight for whoever the token says, with flights:book. */
function airlineApi(issuer: string): Hono<{ Variables: DelegationVariables }> {
  const app = new Hono<{ Variables: DelegationVariables }>();
  app.post(
    '/bookings',
    requireDelegation({
      issuer,
      audience: AIRLINE_API,
      scope: 'flights:book',
      maxDepth: 3,
      // Revocation takes effect at once: the API asks Baton about every token.
      introspect: { clientId: 'airline-api', clientSecret: DEMO_CLIENTS['airline-api'] },
    }),
    (c) => {
      const d = c.get('delegation');
      return c.json(
        { booking: `BA-${randomBytes(3).toString('hex').toUpperCase()}`, for: d.sub, by: d.actors },
        201,
      );
    },
  );
  return app;
}

type ToolResult = {
  isError?: boolean;
  content: Array<{ type: string; text?: string }>;
  structuredContent?: Record<string, unknown>;
};

/** An agent: an MCP client talking to its own `baton-mcp` over stdio. */
async function agent(
  name: string,
  brokerUrl: string,
  subjectToken?: string,
): Promise<{
  call: (tool: string, args: Record<string, unknown>) => Promise<ToolResult>;
  close: () => Promise<void>;
}> {
  const transport = new StdioClientTransport({
    command: process.execPath,
    args: [path.join(ROOT, 'bin/baton-mcp.js')],
    cwd: ROOT,
    env: {
      PATH: process.env.PATH ?? '',
      BATON_URL: brokerUrl,
      BATON_CLIENT_ID: name,
      BATON_CLIENT_SECRET: DEMO_CLIENTS[name as keyof typeof DEMO_CLIENTS],
      ...(subjectToken === undefined ? {} : { BATON_SUBJECT_TOKEN: subjectToken }),
    },
    stderr: 'pipe',
  });
  const client = new Client({ name: `${name}-agent`, version: '0.1.0' });
  await client.connect(transport);
  return {
    call: async (tool, args) =>
      (await client.callTool({ name: tool, arguments: args })) as ToolResult,
    close: () => client.close(),
  };
}

const text = (r: ToolResult) => r.content.map((c) => c.text ?? '').join('\n');
const claims = (token: string) =>
  JSON.parse(Buffer.from(token.split('.')[1]!, 'base64url').toString()) as Record<string, unknown>;

/** alice at a terminal: the operator CLI, on the broker's database. */
async function batonCli(dbFile: string, ...args: string[]): Promise<string> {
  const { stdout } = await promisify(execFile)(
    process.execPath,
    [path.join(ROOT, 'bin/baton.js'), ...args],
    {
      cwd: ROOT,
      env: { ...process.env, BATON_DB: dbFile },
    },
  );
  return stdout.trimEnd();
}

async function book(
  apiUrl: string,
  token: string,
): Promise<{ status: number; body: Record<string, unknown>; challenge: string | null }> {
  const res = await fetch(`${apiUrl}/bookings`, {
    method: 'POST',
    headers: { authorization: `Bearer ${token}` },
  });
  return {
    status: res.status,
    body: (await res.json()) as Record<string, unknown>,
    challenge: res.headers.get('www-authenticate'),
  };
}

async function main(): Promise<void> {
  const dir = mkdtempSync(path.join(tmpdir(), 'baton-demo-'));
  const dbFile = path.join(dir, 'baton.db');
  const port = await freePort();
  const brokerUrl = `http://127.0.0.1:${port}`;
  const cleanups: Array<() => Promise<unknown> | unknown> = [];
  try {
    console.log(bold('Baton demo: alice → trip-planner → flight-booker → airline API'));
    console.log(
      dim(
        `(broker on ${brokerUrl}, ledger in a temp folder; every agent is an MCP client of its own baton-mcp)`,
      ),
    );

    const broker = await startBroker(dbFile, port, randomBytes(32).toString('hex'));
    cleanups.push(async () => {
      if (broker.exitCode === null) {
        broker.kill('SIGTERM');
        await once(broker, 'exit');
      }
    });
    const apiPort = await freePort();
    const api: ServerType = serve({
      fetch: airlineApi(brokerUrl).fetch,
      port: apiPort,
      hostname: '127.0.0.1',
    });
    cleanups.push(() => new Promise((r) => api.close(r)));
    const apiUrl = `http://127.0.0.1:${apiPort}`;

    const planner = await agent('trip-planner', brokerUrl);
    cleanups.push(() => planner.close());

    step('1. trip-planner asks alice to approve (request_approval, OpenID CIBA) and waits');
    const asking = planner.call('request_approval', {
      user: 'alice',
      scope: 'trips:read flights:read flights:book',
      audience: 'agent:flight-booker',
      reason: 'Book the Lisbon flight you asked for',
      timeout_seconds: 60,
    });
    let pending = '';
    for (let i = 0; i < 100 && !pending.includes('agent     trip-planner'); i++) {
      pending = await batonCli(dbFile, 'approvals');
    }
    show('alice$ npx baton approvals');
    show(pending);
    const authReqId = /^([A-Za-z0-9_][A-Za-z0-9_-]+)$/m.exec(pending)?.[1] ?? '';
    check(
      authReqId !== '',
      'alice sees the pending request with the agent, scope, audience and reason',
    );

    step('2. alice approves, unticking trips:read (npx baton approve --scope)');
    show(`alice$ npx baton approve ${authReqId.slice(0, 8)}… --scope "flights:read flights:book"`);
    show(await batonCli(dbFile, 'approve', authReqId, '--scope', 'flights:read flights:book'));
    const approval = await asking;
    show(text(approval));
    const alice = String(approval.structuredContent?.access_token ?? '');
    check(
      !approval.isError &&
        claims(alice).sub === 'alice' &&
        claims(alice).scope === 'flights:read flights:book',
      "trip-planner holds alice's token, narrowed to what she approved",
    );
    show(`act: ${JSON.stringify(claims(alice).act)}`);

    step('3. trip-planner hands the flight part of the job to flight-booker (delegate_to_agent)');
    const handoff = await planner.call('delegate_to_agent', {
      agent_id: 'flight-booker',
      scope: 'flights:read flights:book',
      subject_token: alice,
    });
    show(text(handoff));
    const handoffToken = String(handoff.structuredContent?.access_token ?? '');
    check(
      !handoff.isError && claims(handoffToken).aud === 'agent:flight-booker',
      'a hand-off token for agent:flight-booker',
    );
    show(`act: ${JSON.stringify(claims(handoffToken).act)}`);

    const booker = await agent('flight-booker', brokerUrl, handoffToken);
    cleanups.push(() => booker.close());

    step(
      '4. flight-booker exchanges the hand-off for a token to call the airline (get_task_token)',
    );
    const task = await booker.call('get_task_token', {
      audience: AIRLINE_API,
      scope: 'flights:book',
      lifetime_seconds: 120,
    });
    show(text(task));
    const taskToken = String(task.structuredContent?.access_token ?? '');
    const taskAct = claims(taskToken).act;
    show(`act: ${JSON.stringify(taskAct)}`);
    check(
      JSON.stringify(taskAct) ===
        JSON.stringify({ sub: 'flight-booker', act: { sub: 'trip-planner' } }),
      'the chain nests: flight-booker (current actor) over trip-planner, for alice',
    );

    step('5. the airline API accepts the token and books for alice');
    const booked = await book(apiUrl, taskToken);
    show(`POST /bookings → ${booked.status} ${JSON.stringify(booked.body)}`);
    check(
      booked.status === 201 && booked.body.for === 'alice',
      'booked for alice, by flight-booker via trip-planner',
    );

    step('6. a token with too little scope is refused by the airline API');
    const readOnly = await booker.call('get_task_token', {
      audience: AIRLINE_API,
      scope: 'flights:read',
    });
    const refusedByApi = await book(apiUrl, String(readOnly.structuredContent?.access_token ?? ''));
    show(
      `POST /bookings with scope flights:read → ${refusedByApi.status} ${JSON.stringify(refusedByApi.body)}`,
    );
    show(`WWW-Authenticate: ${refusedByApi.challenge}`);
    check(
      refusedByApi.status === 403 && refusedByApi.body.error === 'insufficient_scope',
      'insufficient_scope (RFC 6750)',
    );

    step('7. flight-booker tries to widen its scope to trips:book, and Baton says no');
    const widened = await booker.call('get_task_token', {
      audience: AIRLINE_API,
      scope: 'trips:book',
    });
    show(text(widened));
    check(
      widened.isError === true && text(widened).includes('trips:book'),
      'refused, with the reason and what it may ask for instead',
    );

    step('8. the audit tree of the chain (audit_chain, as trip-planner)');
    const audit = await planner.call('audit_chain', { token: handoffToken });
    show(text(audit));
    check(
      !audit.isError && text(audit).includes('flight-booker acting for alice, via trip-planner'),
      'the tree shows every hop and the refusal',
    );

    step('9. trip-planner revokes its hand-off; everything derived from it dies');
    const revoked = await planner.call('revoke_token', { token: handoffToken });
    show(text(revoked));
    const afterRevoke = await booker.call('get_task_token', {
      audience: AIRLINE_API,
      scope: 'flights:book',
    });
    show(`flight-booker's next exchange: ${text(afterRevoke)}`);
    check(afterRevoke.isError === true, "flight-booker's next exchange is refused");
    const lateBooking = await book(apiUrl, taskToken);
    show(
      `POST /bookings with the earlier task token → ${lateBooking.status} ${JSON.stringify(lateBooking.body)}`,
    );
    check(
      lateBooking.status === 401,
      'the airline API refuses the revoked chain at once (it introspects)',
    );
  } finally {
    for (const cleanup of cleanups.reverse()) {
      try {
        await cleanup();
      } catch {
        /* best effort: keep stopping the rest */
      }
    }
    rmSync(dir, { recursive: true, force: true });
  }
  console.log(
    failures === 0
      ? green('\nEvery step behaved as shown.')
      : red(`\n${failures} step(s) did not behave as shown.`),
  );
  process.exitCode = failures === 0 ? 0 : 1;
}

main().catch((error: unknown) => {
  console.error(red(`demo failed: ${(error as Error).message}`));
  process.exitCode = 1;
});
