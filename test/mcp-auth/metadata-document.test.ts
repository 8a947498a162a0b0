/**
 * An MCP client that identifies by a Client ID Metadata Document (SPEC §8): its https URL
 * as client_id (here http on loopback, which `development.allow_insecure_key_urls`
 * allows), served by the test. The code flow works for it as for a registered client,
 * and the token's `act` names the URL; a policy that does not accept it shows a page and
 * redirects nowhere.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createApp } from '../../broker/app.js';
import type { PolicyFile } from '../../broker/config/policy.js';
import { mountMcp } from '../../mcp-server/http.js';
import { Browser, consolePolicy, userHashes } from '../console/console-helpers.js';
import { claimsOf, makeBroker } from '../helpers.js';
import {
  active,
  authorizeUrl,
  consentFlow,
  pkce,
  REDIRECT,
  redeem,
  refresh,
  RESOURCE,
  type McpAuthBroker,
} from './mcp-auth-helpers.js';

let server: Server;
let docUrl: string;

beforeAll(async () => {
  server = createServer((_req, res) => {
    res.writeHead(200, { 'content-type': 'application/json' });
    res.end(
      JSON.stringify({
        client_id: docUrl,
        client_name: 'Metadata Client',
        redirect_uris: [REDIRECT],
        token_endpoint_auth_method: 'none',
      }),
    );
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  docUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}/client.json`;
});

afterAll(async () => {
  await new Promise<void>((resolve) => server.close(() => resolve()));
});

async function brokerAccepting(accept: 'all' | 'none' | string[]): Promise<McpAuthBroker> {
  const users = consolePolicy(await userHashes());
  const b = await makeBroker({
    policy: (p): PolicyFile => ({
      ...users(p),
      development: { allow_insecure_key_urls: true },
      mcp_clients: { accept },
    }),
  });
  return { ...b, mcpApp: createApp(b.deps, [mountMcp]) };
}

describe('Client ID Metadata Document clients', () => {
  it('consent and a token for a client named by its metadata URL', async () => {
    const b = await brokerAccepting([docUrl]);
    try {
      // Before any consent, the URL is no client at the token endpoint (made-up URLs cost nothing).
      const early = await refresh(b, docUrl, 'brt_nothing');
      expect(early.status).toBe(401);
      expect(early.body.error).toBe('invalid_client');
      const browser = new Browser((p, init) => b.mcpApp.request(p, init));
      const r = await consentFlow(browser, docUrl, { grant: ['trips:read'] });
      expect(r.consentHtml).toContain('Metadata Client');
      const t = await redeem(b, docUrl, r);
      expect(t.status).toBe(200);
      const claims = claimsOf(t.body.access_token);
      expect(claims.act).toEqual({ sub: docUrl });
      expect(claims.client_id).toBe(docUrl);
      expect(await active(b, String(t.body.access_token))).toBe(true);
      // /mcp takes it: the initialize call is answered, not refused.
      const res = await b.mcpApp.request('/mcp', {
        method: 'POST',
        headers: {
          authorization: `Bearer ${String(t.body.access_token)}`,
          'content-type': 'application/json',
          accept: 'application/json, text/event-stream',
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
      expect(res.status).toBe(200);
    } finally {
      await b.close();
    }
  });

  it('a policy that does not accept the client shows a page and redirects nowhere', async () => {
    const b = await brokerAccepting('none');
    try {
      const res = await b.app.request(
        authorizeUrl({
          response_type: 'code',
          client_id: docUrl,
          redirect_uri: REDIRECT,
          code_challenge: pkce().challenge,
          code_challenge_method: 'S256',
          resource: RESOURCE,
        }),
      );
      expect(res.status).toBe(400);
      expect(res.headers.get('location')).toBeNull();
    } finally {
      await b.close();
    }
  });
});
