/**
 * A stdio agent's identity does not go stale (issue 11 item 7): a real `baton-mcp`
 * process started without BATON_SUBJECT_TOKEN tells the model to ask for approval, takes
 * the approved token as its own (kept in BATON_TOKEN_FILE, mode 0600, never logged),
 * keeps it across a restart, and asks again once the broker no longer accepts it. The
 * person approves through the store, as the console and the CLI do.
 */
import { mkdtempSync, rmSync, statSync, readFileSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import {
  getDefaultEnvironment,
  StdioClientTransport,
} from '@modelcontextprotocol/sdk/client/stdio.js';
import type { CallToolResult } from '@modelcontextprotocol/sdk/types.js';
import { decodeJwt } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { approveRequest } from '../../broker/approvals/decide.js';
import { API, SECRETS, withApprovals } from '../helpers.js';
import { startLiveBroker, type LiveBroker } from './live-broker.js';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const JWT = /[A-Za-z0-9_-]{10,}\.[A-Za-z0-9_-]{10,}\.[A-Za-z0-9_-]{10,}/;

const text = (r: CallToolResult) =>
  r.content.map((c) => (c.type === 'text' ? c.text : '')).join('\n');

interface Agent {
  call(name: string, args: Record<string, unknown>): Promise<CallToolResult>;
  stderr(): string;
  close(): Promise<void>;
}

describe('baton-mcp over stdio without a configured token', () => {
  let broker: LiveBroker;
  let dir: string;
  let tokenFile: string;
  beforeAll(async () => {
    broker = await startLiveBroker({ policy: (p) => withApprovals(p) });
    dir = mkdtempSync(path.join(tmpdir(), 'baton-mcp-identity-'));
    tokenFile = path.join(dir, 'alice.token');
  });
  afterAll(async () => {
    await broker.close();
    rmSync(dir, { recursive: true, force: true });
  });

  async function start(): Promise<Agent> {
    const transport = new StdioClientTransport({
      command: 'node',
      args: ['bin/baton-mcp.js'],
      cwd: ROOT,
      env: {
        ...getDefaultEnvironment(),
        BATON_URL: broker.url,
        BATON_CLIENT_ID: 'planner',
        BATON_CLIENT_SECRET: SECRETS.planner!,
        BATON_TOKEN_FILE: tokenFile,
      },
      stderr: 'pipe',
    });
    let stderr = '';
    transport.stderr!.on('data', (b: Buffer) => (stderr += b.toString()));
    const client = new Client({ name: 'desktop-agent', version: '1.0.0' });
    await client.connect(transport);
    return {
      call: async (name, args) =>
        (await client.callTool({ name, arguments: args }, undefined, {
          timeout: 60_000,
        })) as CallToolResult,
      stderr: () => stderr,
      close: () => client.close(),
    };
  }

  /** alice approves the request once it shows up, as she would in the console. */
  async function aliceApproves(): Promise<void> {
    for (let i = 0; i < 200; i++) {
      const [pending] = await broker.deps.store.listPendingApprovals(broker.deps.now(), 'alice');
      if (pending !== undefined) {
        const decided = await approveRequest(broker.deps.store, pending.authReqId, {
          now: broker.deps.now(),
        });
        expect(decided.ok).toBe(true);
        return;
      }
      await new Promise((r) => setTimeout(r, 50));
    }
    throw new Error('no approval request reached the broker');
  }

  const TASK = { audience: API, scope: 'trips:read' };

  it('tells the model to ask for approval, then acts with the approved token, kept across a restart', async () => {
    const first = await start();
    let approved: string | undefined;
    try {
      const before = await first.call('get_task_token', TASK);
      expect(before.isError).toBe(true);
      expect(text(before)).toBe(
        [
          'You hold no token for a person yet.',
          'Call request_approval with the username of the person you work for (user), the scope and audience this task needs, and a one-line reason. ' +
            'Once they approve, call this tool again: it then uses their token.',
          'If another agent handed you a token, pass it as subject_token instead.',
        ].join('\n'),
      );
      const delegate = await first.call('delegate_to_agent', { agent_id: 'booker' });
      expect(delegate.isError).toBe(true);
      expect(text(delegate)).toContain('Call request_approval');

      const [res] = await Promise.all([
        first.call('request_approval', {
          user: 'alice',
          scope: 'trips:read trips:book',
          audience: API,
          reason: 'Plan the Lisbon trip',
          timeout_seconds: 30,
        }),
        aliceApproves(),
      ]);
      expect(res.isError, text(res)).toBeFalsy();
      expect(text(res)).toContain('It is now your own token');
      expect(text(res)).not.toMatch(JWT);
      approved = (res.structuredContent as { access_token: string }).access_token;
      expect(decodeJwt(approved)).toMatchObject({ sub: 'alice', act: { sub: 'planner' } });

      expect(readFileSync(tokenFile, 'utf8')).toBe(approved);
      expect(statSync(tokenFile).mode & 0o777).toBe(0o600);

      const task = await first.call('get_task_token', TASK);
      expect(task.isError, text(task)).toBeFalsy();
      expect(task.structuredContent).toMatchObject({
        sub: 'alice',
        actors: ['planner'],
        scope: 'trips:read',
        audience: [API],
      });
    } finally {
      await first.close();
    }
    expect(first.stderr()).toContain('own token: none yet (request_approval gets one)');
    expect(approved).toMatch(JWT);
    expect(first.stderr()).not.toContain(approved!);

    const second = await start();
    try {
      const task = await second.call('get_task_token', TASK);
      expect(task.isError, text(task)).toBeFalsy();
      expect(task.structuredContent).toMatchObject({ sub: 'alice', actors: ['planner'] });
    } finally {
      await second.close();
    }
    expect(second.stderr()).toContain('own token: BATON_TOKEN_FILE');
    expect(second.stderr()).not.toContain(approved!);
  });

  it('asks for approval again once the broker refuses its token (revoked in the console), and forgets the kept file', async () => {
    const agent = await start();
    try {
      const own = readFileSync(tokenFile, 'utf8');
      const ok = await agent.call('get_task_token', TASK);
      expect(ok.isError, text(ok)).toBeFalsy();
      // Another path than this agent's tools: alice revokes the chain in the console.
      const revoked = await broker.deps.store.revokeCascade(
        String(decodeJwt(own).jti),
        broker.deps.now(),
      );
      expect(revoked).toBeGreaterThan(0);
      // A request not in the cache goes to the broker, which refuses the revoked token.
      const after = await agent.call('get_task_token', { audience: API, scope: 'trips:book' });
      expect(after.isError).toBe(true);
      expect(text(after)).toMatch(
        /^Baton no longer accepts your token for the person you act for \(the subject token has been revoked\)\.\nCall request_approval/,
      );
      expect(existsSync(tokenFile)).toBe(false);
      const still = await agent.call('get_task_token', TASK);
      expect(still.isError).toBe(true);
      expect(text(still)).toContain('Call request_approval');
    } finally {
      await agent.close();
    }
  });
});
