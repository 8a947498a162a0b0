/**
 * One real `baton-mcp` process (`node bin/baton-mcp.js`, what `npx baton-mcp` runs) over
 * stdio, driven by the SDK's `StdioClientTransport`, against a real broker on a free port.
 */
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { fileURLToPath } from 'node:url';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import {
  getDefaultEnvironment,
  StdioClientTransport,
} from '@modelcontextprotocol/sdk/client/stdio.js';
import type { CallToolResult } from '@modelcontextprotocol/sdk/types.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { API, SECRETS } from '../helpers.js';
import { startLiveBroker, type LiveBroker } from './live-broker.js';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));

describe('baton-mcp over stdio', () => {
  let broker: LiveBroker;
  beforeAll(async () => {
    broker = await startLiveBroker();
  });
  afterAll(async () => {
    await broker.close();
  });

  it('serves get_task_token to a real MCP client, with only protocol on stdout and no secret in its logs', async () => {
    const alice = await broker.idp.sign({ sub: 'alice' });
    const transport = new StdioClientTransport({
      command: 'node',
      args: ['bin/baton-mcp.js'],
      cwd: ROOT,
      env: {
        ...getDefaultEnvironment(),
        BATON_URL: broker.url,
        BATON_CLIENT_ID: 'planner',
        BATON_CLIENT_SECRET: SECRETS.planner!,
        BATON_OWN_TOKEN: 'client_credentials',
      },
      stderr: 'pipe',
    });
    let stderr = '';
    transport.stderr!.on('data', (b: Buffer) => (stderr += b.toString()));
    const protocolErrors: Error[] = [];
    const client = new Client({ name: 'stdio-test-agent', version: '1.0.0' });
    client.onerror = (e) => protocolErrors.push(e);
    await client.connect(transport);
    try {
      // With BATON_OWN_TOKEN=client_credentials the agent's own token is a client_credentials token of its own.
      const own = (await client.callTool({
        name: 'get_task_token',
        arguments: { audience: API, scope: 'trips:book' },
      })) as CallToolResult;
      expect(own.isError).toBeFalsy();
      expect(own.structuredContent).toMatchObject({
        sub: 'planner',
        actors: [],
        scope: 'trips:book',
        audience: [API],
      });
      const forAlice = (await client.callTool({
        name: 'get_task_token',
        arguments: { audience: API, scope: 'trips:read', subject_token: alice },
      })) as CallToolResult;
      expect(forAlice.isError).toBeFalsy();
      expect(forAlice.structuredContent).toMatchObject({
        sub: 'alice',
        actors: ['planner'],
        scope: 'trips:read',
        audience: [API],
      });
    } finally {
      await client.close();
    }
    expect(protocolErrors).toEqual([]);
    expect(stderr).toContain(
      `serving over stdio as client planner (client_secret_basic) against ${broker.url}; own token: client_credentials`,
    );
    expect(stderr).not.toContain(SECRETS.planner);
    expect(stderr).not.toContain(alice);
  });

  it('exits 1 with a message naming the missing setting', async () => {
    const child = spawn('node', ['bin/baton-mcp.js'], {
      cwd: ROOT,
      env: { ...getDefaultEnvironment(), BATON_URL: broker.url },
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (b: Buffer) => (stdout += b.toString()));
    child.stderr.on('data', (b: Buffer) => (stderr += b.toString()));
    const [code] = (await once(child, 'exit')) as [number | null];
    expect(code).toBe(1);
    expect(stdout).toBe('');
    expect(stderr).toContain('[baton-mcp] cannot start: bad environment');
    expect(stderr).toContain('BATON_CLIENT_ID: is required');
    expect(stderr).toContain('BATON_CLIENT_SECRET: set exactly one of BATON_CLIENT_SECRET');
  });
});
