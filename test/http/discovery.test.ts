/**
 * Discovery (SPEC §3): RFC 8414 metadata a client can use on its own, and a JWKS that
 * publishes public keys only and verifies the tokens Baton issues.
 */
import { createLocalJWKSet, jwtVerify, type JSONWebKeySet } from 'jose';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { API, ISSUER, makeBroker, TE, type TestBroker } from '../helpers.js';

let b: TestBroker;
beforeEach(async () => {
  b = await makeBroker();
});
afterEach(async () => {
  await b.close();
});

async function metadata(): Promise<Record<string, unknown>> {
  const res = await b.app.request('/.well-known/oauth-authorization-server');
  expect(res.status).toBe(200);
  expect(res.headers.get('content-type')).toMatch(/^application\/json/);
  return (await res.json()) as Record<string, unknown>;
}

async function jwks(): Promise<JSONWebKeySet> {
  const res = await b.app.request('/jwks');
  expect(res.status).toBe(200);
  expect(res.headers.get('content-type')).toMatch(/^application\/(jwk-set\+)?json/);
  return (await res.json()) as JSONWebKeySet;
}

/** A path on this app from an absolute URL the metadata gave. */
function pathOf(url: unknown): string {
  expect(typeof url).toBe('string');
  const u = new URL(url as string);
  expect(u.origin).toBe(ISSUER);
  return u.pathname;
}

describe('RFC 8414 metadata', () => {
  it('lists the issuer, every endpoint, grants, auth methods and scopes', async () => {
    const m = await metadata();
    expect(m).toMatchObject({
      issuer: ISSUER,
      token_endpoint: `${ISSUER}/token`,
      jwks_uri: `${ISSUER}/jwks`,
      introspection_endpoint: `${ISSUER}/introspect`,
      revocation_endpoint: `${ISSUER}/revoke`,
      // `none`: public MCP clients (SPEC §8).
      token_endpoint_auth_methods_supported: [
        'client_secret_basic',
        'client_secret_post',
        'private_key_jwt',
        'none',
      ],
      introspection_endpoint_auth_methods_supported: [
        'client_secret_basic',
        'client_secret_post',
        'private_key_jwt',
      ],
      revocation_endpoint_auth_methods_supported: [
        'client_secret_basic',
        'client_secret_post',
        'private_key_jwt',
        'none',
      ],
      scopes_supported: ['flights:book', 'trips:book', 'trips:read'],
    });
    expect(m.grant_types_supported).toEqual(expect.arrayContaining([TE, 'client_credentials']));
    const algs = m.token_endpoint_auth_signing_alg_values_supported as string[];
    expect(algs).toContain('ES256');
    expect(algs).not.toContain('none');
    expect(algs.filter((a) => a.startsWith('HS'))).toEqual([]);
  });

  it('lists the scopes MCP clients may ask a person for among scopes_supported', async () => {
    await b.close();
    b = await makeBroker({
      policy: (p) => ({
        ...p,
        mcp_clients: { accept: 'all', scopes: ['mail:read', 'trips:read'] },
      }),
    });
    expect((await metadata()).scopes_supported).toEqual([
      'flights:book',
      'mail:read',
      'trips:book',
      'trips:read',
    ]);
    await b.close();
    b = await makeBroker({
      policy: (p) => ({ ...p, mcp_clients: { accept: 'none', scopes: ['mail:read'] } }),
    });
    expect((await metadata()).scopes_supported).toEqual([
      'flights:book',
      'trips:book',
      'trips:read',
    ]);
  });

  it('names endpoints that answer, so a client needs nothing else', async () => {
    const m = await metadata();
    const token = await b.post(
      pathOf(m.token_endpoint),
      { grant_type: 'client_credentials', audience: API, scope: 'flights:book' },
      'booker',
    );
    expect(token.status).toBe(200);
    const accessToken = ((await token.json()) as { access_token: string }).access_token;
    const introspect = await b.post(
      pathOf(m.introspection_endpoint),
      { token: accessToken },
      'api',
    );
    expect(await introspect.json()).toMatchObject({ active: true, sub: 'booker', aud: API });
    const revoke = await b.post(pathOf(m.revocation_endpoint), { token: accessToken }, 'booker');
    expect(revoke.status).toBe(200);
    const after = await b.post(pathOf(m.introspection_endpoint), { token: accessToken }, 'api');
    expect(await after.json()).toEqual({ active: false });
    expect((await b.app.request(pathOf(m.jwks_uri))).status).toBe(200);
  });
});

describe('JWKS', () => {
  it('publishes the public signing key only', async () => {
    const set = await jwks();
    expect(set.keys).toHaveLength(1);
    const [key] = set.keys;
    expect(key).toEqual({
      kty: 'EC',
      crv: 'P-256',
      x: expect.any(String),
      y: expect.any(String),
      kid: expect.any(String),
      alg: 'ES256',
      use: 'sig',
    });
    expect(key).not.toHaveProperty('d');
    expect(JSON.stringify(set)).not.toMatch(/"d"\s*:/);
  });

  it('verifies an issued token with jose, by kid, as an at+jwt from the issuer', async () => {
    const alice = await b.idp.sign({ sub: 'alice' });
    const res = await b.exchange('planner', {
      subject_token: alice,
      audience: 'agent:booker',
      scope: 'trips:read',
    });
    expect(res.status).toBe(200);
    const keySet = createLocalJWKSet(await jwks());
    const { payload, protectedHeader } = await jwtVerify(res.body.access_token as string, keySet, {
      issuer: ISSUER,
      audience: 'agent:booker',
      typ: 'at+jwt',
      currentDate: new Date(b.clock.now * 1000),
    });
    expect(protectedHeader).toEqual({
      alg: 'ES256',
      typ: 'at+jwt',
      kid: (await jwks()).keys[0]!.kid,
    });
    expect(payload).toEqual({
      iss: ISSUER,
      sub: 'alice',
      aud: 'agent:booker',
      exp: b.clock.now + 300,
      iat: b.clock.now,
      jti: expect.any(String),
      client_id: 'planner',
      scope: 'trips:read',
      act: { sub: 'planner' },
    });
  });
});

describe('OpenID discovery alias', () => {
  it('serves the same document at /.well-known/openid-configuration', async () => {
    const res = await b.app.request('/.well-known/openid-configuration');
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual(await metadata());
  });
});
