/**
 * `GET /authorize` refusals (RFC 6749 §4.1.2.1, SPEC §8): with a bad client or redirect
 * the person sees an error page and nothing is redirected (no open redirect); any other
 * problem goes back to the registered redirect with `error`, `state` and `iss`. Also the
 * sign-in's `next` never leaves the console.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { safeNext } from '../../broker/console/next.js';
import { REGISTRATION_IDLE_SECONDS } from '../../broker/mcp-auth/clients.js';
import { ISSUER } from '../helpers.js';
import {
  authorizeUrl,
  makeMcpAuthBroker,
  pkce,
  REDIRECT,
  registeredClient,
  RESOURCE,
  type McpAuthBroker,
} from './mcp-auth-helpers.js';

describe('GET /authorize refusals', () => {
  let b: McpAuthBroker;
  let clientId: string;
  const { challenge } = pkce();
  const good = () => ({
    response_type: 'code',
    client_id: clientId,
    redirect_uri: REDIRECT,
    code_challenge: challenge,
    code_challenge_method: 'S256',
    state: 'st-123',
    resource: RESOURCE,
  });
  beforeAll(async () => {
    b = await makeMcpAuthBroker();
    clientId = await registeredClient(b);
  });
  afterAll(async () => {
    await b.close();
  });

  it('shows a page, never a redirect, for an unknown client or an unregistered redirect', async () => {
    for (const params of [
      { ...good(), client_id: 'mcp_unknown' },
      { ...good(), client_id: undefined },
      { ...good(), client_id: 'planner' },
      { ...good(), redirect_uri: 'https://evil.example/cb' },
      { ...good(), redirect_uri: 'http://127.0.0.1:33418/callback/other' },
      { ...good(), redirect_uri: undefined },
    ]) {
      const res = await b.app.request(authorizeUrl(params));
      expect(res.status, JSON.stringify(params)).toBe(400);
      expect(res.headers.get('location')).toBeNull();
      expect(res.headers.get('content-type')).toContain('text/html');
      expect(await res.text()).not.toContain('evil.example');
    }
  });

  it('redirects other problems back with error, state and iss', async () => {
    const cases: Array<[Record<string, string | undefined>, string]> = [
      [{ code_challenge: undefined }, 'invalid_request'],
      [{ code_challenge_method: 'plain' }, 'invalid_request'],
      [{ code_challenge_method: undefined }, 'invalid_request'],
      [{ resource: undefined }, 'invalid_target'],
      [{ resource: 'https://api.example.com' }, 'invalid_target'],
      [{ response_type: 'token' }, 'unsupported_response_type'],
      [{ scope: 'admin:everything' }, 'invalid_scope'],
    ];
    for (const [change, error] of cases) {
      const res = await b.app.request(authorizeUrl({ ...good(), ...change }));
      expect(res.status, JSON.stringify(change)).toBe(302);
      const to = new URL(res.headers.get('location')!);
      expect(`${to.origin}${to.pathname}`).toBe(REDIRECT);
      expect(to.searchParams.get('error')).toBe(error);
      expect(to.searchParams.get('state')).toBe('st-123');
      expect(to.searchParams.get('iss')).toBe(ISSUER);
      expect(to.searchParams.get('error_description')).toMatch(/^[\x20-\x7e]+$/);
      expect(to.searchParams.get('code')).toBeNull();
    }
  });

  it('matches a loopback redirect on any port, and sends a good request to the consent page', async () => {
    const res = await b.app.request(
      authorizeUrl({ ...good(), redirect_uri: 'http://127.0.0.1:50999/callback' }),
    );
    expect(res.status).toBe(302);
    expect(res.headers.get('location')).toMatch(/^\/console\/consent\?/);
  });

  it('a registration unused for 90 days has expired: a page, no redirect', async () => {
    const idle = await registeredClient(b);
    const start = b.clock.now;
    try {
      b.clock.now = start + REGISTRATION_IDLE_SECONDS + 1;
      const res = await b.app.request(authorizeUrl({ ...good(), client_id: idle }));
      expect(res.status).toBe(400);
      expect(res.headers.get('location')).toBeNull();
    } finally {
      b.clock.now = start;
    }
  });

  it('a repeated parameter is refused', async () => {
    const res = await b.app.request(`${authorizeUrl(good())}&scope=trips:read&scope=trips:book`);
    expect(res.status).toBe(302);
    expect(new URL(res.headers.get('location')!).searchParams.get('error')).toBe('invalid_request');
  });

  it('the sign-in page keeps next only for console paths on this origin', () => {
    expect(safeNext('/console/consent?client_id=x')).toBe('/console/consent?client_id=x');
    for (const bad of [
      'https://evil.example/',
      '//evil.example/console/',
      '/\\evil.example',
      '/console/../../x',
      '/consolex',
      'javascript:alert(1)',
      '/console/\nx',
    ])
      expect(safeNext(bad), bad).toBeUndefined();
  });
});
