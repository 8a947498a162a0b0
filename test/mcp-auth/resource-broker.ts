/**
 * A broker with `/mcp` for the resource-side and CORS tests: the real app on a temp
 * SQLite, the test policy with `${issuer}/mcp` allowed to planner and booker, and helpers
 * to mint a token and call `/mcp` the way a Streamable HTTP client does.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { Hono } from 'hono';
import { expect } from 'vitest';
import { createApp } from '../../broker/app.js';
import { buildDeps } from '../../broker/build.js';
import { parsePolicy, type PolicyFile } from '../../broker/config/policy.js';
import { openSqliteStore, type SqliteStore } from '../../broker/store/sqlite-store.js';
import { createMcpMount } from '../../mcp-server/http.js';
import { basic, ISSUER, makeIdp, testPolicy, toBody } from '../helpers.js';

export { ISSUER };

export interface ResourceBroker {
  app: Hono;
  store: SqliteStore;
  dir: string;
}

/** The test policy, `${ISSUER}/mcp` allowed to planner and booker, then `change` applied. */
export async function policyFile(change: (p: PolicyFile) => PolicyFile = (p) => p) {
  const idp = await makeIdp(() => Math.floor(Date.now() / 1000));
  const p = testPolicy(idp.jwk);
  return change({
    ...p,
    clients: p.clients.map((c) =>
      c.client_id === 'planner' || c.client_id === 'booker'
        ? { ...c, audiences: [...(c.audiences ?? []), `${ISSUER}/mcp`] }
        : c,
    ),
  });
}

/** A broker on `dir` (a new temp dir unless given: a second broker on the same database). */
export async function openBroker(
  file: PolicyFile,
  options: { dir?: string; allowedOrigins?: string[] } = {},
): Promise<ResourceBroker> {
  const dir = options.dir ?? mkdtempSync(path.join(tmpdir(), 'baton-mcp-resource-'));
  const store = openSqliteStore(path.join(dir, 'baton.db'));
  const deps = await buildDeps({
    issuer: ISSUER,
    policy: parsePolicy(file, ISSUER),
    store,
    now: () => Math.floor(Date.now() / 1000),
  });
  const mount = createMcpMount({ allowedOrigins: options.allowedOrigins ?? [] });
  return { app: createApp(deps, [mount]), store, dir };
}

export async function closeBroker(b: ResourceBroker, removeDir = true): Promise<void> {
  await b.store.close();
  if (removeDir) rmSync(b.dir, { recursive: true, force: true });
}

/** A client_credentials token for `client`, for `/mcp` unless told otherwise. */
export async function clientToken(
  b: ResourceBroker,
  client: string,
  extra: Record<string, string> = {},
): Promise<string> {
  const res = await b.app.request('/token', {
    method: 'POST',
    headers: { authorization: basic(client), 'content-type': 'application/x-www-form-urlencoded' },
    body: toBody({ grant_type: 'client_credentials', audience: `${ISSUER}/mcp`, ...extra }),
  });
  expect(res.status).toBe(200);
  return ((await res.json()) as { access_token: string }).access_token;
}

/** `tools/list` at /mcp as a Streamable HTTP client sends it. */
export function listTools(
  b: ResourceBroker,
  token: string | undefined,
  headers: Record<string, string> = {},
): Promise<Response> {
  return Promise.resolve(
    b.app.request('/mcp', {
      method: 'POST',
      headers: {
        ...(token === undefined ? {} : { authorization: `Bearer ${token}` }),
        'content-type': 'application/json',
        accept: 'application/json, text/event-stream',
        'mcp-protocol-version': '2025-06-18',
        ...headers,
      },
      body: JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'tools/list', params: {} }),
    }),
  );
}

/** The tool names in a `tools/list` SSE answer. */
export async function toolNames(res: Response): Promise<string[]> {
  expect(res.status).toBe(200);
  const data = (await res.text()).split('\n').find((l) => l.startsWith('data: '));
  const message = JSON.parse(data!.slice('data: '.length)) as {
    result: { tools: Array<{ name: string }> };
  };
  return message.result.tools.map((t) => t.name).sort();
}
