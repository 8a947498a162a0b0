/**
 * Client authentication at the token endpoint (SPEC §3, RFC 6749 §2.3, RFC 7523 §3):
 * each client only by the method it is registered for, one method per request, and
 * every failure the same 401 `invalid_client`.
 */
import { createHash } from 'node:crypto';
import {
  exportJWK,
  exportSPKI,
  generateKeyPair,
  importJWK,
  SignJWT,
  type CryptoKey,
  type JWK,
  type JWTPayload,
} from 'jose';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { PolicyFile } from '../../broker/config/policy.js';
import { API, AT, basic, ISSUER, makeBroker, SECRETS, TE, type TestBroker } from '../helpers.js';

const ASSERTION_TYPE = 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer';
const FAILED = { error: 'invalid_client', error_description: 'client authentication failed' };
const BASIC_CHALLENGE = 'Basic realm="baton", charset="UTF-8"';
/** A secret with every character RFC 6749 §2.3.1 makes a client form-urlencode. */
const SPECIAL_SECRET = 'p@ss:w%rd+plus &amp=eq/sl?q#h é€ 0123456789abcdefghij';

const sha = (s: string) => createHash('sha256').update(s).digest('hex');

async function json(res: Response): Promise<unknown> {
  return res.json();
}

describe('client_secret_basic and client_secret_post', () => {
  let b: TestBroker;
  beforeEach(async () => {
    b = await makeBroker({
      policy: (p: PolicyFile) => ({
        ...p,
        clients: [
          ...p.clients,
          {
            client_id: 'special',
            client_secret_sha256: sha(SPECIAL_SECRET),
            grant_types: ['client_credentials'],
            scopes: ['trips:read'],
          },
        ],
      }),
    });
  });
  afterEach(async () => {
    await b.close();
  });

  it('accepts client_secret_basic for a client registered for it', async () => {
    const res = await b.post('/token', { grant_type: 'client_credentials' }, 'planner');
    expect(res.status).toBe(200);
    expect(res.headers.get('cache-control')).toBe('no-store');
    expect(await json(res)).toEqual({
      access_token: expect.any(String),
      token_type: 'Bearer',
      expires_in: 300,
      scope: 'trips:read trips:book flights:book',
    });
  });

  it('accepts client_secret_post for poster', async () => {
    const alice = await b.idp.sign({ sub: 'alice' });
    const res = await b.post('/token', {
      grant_type: TE,
      subject_token_type: AT,
      subject_token: alice,
      audience: API,
      client_id: 'poster',
      client_secret: SECRETS.poster!,
    });
    expect(res.status).toBe(200);
    expect(await json(res)).toEqual({
      access_token: expect.any(String),
      issued_token_type: AT,
      token_type: 'Bearer',
      expires_in: 300,
      scope: 'trips:read',
    });
  });

  it('refuses Basic for poster, which is registered for client_secret_post', async () => {
    const alice = await b.idp.sign({ sub: 'alice' });
    const res = await b.post(
      '/token',
      { grant_type: TE, subject_token_type: AT, subject_token: alice, audience: API },
      'poster',
    );
    expect(res.status).toBe(401);
    expect(res.headers.get('www-authenticate')).toBe(BASIC_CHALLENGE);
    expect(await json(res)).toEqual(FAILED);
  });

  it('refuses client_secret_post for planner, which is registered for client_secret_basic', async () => {
    const res = await b.post('/token', {
      grant_type: 'client_credentials',
      client_id: 'planner',
      client_secret: SECRETS.planner!,
    });
    expect(res.status).toBe(401);
    expect(await json(res)).toEqual(FAILED);
  });

  it('answers an unknown client and a wrong secret with byte-identical 401 bodies', async () => {
    const unknown = await b.post('/token', { grant_type: 'client_credentials' }, null, {
      authorization: basic('nobody', 'whatever-secret-0123456789abcdef0123'),
    });
    const wrong = await b.post('/token', { grant_type: 'client_credentials' }, null, {
      authorization: basic('planner', 'not-the-secret-0123456789abcdef012345'),
    });
    for (const res of [unknown, wrong]) {
      expect(res.status).toBe(401);
      expect(res.headers.get('www-authenticate')?.startsWith('Basic')).toBe(true);
      expect(res.headers.get('cache-control')).toBe('no-store');
    }
    const [a, c] = [await unknown.text(), await wrong.text()];
    expect(a).toBe(c);
    expect(JSON.parse(a)).toEqual(FAILED);
  });

  it('answers an unknown client and a wrong secret over client_secret_post alike', async () => {
    const unknown = await b.post('/token', {
      grant_type: TE,
      client_id: 'nobody',
      client_secret: 'x'.repeat(40),
    });
    const wrong = await b.post('/token', {
      grant_type: TE,
      client_id: 'poster',
      client_secret: 'x'.repeat(40),
    });
    for (const res of [unknown, wrong]) {
      expect(res.status).toBe(401);
    }
    const [a, c] = [await unknown.text(), await wrong.text()];
    expect(a).toBe(c);
    expect(JSON.parse(a)).toEqual(FAILED);
  });

  it('answers a request without any client authentication with 401 invalid_client', async () => {
    const res = await b.post('/token', { grant_type: 'client_credentials', client_id: 'planner' });
    expect(res.status).toBe(401);
    expect(res.headers.get('cache-control')).toBe('no-store');
    expect(await json(res)).toEqual(FAILED);
  });

  it('refuses two authentication methods in one request with 400 invalid_request', async () => {
    const res = await b.post(
      '/token',
      { grant_type: 'client_credentials', client_secret: SECRETS.planner! },
      'planner',
    );
    expect(res.status).toBe(400);
    expect(res.headers.get('cache-control')).toBe('no-store');
    expect(await json(res)).toEqual({
      error: 'invalid_request',
      error_description: 'use exactly one client authentication method',
    });
  });

  it('refuses client_secret and client_assertion together with 400 invalid_request', async () => {
    const res = await b.post('/token', {
      grant_type: 'client_credentials',
      client_id: 'poster',
      client_secret: SECRETS.poster!,
      client_assertion: 'a.b.c',
      client_assertion_type: ASSERTION_TYPE,
    });
    expect(res.status).toBe(400);
    expect(await json(res)).toEqual({
      error: 'invalid_request',
      error_description: 'use exactly one client authentication method',
    });
  });

  it.each([
    ['not base64', 'Basic !!!not-base64!!!'],
    ['empty', 'Basic '],
    ['no colon', `Basic ${Buffer.from('planner').toString('base64')}`],
    [
      'bad percent-encoding',
      `Basic ${Buffer.from(`planner:%zz${SECRETS.planner}`).toString('base64')}`,
    ],
  ])('answers a malformed Basic header (%s) with 401', async (_name, header) => {
    const res = await b.post('/token', { grant_type: 'client_credentials' }, null, {
      authorization: header,
    });
    expect(res.status).toBe(401);
    expect(res.headers.get('www-authenticate')).toBe(BASIC_CHALLENGE);
    expect(await json(res)).toEqual(FAILED);
  });

  it('refuses a client_id in the body that differs from the Basic one', async () => {
    const res = await b.post(
      '/token',
      { grant_type: 'client_credentials', client_id: 'booker' },
      'planner',
    );
    expect(res.status).toBe(401);
    expect(await json(res)).toEqual(FAILED);
  });

  it('url-decodes Basic credentials, so a secret with special characters works (RFC 6749 §2.3.1)', async () => {
    const res = await b.post('/token', { grant_type: 'client_credentials' }, null, {
      authorization: basic('special', SPECIAL_SECRET),
    });
    expect(res.status).toBe(200);
    expect(await json(res)).toEqual({
      access_token: expect.any(String),
      token_type: 'Bearer',
      expires_in: 300,
      scope: 'trips:read',
    });
  });

  it('decodes "+" in Basic credentials as a space (form-urlencoding)', async () => {
    const formEncoded = new URLSearchParams({ s: SPECIAL_SECRET }).toString().slice(2);
    expect(formEncoded).toContain('+');
    const header = `Basic ${Buffer.from(`special:${formEncoded}`).toString('base64')}`;
    const res = await b.post('/token', { grant_type: 'client_credentials' }, null, {
      authorization: header,
    });
    expect(res.status).toBe(200);
  });
});

