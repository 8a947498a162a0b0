/**
 * RFC 7591 dynamic registration at `/register` (SPEC §8): what a good registration
 * answers, which redirect URIs and methods are refused (with RFC 7591 error codes and no
 * echo of the input), the per-address rate limit and the cap on live registrations.
 */
import { randomBytes } from 'node:crypto';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { REGISTRATION_IDLE_SECONDS } from '../../broker/mcp-auth/clients.js';
import { DEFAULT_REGISTRATION_LIMITS } from '../../broker/mcp-auth/register.js';
import { makeBroker, type TestBroker } from '../helpers.js';
import { register, REDIRECT } from './mcp-auth-helpers.js';

describe('dynamic client registration', () => {
  let b: TestBroker;
  beforeEach(async () => {
    b = await makeBroker();
  });
  afterEach(async () => {
    await b.close();
  });

  it('registers a public client and answers 201 with its metadata', async () => {
    const res = await register(b, {
      client_name: 'Inspector',
      redirect_uris: [REDIRECT, 'https://app.example/cb', 'com.example.app:/cb'],
      token_endpoint_auth_method: 'none',
      grant_types: ['authorization_code', 'refresh_token'],
      response_types: ['code'],
      logo_uri: 'https://app.example/logo.png',
    });
    expect(res.status).toBe(201);
    expect(res.headers.get('cache-control')).toBe('no-store');
    const body = (await res.json()) as Record<string, unknown>;
    expect(body.client_id).toMatch(/^mcp_[A-Za-z0-9_-]{22}$/);
    expect(body.client_id_issued_at).toBe(b.clock.now);
    expect(body).toMatchObject({
      client_name: 'Inspector',
      redirect_uris: [REDIRECT, 'https://app.example/cb', 'com.example.app:/cb'],
      token_endpoint_auth_method: 'none',
      grant_types: ['authorization_code', 'refresh_token'],
      response_types: ['code'],
    });
    expect(body).not.toHaveProperty('client_secret');
    expect(body).not.toHaveProperty('logo_uri');
    const stored = await b.store.getMcpClient(String(body.client_id), 0);
    expect(stored?.clientName).toBe('Inspector');
  });

  it('refuses redirect URIs that are not https, loopback http or a private-use scheme', async () => {
    for (const uri of [
      'http://evil.example/cb',
      'https://app.example/cb#frag',
      'javascript:alert(1)',
      'relative/path',
      'https://user:pw@app.example/cb',
    ]) {
      const res = await register(b, { redirect_uris: [uri] });
      expect(res.status, uri).toBe(400);
      const body = (await res.json()) as Record<string, string>;
      expect(body.error).toBe('invalid_redirect_uri');
      expect(body.error_description).not.toContain(uri);
    }
  });

  it('refuses unknown auth methods, other grants, a missing redirect and non-JSON', async () => {
    const cases: Array<[Record<string, unknown> | string, string]> = [
      [
        { redirect_uris: [REDIRECT], token_endpoint_auth_method: 'tls_client_auth' },
        'invalid_client_metadata',
      ],
      [
        { redirect_uris: [REDIRECT], grant_types: ['client_credentials'] },
        'invalid_client_metadata',
      ],
      [{ redirect_uris: [REDIRECT], response_types: ['token'] }, 'invalid_client_metadata'],
      [{ client_name: 'x' }, 'invalid_client_metadata'],
      [{ redirect_uris: [REDIRECT], client_name: 'x'.repeat(201) }, 'invalid_client_metadata'],
      [{ redirect_uris: Array.from({ length: 11 }, () => REDIRECT) }, 'invalid_client_metadata'],
    ];
    for (const [metadata, error] of cases) {
      const res = await register(b, metadata as Record<string, unknown>);
      expect(res.status, JSON.stringify(metadata).slice(0, 80)).toBe(400);
      expect(((await res.json()) as { error: string }).error).toBe(error);
    }
    const notJson = await b.app.request('/register', {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: '{not json',
    });
    expect(notJson.status).toBe(400);
    expect(((await notJson.json()) as { error: string }).error).toBe('invalid_client_metadata');
  });

  it('rate-limits registrations from one address', async () => {
    const burst = DEFAULT_REGISTRATION_LIMITS.perAddress.burst;
    for (let i = 0; i < burst; i++) expect((await register(b)).status).toBe(201);
    const limited = await register(b);
    expect(limited.status).toBe(429);
    expect(Number(limited.headers.get('retry-after'))).toBeGreaterThan(0);
    // Time refills the bucket.
    b.clock.now += 3600;
    expect((await register(b)).status).toBe(201);
  });

  it('caps live registrations; idle ones stop counting', async () => {
    const cap = DEFAULT_REGISTRATION_LIMITS.cap;
    const fill = b.store.sqlite.prepare(
      `INSERT INTO mcp_registered_clients (client_id, client_name, redirect_uris, created_at, last_used_at)
       VALUES (?, NULL, '[]', ?, ?)`,
    );
    b.store.sqlite.transaction(() => {
      for (let i = 0; i < cap; i++) {
        const id = `mcp_${randomBytes(12).toString('base64url')}`;
        fill.run(id, b.clock.now, b.clock.now);
      }
    })();
    const full = await register(b);
    expect(full.status).toBe(429);
    // Past the idle time, the old ones are no longer live and no longer count.
    b.clock.now += REGISTRATION_IDLE_SECONDS + 1;
    expect((await register(b)).status).toBe(201);
  });

  it('answers other methods with 405', async () => {
    const res = await b.app.request('/register');
    expect(res.status).toBe(405);
  });
});
