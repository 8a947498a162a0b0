/**
 * SPEC §8 through `app.request` with a real SQLite: discovery, the authorization code
 * flow with PKCE (sign-in, consent with a box unticked), the token's claims and its
 * place in the ledger, every way a code redemption must fail, refresh rotation, replay of
 * a spent refresh token, the console's Revoke ending a refresh family, and the token at
 * `/mcp` through the MCP SDK's own client.
 */
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Browser, csrfOf } from '../console/console-helpers.js';
import { claimsOf, ISSUER, toBody } from '../helpers.js';
import {
  active,
  consentFlow,
  makeMcpAuthBroker,
  pkce,
  redeem,
  REDIRECT,
  refresh,
  registeredClient,
  RESOURCE,
  tokenRequest,
  type McpAuthBroker,
} from './mcp-auth-helpers.js';

describe('MCP authorization: code flow, tokens, refresh', () => {
  /** The hidden fields of a consent page for `id` (alice signed in already). */
  async function consentPageFields(id: string): Promise<Record<string, string>> {
    const { challenge } = pkce();
    const res = await browser.get(
      `/console/consent?${new URLSearchParams({
        response_type: 'code',
        client_id: id,
        redirect_uri: REDIRECT,
        code_challenge: challenge,
        code_challenge_method: 'S256',
        state: 's',
        resource: RESOURCE,
      }).toString()}`,
    );
    expect(res.status).toBe(200);
    const html = await res.text();
    const fields: Record<string, string> = {};
    for (const m of html.matchAll(/type="hidden" name="([^"]+)" value="([^"]*)"/g))
      fields[m[1]!] = m[2]!.replaceAll('&amp;', '&');
    return fields;
  }

  let b: McpAuthBroker;
  let clientId: string;
  let browser: Browser;
  beforeAll(async () => {
    b = await makeMcpAuthBroker();
    clientId = await registeredClient(b);
    browser = new Browser((p, init) => b.mcpApp.request(p, init));
  });
  afterAll(async () => {
    await b.close();
  });

  it('lists the authorization server of SPEC §8 in the RFC 8414 metadata', async () => {
    const m = (await (
      await b.app.request('/.well-known/oauth-authorization-server')
    ).json()) as Record<string, unknown>;
    expect(m.authorization_endpoint).toBe(`${ISSUER}/authorize`);
    expect(m.registration_endpoint).toBe(`${ISSUER}/register`);
    expect(m.response_types_supported).toEqual(['code']);
    expect(m.code_challenge_methods_supported).toEqual(['S256']);
    expect(m.client_id_metadata_document_supported).toBe(true);
    expect(m.authorization_response_iss_parameter_supported).toBe(true);
    expect(m.grant_types_supported).toEqual(
      expect.arrayContaining(['authorization_code', 'refresh_token']),
    );
    expect(m.token_endpoint_auth_methods_supported).toContain('none');
  });

  it('signs in, consents with a box unticked, and gets a narrower token that roots a chain', async () => {
    const r = await consentFlow(browser, clientId, {
      scope: 'trips:read trips:book flights:book',
      grant: ['trips:read', 'flights:book'],
    });
    expect(r.consentHtml).toContain('Test MCP client');
    expect(r.consentHtml).toContain('127.0.0.1:33418');
    expect(r.consentHtml).toContain('>Allow<');
    expect(r.consentHtml).toContain('>Deny<');
    expect(`${r.location.origin}${r.location.pathname}`).toBe(REDIRECT);
    expect(r.iss).toBe(ISSUER);
    expect(r.state).toMatch(/^[0-9a-f]{16}$/);
    expect(r.code).toMatch(/^bac_/);

    const t = await redeem(b, clientId, r);
    expect(t.status).toBe(200);
    expect(t.body.token_type).toBe('Bearer');
    expect(t.body.scope).toBe('trips:read flights:book');
    expect(String(t.body.refresh_token)).toMatch(/^brt_/);
    const claims = claimsOf(t.body.access_token);
    expect(claims.sub).toBe('alice');
    expect(claims.act).toEqual({ sub: clientId });
    expect(claims.aud).toBe(RESOURCE);
    expect(claims.client_id).toBe(clientId);
    expect(claims.exp! - claims.iat!).toBeLessThanOrEqual(3600);

    const row = await b.store.getToken(String(claims.jti));
    expect(row?.parentJti).toBeNull();
    expect(row?.grantType).toBe('authorization_code');
    const roots = await b.store.rootTokensFor('alice', 50);
    expect(roots.map((x) => x.jti)).toContain(claims.jti);
    // The person sees it on the Chains page, by the MCP client's id.
    const chains = await (await browser.get('/console/chains')).text();
    expect(chains).toContain(clientId);
  });

  it('Deny sends access_denied back with state and iss, and no code', async () => {
    const r = await consentFlow(browser, clientId, { decision: 'deny' });
    expect(r.location.searchParams.get('error')).toBe('access_denied');
    expect(r.state).toMatch(/^[0-9a-f]{16}$/);
    expect(r.iss).toBe(ISSUER);
    expect(r.location.searchParams.get('code')).toBeNull();
  });

  it('a consent post without the CSRF token, or signed out, makes no code', async () => {
    const page = await consentPageFields(clientId);
    const forged = await browser.post('/console/consent', {
      ...page,
      csrf: 'forged',
      granted: 'trips:read',
      decision: 'allow',
    });
    expect(forged.status).toBe(403);
    expect(forged.headers.get('location')).toBeNull();
    const stranger = new Browser((p, init) => b.mcpApp.request(p, init));
    const signedOut = await stranger.post('/console/consent', {
      ...page,
      granted: 'trips:read',
      decision: 'allow',
    });
    expect(signedOut.status).toBe(401);
    expect(signedOut.headers.get('location')).toBeNull();
  });

  it('refuses a replayed code and revokes what the first redemption issued', async () => {
    const r = await consentFlow(browser, clientId);
    const first = await redeem(b, clientId, r);
    expect(first.status).toBe(200);
    expect(await active(b, String(first.body.access_token))).toBe(true);
    const again = await redeem(b, clientId, r);
    expect(again.status).toBe(400);
    expect(again.body.error).toBe('invalid_grant');
    expect(await active(b, String(first.body.access_token))).toBe(false);
    expect((await refresh(b, clientId, String(first.body.refresh_token))).body.error).toBe(
      'invalid_grant',
    );
  });

  it('refuses a wrong code_verifier, redirect_uri, resource or client, and the code is spent', async () => {
    const cases: Array<[Record<string, string>, string]> = [
      [{ code_verifier: 'x'.repeat(43) }, 'invalid_grant'],
      [{ redirect_uri: 'http://127.0.0.1:33418/other' }, 'invalid_grant'],
      [{ resource: 'https://api.example.com' }, 'invalid_target'],
    ];
    for (const [extra, error] of cases) {
      const r = await consentFlow(browser, clientId);
      const bad = await redeem(b, clientId, r, extra);
      expect(bad.status, JSON.stringify(extra)).toBe(400);
      expect(bad.body.error).toBe(error);
      // One try per code: the right values afterwards are refused too.
      expect((await redeem(b, clientId, r)).body.error).toBe('invalid_grant');
    }
    const other = await registeredClient(b);
    const r = await consentFlow(browser, clientId);
    expect((await redeem(b, other, r)).body.error).toBe('invalid_grant');
  });

  it('refuses a public client that is unknown, and a policy client without its secret', async () => {
    const r = await consentFlow(browser, clientId);
    for (const id of ['mcp_nobody', 'planner']) {
      const res = await redeem(b, id, r);
      expect(res.status).toBe(401);
      expect(res.body.error).toBe('invalid_client');
    }
  });

  it('rotates refresh tokens; a spent one revokes the family and its access tokens', async () => {
    const r = await consentFlow(browser, clientId);
    const t1 = await redeem(b, clientId, r);
    const t2 = await refresh(b, clientId, String(t1.body.refresh_token));
    expect(t2.status).toBe(200);
    expect(t2.body.refresh_token).not.toBe(t1.body.refresh_token);
    const c2 = claimsOf(t2.body.access_token);
    expect(c2.sub).toBe('alice');
    expect(c2.act).toEqual({ sub: clientId });
    expect(c2.aud).toBe(RESOURCE);
    // One chain per consent: the refreshed token hangs under the code's token.
    const row2 = await b.store.getToken(String(c2.jti));
    expect(row2?.parentJti).toBe(claimsOf(t1.body.access_token).jti);
    expect(row2?.grantType).toBe('refresh_token');
    // Narrowing on refresh, never widening.
    const t3 = await refresh(b, clientId, String(t2.body.refresh_token), { scope: 'trips:read' });
    expect(t3.status).toBe(200);
    expect(t3.body.scope).toBe('trips:read');
    expect(await active(b, String(t3.body.access_token))).toBe(true);

    // Replay of the first (spent) refresh token: invalid_grant, and the family is gone.
    const replay = await refresh(b, clientId, String(t1.body.refresh_token));
    expect(replay.body.error).toBe('invalid_grant');
    for (const t of [t1, t2, t3]) expect(await active(b, String(t.body.access_token))).toBe(false);
    expect((await refresh(b, clientId, String(t3.body.refresh_token))).body.error).toBe(
      'invalid_grant',
    );
  });

  it('refuses a wider scope on refresh, and another client using the refresh token', async () => {
    const r = await consentFlow(browser, clientId, { grant: ['trips:read'] });
    const t1 = await redeem(b, clientId, r);
    const other = await registeredClient(b);
    const stolen = await refresh(b, other, String(t1.body.refresh_token));
    expect(stolen.body.error).toBe('invalid_grant');
    const wider = await refresh(b, clientId, String(t1.body.refresh_token), {
      scope: 'trips:read trips:book',
    });
    expect(wider.body.error).toBe('invalid_scope');
    // A scope no MCP client may hold, or another resource, is refused before the token is
    // spent: the same refresh token still works afterwards.
    const r2 = await consentFlow(browser, clientId, { grant: ['trips:read'] });
    const t2 = await redeem(b, clientId, r2);
    const refresh2 = String(t2.body.refresh_token);
    expect((await refresh(b, clientId, refresh2, { scope: 'admin:all' })).body.error).toBe(
      'invalid_scope',
    );
    expect(
      (await refresh(b, clientId, refresh2, { resource: 'https://api.example.com' })).body.error,
    ).toBe('invalid_target');
    expect((await refresh(b, clientId, refresh2)).status).toBe(200);
  });

  it('refuses a refresh once the consent is older than consent_ttl_seconds', async () => {
    const r = await consentFlow(browser, clientId);
    const t1 = await redeem(b, clientId, r);
    const ttl = b.deps.policy.mcpClients.consentTtlSeconds;
    const start = b.clock.now;
    try {
      b.clock.now = start + ttl - 10;
      const t2 = await refresh(b, clientId, String(t1.body.refresh_token));
      expect(t2.status).toBe(200);
      // The access token never outlives the consent either.
      expect(claimsOf(t2.body.access_token).exp).toBeLessThanOrEqual(start + ttl);
      b.clock.now = start + ttl;
      const t3 = await refresh(b, clientId, String(t2.body.refresh_token));
      expect(t3.body.error).toBe('invalid_grant');
    } finally {
      b.clock.now = start;
    }
  });

  it('lets at most one of two concurrent refreshes with the same token succeed', async () => {
    const r = await consentFlow(browser, clientId);
    const t1 = await redeem(b, clientId, r);
    const both = await Promise.all([
      refresh(b, clientId, String(t1.body.refresh_token)),
      refresh(b, clientId, String(t1.body.refresh_token)),
    ]);
    expect(both.filter((x) => x.status === 200).length).toBeLessThanOrEqual(1);
    expect(both.filter((x) => x.body.error === 'invalid_grant').length).toBeGreaterThanOrEqual(1);
  });

  it('ends the refresh family when the person revokes its token in the console', async () => {
    const r = await consentFlow(browser, clientId);
    const t0 = await redeem(b, clientId, r);
    const jti = String(claimsOf(t0.body.access_token).jti);
    const t1 = await refresh(b, clientId, String(t0.body.refresh_token));
    expect(t1.status).toBe(200);
    const chains = await browser.get('/console/chains');
    const revoked = await browser.post('/console/chains', {
      csrf: csrfOf(await chains.text()),
      jti,
    });
    expect(revoked.status).toBe(303);
    // Revoking the consent's root revokes the refreshed token under it too.
    expect(await active(b, String(t0.body.access_token))).toBe(false);
    expect(await active(b, String(t1.body.access_token))).toBe(false);
    const after = await refresh(b, clientId, String(t1.body.refresh_token));
    expect(after.status).toBe(400);
    expect(after.body.error).toBe('invalid_grant');
  });

  it('revokes the family when the client revokes its refresh token (RFC 7009)', async () => {
    const r = await consentFlow(browser, clientId);
    const t1 = await redeem(b, clientId, r);
    const res = await b.app.request('/revoke', {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: toBody({ client_id: clientId, token: String(t1.body.refresh_token) }),
    });
    expect(res.status).toBe(200);
    expect(await active(b, String(t1.body.access_token))).toBe(false);
    expect((await refresh(b, clientId, String(t1.body.refresh_token))).body.error).toBe(
      'invalid_grant',
    );
  });

  it('a public client cannot use another grant or introspect', async () => {
    const cc = await tokenRequest(b, { grant_type: 'client_credentials', client_id: clientId });
    expect(cc.body.error).toBe('unauthorized_client');
    const res = await b.app.request('/introspect', {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: toBody({ client_id: clientId, token: 'x' }),
    });
    expect(res.status).toBe(401);
  });

  it('the token works at /mcp: the MCP SDK client lists the tools', async () => {
    const r = await consentFlow(browser, clientId);
    const t = await redeem(b, clientId, r);
    const transport = new StreamableHTTPClientTransport(new URL(RESOURCE), {
      fetch: async (url, init) => b.mcpApp.request(String(url), init),
      requestInit: { headers: { authorization: `Bearer ${String(t.body.access_token)}` } },
    });
    const client = new Client({ name: 'mcp-auth-test', version: '1' });
    await client.connect(transport);
    const tools = await client.listTools();
    expect(tools.tools.map((x) => x.name)).toContain('get_task_token');
    // The tools act as the MCP client: an exchange for an allowed audience nests under it.
    const result = await client.callTool({
      name: 'get_task_token',
      arguments: { audience: 'https://api.example.com', scope: 'trips:read' },
    });
    expect(result.isError).toBeFalsy();
    await client.close();
    const roots = await b.store.rootTokensFor('alice', 100);
    const root = roots.find((x) => x.jti === claimsOf(t.body.access_token).jti);
    expect(root).toBeDefined();
    const kids = await b.store.descendants(root!.jti, { limit: 10 });
    expect(kids.length).toBe(1);
    expect(kids[0]!.act).toEqual({ sub: clientId });
  });
});
