/**
 * SPEC §8: registered MCP clients are public "unless they register keys". A client that
 * registers for `client_secret_basic` or `client_secret_post` is given a secret once
 * (kept only as its SHA-256); one that registers `private_key_jwt` with its public `jwks`
 * signs RFC 7523 assertions. Either then authenticates at `/token` like a policy client,
 * and can no longer pass as a public client with its bare `client_id`.
 */
import { createHash } from 'node:crypto';
import { exportJWK, generateKeyPair, SignJWT, type JWK } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { registrableKeys } from '../../broker/mcp-auth/register.js';
import { Browser } from '../console/console-helpers.js';
import { ISSUER, basic } from '../helpers.js';
import {
  consentFlow,
  makeMcpAuthBroker,
  REDIRECT,
  register,
  RESOURCE,
  tokenRequest,
  type CodeResult,
  type McpAuthBroker,
} from './mcp-auth-helpers.js';

const ASSERTION_TYPE = 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer';

describe('registered MCP clients with credentials', () => {
  let b: McpAuthBroker;
  let browser: Browser;
  beforeAll(async () => {
    b = await makeMcpAuthBroker();
    browser = new Browser((p, init) => b.mcpApp.request(p, init));
  });
  afterAll(async () => {
    await b.close();
  });

  async function registerFor(metadata: Record<string, unknown>) {
    const res = await register(b, {
      client_name: 'Confidential client',
      redirect_uris: [REDIRECT],
      ...metadata,
    });
    return { status: res.status, body: (await res.json()) as Record<string, unknown> };
  }

  const codeForm = (r: CodeResult) => ({
    grant_type: 'authorization_code',
    code: r.code,
    redirect_uri: REDIRECT,
    code_verifier: r.verifier,
    resource: RESOURCE,
  });

  async function tokenWithBasic(id: string, secret: string, form: Record<string, string>) {
    const res = await b.app.request('/token', {
      method: 'POST',
      headers: {
        'content-type': 'application/x-www-form-urlencoded',
        authorization: basic(id, secret),
      },
      body: new URLSearchParams(form).toString(),
    });
    return { status: res.status, body: (await res.json()) as Record<string, unknown> };
  }

  it('client_secret_basic: a secret given once, stored as its digest, required at /token', async () => {
    const reg = await registerFor({ token_endpoint_auth_method: 'client_secret_basic' });
    expect(reg.status).toBe(201);
    expect(reg.body).toMatchObject({
      token_endpoint_auth_method: 'client_secret_basic',
      client_secret_expires_at: 0,
    });
    const id = String(reg.body.client_id);
    const secret = String(reg.body.client_secret);
    expect(secret.length).toBeGreaterThanOrEqual(40);

    const stored = await b.deps.store.getMcpClient(id, 0);
    expect(stored).toMatchObject({
      authMethod: 'client_secret_basic',
      secretSha256: createHash('sha256').update(secret).digest('hex'),
    });
    expect(JSON.stringify(stored)).not.toContain(secret);

    const r = await consentFlow(browser, id);
    // Its bare client_id no longer makes it a public client.
    const bare = await tokenRequest(b, { ...codeForm(r), client_id: id });
    expect(bare.status).toBe(401);
    expect(bare.body.error).toBe('invalid_client');
    const wrong = await tokenWithBasic(id, `${secret}x`, codeForm(r));
    expect(wrong.status).toBe(401);
    expect(wrong.body.error).toBe('invalid_client');
    const posted = await tokenRequest(b, { ...codeForm(r), client_id: id, client_secret: secret });
    expect(posted.status).toBe(401);

    const issued = await tokenWithBasic(id, secret, codeForm(r));
    expect(issued.status).toBe(200);
    expect(issued.body).toMatchObject({ token_type: 'Bearer', refresh_token: expect.any(String) });
    const refreshed = await tokenWithBasic(id, secret, {
      grant_type: 'refresh_token',
      refresh_token: String(issued.body.refresh_token),
    });
    expect(refreshed.status).toBe(200);
    expect(refreshed.body.access_token).toEqual(expect.any(String));
  });

  it('client_secret_post: the secret in the body', async () => {
    const reg = await registerFor({ token_endpoint_auth_method: 'client_secret_post' });
    expect(reg.status).toBe(201);
    const id = String(reg.body.client_id);
    const r = await consentFlow(browser, id);
    const issued = await tokenRequest(b, {
      ...codeForm(r),
      client_id: id,
      client_secret: String(reg.body.client_secret),
    });
    expect(issued.status).toBe(200);
    expect(issued.body.access_token).toEqual(expect.any(String));
  });

  it('private_key_jwt: public keys registered inline, assertions signed with them, jti once', async () => {
    const { publicKey, privateKey } = await generateKeyPair('ES256');
    const jwk: JWK = { ...(await exportJWK(publicKey)), kid: 'k1', alg: 'ES256', use: 'sig' };
    const reg = await registerFor({
      token_endpoint_auth_method: 'private_key_jwt',
      jwks: { keys: [jwk] },
    });
    expect(reg.status).toBe(201);
    expect(reg.body.client_secret).toBeUndefined();
    expect(reg.body.token_endpoint_auth_method).toBe('private_key_jwt');
    const id = String(reg.body.client_id);
    const assertion = (jti: string) =>
      new SignJWT({ iss: id, sub: id, aud: `${ISSUER}/token`, jti })
        .setProtectedHeader({ alg: 'ES256', kid: 'k1' })
        .setIssuedAt(b.clock.now)
        .setExpirationTime(b.clock.now + 60)
        .sign(privateKey);

    const r = await consentFlow(browser, id);
    expect((await tokenRequest(b, { ...codeForm(r), client_id: id })).status).toBe(401);
    const once = await assertion('a-1');
    const issued = await tokenRequest(b, {
      ...codeForm(r),
      client_assertion_type: ASSERTION_TYPE,
      client_assertion: once,
    });
    expect(issued.status).toBe(200);
    const replay = await tokenRequest(b, {
      grant_type: 'refresh_token',
      refresh_token: String(issued.body.refresh_token),
      client_assertion_type: ASSERTION_TYPE,
      client_assertion: once,
    });
    expect(replay.status).toBe(401);
    const fresh = await tokenRequest(b, {
      grant_type: 'refresh_token',
      refresh_token: String(issued.body.refresh_token),
      client_assertion_type: ASSERTION_TYPE,
      client_assertion: await assertion('a-2'),
    });
    expect(fresh.status).toBe(200);
  });

  it('refuses key registrations it cannot honour, as invalid_client_metadata', async () => {
    // A broker of its own: these eight registrations would use up this address's burst.
    const own = await makeMcpAuthBroker();
    const { publicKey, privateKey } = await generateKeyPair('ES256', { extractable: true });
    const cases: Record<string, unknown>[] = [
      { token_endpoint_auth_method: 'private_key_jwt' },
      { token_endpoint_auth_method: 'private_key_jwt', jwks: { keys: [] } },
      {
        token_endpoint_auth_method: 'private_key_jwt',
        jwks: { keys: [await exportJWK(privateKey)] },
      },
      {
        token_endpoint_auth_method: 'private_key_jwt',
        jwks: { keys: [{ kty: 'oct', k: 'c2VjcmV0' }] },
      },
      { token_endpoint_auth_method: 'private_key_jwt', jwks_uri: 'https://client.example/jwks' },
      { token_endpoint_auth_method: 'none', jwks: { keys: [await exportJWK(publicKey)] } },
      { token_endpoint_auth_method: 'client_secret_jwt' },
    ];
    try {
      for (const metadata of cases) {
        const res = await register(own, { redirect_uris: [REDIRECT], ...metadata });
        const body = (await res.json()) as Record<string, unknown>;
        expect(res.status, JSON.stringify(metadata)).toBe(400);
        expect(body.error).toBe('invalid_client_metadata');
        expect(String(body.error_description)).not.toMatch(/[^\x20-\x7e]|["\\]/);
      }
    } finally {
      await own.close();
    }
  });

  it('a public registration stays public: no secret, its client_id alone at /token', async () => {
    const reg = await registerFor({ token_endpoint_auth_method: 'none' });
    expect(reg.status).toBe(201);
    expect(reg.body.client_secret).toBeUndefined();
    const id = String(reg.body.client_id);
    const r = await consentFlow(browser, id);
    expect((await tokenRequest(b, { ...codeForm(r), client_id: id })).status).toBe(200);
  });
});

describe('registrableKeys: the jwks a private_key_jwt registration may keep', () => {
  const refusal = (jwks: unknown) => {
    try {
      registrableKeys(jwks);
    } catch (error) {
      expect(error).toMatchObject({ code: 'invalid_client_metadata', status: 400 });
      return (error as Error).message;
    }
    return 'kept';
  };

  it('keeps public EC, RSA and OKP keys as a JWK Set, and nothing else', async () => {
    const keys = await Promise.all(
      (['ES256', 'RS256', 'EdDSA'] as const).map(async (alg) => ({
        ...(await exportJWK((await generateKeyPair(alg)).publicKey)),
        kid: alg,
      })),
    );
    expect(JSON.parse(registrableKeys({ keys, extra: 'dropped' }))).toEqual({ keys });
  });

  it('refuses what is not a set of usable public keys, saying which way', async () => {
    const ec = await exportJWK((await generateKeyPair('ES256')).publicKey);
    expect(refusal('x')).toMatch(/must be a JWK Set/);
    expect(refusal({ keys: 'x' })).toMatch(/must be a JWK Set/);
    expect(refusal({ keys: [1] })).toMatch(/must be a JWK object/);
    expect(refusal({ keys: [[ec]] })).toMatch(/must be a JWK object/);
    expect(refusal({ keys: Array.from({ length: 11 }, () => ec) })).toMatch(/1 to 10 keys/);
    expect(refusal({ keys: [{ ...ec, x: 'AAAA' }] })).toMatch(/not a usable public key/);
    expect(refusal({ keys: [{ ...ec, kid: 'k'.repeat(20_000) }] })).toMatch(/too large/);
    expect(refusal({ keys: [ec] })).toBe('kept');
  });
});
