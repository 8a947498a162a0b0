/**
 * `BATON_MCP_ALLOWED_ORIGINS`: the browser origins `/mcp` serves besides the issuer's own
 * (a browser-based MCP client such as the MCP Inspector in direct mode). Any other origin,
 * and `null`, stays 403 (MCP transport spec, DNS rebinding); a bad list stops start-up.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { parseEnv } from '../../broker/config/env.js';
import { startBroker } from '../../broker/main.js';

const dir = mkdtempSync(path.join(tmpdir(), 'baton-origins-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const initialize = (url: string, origin: string) =>
  fetch(`${url}/mcp`, {
    method: 'POST',
    headers: {
      origin,
      'content-type': 'application/json',
      accept: 'application/json, text/event-stream',
    },
    body: JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'initialize', params: {} }),
  });

describe('BATON_MCP_ALLOWED_ORIGINS', () => {
  it('lets the listed origins reach /mcp (its 401 challenge, readable by them) and no others', async () => {
    const broker = await startBroker({
      PORT: '0',
      BATON_DB: path.join(dir, 'baton.db'),
      BATON_LOG_LEVEL: 'silent',
      BATON_MCP_ALLOWED_ORIGINS: 'http://localhost:6274, https://inspector.example',
    });
    try {
      for (const origin of ['http://localhost:6274', 'https://inspector.example']) {
        const res = await initialize(broker.url, origin);
        expect(res.status, origin).toBe(401);
        expect(res.headers.get('access-control-allow-origin')).toBe(origin);
        expect(res.headers.get('access-control-expose-headers')).toMatch(/www-authenticate/i);
      }
      for (const origin of ['http://localhost:6275', 'https://evil.example', 'null'])
        expect((await initialize(broker.url, origin)).status, origin).toBe(403);
    } finally {
      await broker.close();
    }
  });

  it('refuses anything but a list of http(s) origins, naming the variable', () => {
    expect(parseEnv({}).mcpAllowedOrigins).toEqual([]);
    expect(
      parseEnv({ BATON_MCP_ALLOWED_ORIGINS: 'http://localhost:6274,https://a.example:8443' })
        .mcpAllowedOrigins,
    ).toEqual(['http://localhost:6274', 'https://a.example:8443']);
    for (const bad of ['ftp://a.example', 'https://a.example/path', 'localhost:6274', '*'])
      expect(() => parseEnv({ BATON_MCP_ALLOWED_ORIGINS: bad }), bad).toThrow(
        /^BATON_MCP_ALLOWED_ORIGINS: /,
      );
  });
});