describe('private_key_jwt (RFC 7523 §3)', () => {
  let b: TestBroker;
  let privateKey: CryptoKey;
  let publicJwk: JWK;

  beforeEach(async () => {
    const pair = await generateKeyPair('ES256', { extractable: true });
    privateKey = pair.privateKey;
    publicJwk = { ...(await exportJWK(pair.publicKey)), kid: 'signer-1', alg: 'ES256', use: 'sig' };
    b = await makeBroker({
      policy: (p: PolicyFile) => ({
        ...p,
        clients: [
          ...p.clients,
          {
            client_id: 'signer',
            token_endpoint_auth_method: 'private_key_jwt',
            jwks: { keys: [publicJwk as { kty: string }] },
            grant_types: ['client_credentials'],
            scopes: ['trips:read'],
            audiences: [],
          },
        ],
      }),
    });
  });
  afterEach(async () => {
    await b.close();
  });

  let counter = 0;
  function assertion(
    claims: JWTPayload = {},
    opts: { key?: CryptoKey | Uint8Array; alg?: string; exp?: number | null } = {},
  ) {
    const jwt = new SignJWT({
      iss: 'signer',
      sub: 'signer',
      aud: ISSUER,
      jti: `jti-${++counter}`,
      ...claims,
    })
      .setProtectedHeader({ alg: opts.alg ?? 'ES256', kid: 'signer-1' })
      .setIssuedAt(b.clock.now);
    if (opts.exp !== null) jwt.setExpirationTime(opts.exp ?? b.clock.now + 60);
    return jwt.sign(opts.key ?? privateKey);
  }

  function withAssertion(clientAssertion: string, extra: Record<string, string> = {}) {
    return b.post('/token', {
      grant_type: 'client_credentials',
      client_assertion_type: ASSERTION_TYPE,
      client_assertion: clientAssertion,
      ...extra,
    });
  }

  async function expectRefused(res: Response) {
    expect(res.status).toBe(401);
    expect(res.headers.get('cache-control')).toBe('no-store');
    expect(await json(res)).toEqual(FAILED);
  }

  const ISSUED = {
    access_token: expect.any(String),
    token_type: 'Bearer',
    expires_in: 300,
    scope: 'trips:read',
  };

  it('accepts an assertion whose aud is the issuer', async () => {
    const res = await withAssertion(await assertion());
    expect(res.status).toBe(200);
    expect(await json(res)).toEqual(ISSUED);
  });

  it('accepts an assertion whose aud is the token endpoint, with a matching client_id in the body', async () => {
    const res = await withAssertion(await assertion({ aud: `${ISSUER}/token` }), {
      client_id: 'signer',
    });
    expect(res.status).toBe(200);
    expect(await json(res)).toEqual(ISSUED);
  });

  it('accepts an assertion that lives exactly the maximum five minutes', async () => {
    const res = await withAssertion(await assertion({}, { exp: b.clock.now + 300 }));
    expect(res.status).toBe(200);
  });

  it('authenticates at the introspection endpoint too', async () => {
    const res = await b.post('/introspect', {
      token: 'not-a-token',
      client_assertion_type: ASSERTION_TYPE,
      client_assertion: await assertion(),
    });
    expect(res.status).toBe(200);
    expect(await json(res)).toEqual({ active: false });
  });

  it('refuses the same jti a second time (replay)', async () => {
    const once = await assertion();
    expect((await withAssertion(once)).status).toBe(200);
    await expectRefused(await withAssertion(once));
  });

  it('refuses a freshly signed assertion that reuses a jti', async () => {
    expect((await withAssertion(await assertion({ jti: 'reused' }))).status).toBe(200);
    b.clock.now += 5;
    await expectRefused(await withAssertion(await assertion({ jti: 'reused' })));
  });

  it('refuses an assertion without exp', async () => {
    await expectRefused(await withAssertion(await assertion({}, { exp: null })));
  });

  it('refuses an assertion that lives too long (exp an hour away)', async () => {
    await expectRefused(await withAssertion(await assertion({}, { exp: b.clock.now + 3600 })));
  });

  it('refuses an expired assertion', async () => {
    await expectRefused(await withAssertion(await assertion({}, { exp: b.clock.now - 1 })));
  });

  it('refuses an assertion for another audience', async () => {
    await expectRefused(
      await withAssertion(await assertion({ aud: 'https://elsewhere.example/token' })),
    );
  });

  it('refuses an assertion without jti', async () => {
    await expectRefused(await withAssertion(await assertion({ jti: undefined })));
  });

  it('refuses an assertion whose sub is not the client', async () => {
    await expectRefused(await withAssertion(await assertion({ sub: 'planner' })));
  });

  it('refuses an assertion whose client_id in the body differs', async () => {
    await expectRefused(await withAssertion(await assertion(), { client_id: 'planner' }));
  });

  it('refuses an assertion signed with another key under the same kid', async () => {
    const other = await generateKeyPair('ES256');
    await expectRefused(await withAssertion(await assertion({}, { key: other.privateKey })));
  });

  it('refuses an unsigned assertion (alg none)', async () => {
    const enc = (o: object) => Buffer.from(JSON.stringify(o)).toString('base64url');
    const unsigned = `${enc({ alg: 'none', typ: 'JWT' })}.${enc({
      iss: 'signer',
      sub: 'signer',
      aud: ISSUER,
      jti: 'none-1',
      exp: b.clock.now + 60,
    })}.`;
    await expectRefused(await withAssertion(unsigned));
  });

  it('refuses an HS256 assertion keyed with the public key bytes (algorithm confusion)', async () => {
    const pem = await exportSPKI((await importJWK(publicJwk, 'ES256')) as CryptoKey);
    await expectRefused(
      await withAssertion(
        await assertion({}, { alg: 'HS256', key: new TextEncoder().encode(pem) }),
      ),
    );
    await expectRefused(
      await withAssertion(
        await assertion(
          {},
          { alg: 'HS256', key: new TextEncoder().encode(JSON.stringify(publicJwk)) },
        ),
      ),
    );
  });

  it('refuses an assertion without client_assertion_type', async () => {
    const res = await b.post('/token', {
      grant_type: 'client_credentials',
      client_assertion: await assertion(),
    });
    await expectRefused(res);
  });

  it('refuses an assertion with a wrong client_assertion_type', async () => {
    await expectRefused(
      await b.post('/token', {
        grant_type: 'client_credentials',
        client_assertion_type: 'urn:ietf:params:oauth:client-assertion-type:saml2-bearer',
        client_assertion: await assertion(),
      }),
    );
  });

  it('refuses a client_secret client that sends an assertion', async () => {
    await expectRefused(await withAssertion(await assertion({ iss: 'planner', sub: 'planner' })));
  });

  it('refuses Basic for the private_key_jwt client', async () => {
    const res = await b.post('/token', { grant_type: 'client_credentials' }, null, {
      authorization: basic('signer', 'some-secret-0123456789abcdef0123456789'),
    });
    expect(res.status).toBe(401);
    expect(res.headers.get('www-authenticate')).toBe(BASIC_CHALLENGE);
    expect(await json(res)).toEqual(FAILED);
  });
});
