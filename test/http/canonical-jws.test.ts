/**
 * Issue 9 point 3: a JWT is accepted only in its one canonical spelling (RFC 7515 §7.1,
 * §2: three unpadded base64url segments). jose decodes the signature segment leniently,
 * so `==` padding, a space, a tab or a line break inside it, or a trailing space or
 * newline, used to verify: one token, many strings. Each place Baton reads a JWT is
 * tried with those spellings of a token that works in its canonical form.
 */
import { exportJWK, generateKeyPair, SignJWT, type JWK } from 'jose';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createApp } from '../../broker/app.js';
import type { PolicyFile } from '../../broker/config/policy.js';
import { mountMcp } from '../../mcp-server/http.js';
import { API, AT, ISSUER, makeBroker, type TestBroker } from '../helpers.js';

const B64URL = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_';

/**
 * The signature with a pad bit set: an ES256 signature is 64 bytes, 86 characters, so
 * the last character carries 4 bits that decoders ignore (RFC 4648 §3.5).
 */
function withPadBit(token: string): string {
  const last = B64URL.indexOf(token.at(-1)!);
  return token.slice(0, -1) + B64URL[last ^ 1];
}

/** Spellings of `token` that differ only in what base64url forbids. */
function respellings(token: string): Record<string, string> {
  const [h, p, s] = token.split('.') as [string, string, string];
  return {
    'a pad bit set in the signature': withPadBit(token),
    'padded with ==': `${token}==`,
    'a space inside the signature': `${h}.${p}.${s.slice(0, 10)} ${s.slice(10)}`,
    'a tab inside the signature': `${h}.${p}.${s.slice(0, 10)}\t${s.slice(10)}`,
    'a line break inside the signature': `${h}.${p}.${s.slice(0, 10)}\n${s.slice(10)}`,
    'a CRLF at the end': `${token}\r\n`,
    'a trailing newline': `${token}\n`,
    'a trailing space': `${token} `,
  };
}

const MCP = `${ISSUER}/mcp`;
const ASSERTION_TYPE = 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer';

let b: TestBroker;
let signerKey: CryptoKey;
beforeEach(async () => {
  const pair = await generateKeyPair('ES256', { extractable: true });
  signerKey = pair.privateKey;
  const jwk: JWK = { ...(await exportJWK(pair.publicKey)), kid: 'signer-1', alg: 'ES256' };
  b = await makeBroker({
    policy: (p: PolicyFile) => ({
      ...p,
      clients: [
        ...p.clients.map((c) =>
          c.client_id === 'planner' ? { ...c, audiences: [...(c.audiences ?? []), MCP] } : c,
        ),
        {
          client_id: 'signer',
          token_endpoint_auth_method: 'private_key_jwt',
          jwks: { keys: [jwk as { kty: string }] },
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

async function clientCredentials(client: string, audience?: string): Promise<string> {
  const res = await b.post(
    '/token',
    { grant_type: 'client_credentials', ...(audience ? { audience } : {}) },
    client,
  );
  expect(res.status).toBe(200);
  return ((await res.json()) as { access_token: string }).access_token;
}

async function handOffToBooker(): Promise<string> {
  const res = await b.exchange('planner', {
    subject_token: await b.idp.sign({ sub: 'alice' }),
    audience: 'agent:booker',
  });
  expect(res.status).toBe(200);
  return res.body.access_token as string;
}

async function introspect(token: string) {
  const res = await b.post('/introspect', { token }, 'planner');
  expect(res.status).toBe(200);
  return (await res.json()) as { active: boolean };
}

describe('a JWT is taken only in its canonical compact spelling', () => {
  it('refuses a respelled subject token from a trusted issuer, and takes the canonical one', async () => {
    const token = await b.idp.sign({ sub: 'alice' });
    for (const [how, variant] of Object.entries(respellings(token))) {
      const res = await b.exchange('planner', {
        subject_token: variant,
        audience: API,
        scope: 'trips:read',
      });
      expect({ how, ...res }).toEqual({
        how,
        status: 400,
        body: {
          error: 'invalid_request',
          error_description: 'the subject token is not a valid signed JWT',
        },
      });
    }
    expect(
      (await b.exchange('planner', { subject_token: token, audience: API, scope: 'trips:read' }))
        .status,
    ).toBe(200);
  });

  it('refuses a respelled hand-off, and takes the canonical one', async () => {
    const handOff = await handOffToBooker();
    for (const [how, variant] of Object.entries(respellings(handOff))) {
      const res = await b.exchange('booker', { subject_token: variant, audience: API });
      expect({ how, ...res }).toEqual({
        how,
        status: 400,
        body: {
          error: 'invalid_request',
          error_description: 'the subject token is not a valid signed JWT',
        },
      });
    }
    expect((await b.exchange('booker', { subject_token: handOff, audience: API })).status).toBe(
      200,
    );
  });

  it('refuses a respelled actor token, and takes the canonical one', async () => {
    const handOff = await handOffToBooker();
    const actor = await clientCredentials('booker');
    for (const [how, variant] of Object.entries(respellings(actor))) {
      const res = await b.exchange('booker', {
        subject_token: handOff,
        actor_token: variant,
        actor_token_type: AT,
        audience: API,
      });
      expect({ how, ...res }).toEqual({
        how,
        status: 400,
        body: {
          error: 'invalid_request',
          error_description: 'the actor token is not a valid signed JWT',
        },
      });
    }
    const res = await b.exchange('booker', {
      subject_token: handOff,
      actor_token: actor,
      actor_token_type: AT,
      audience: API,
    });
    expect(res.status).toBe(200);
  });

  it('refuses a respelled client assertion with invalid_client, and takes the canonical one', async () => {
    let n = 0;
    // A fresh jti each time, so only the spelling can be why an assertion is refused.
    const assertion = () =>
      new SignJWT({ jti: `canonical-${++n}` })
        .setProtectedHeader({ alg: 'ES256', kid: 'signer-1' })
        .setIssuer('signer')
        .setSubject('signer')
        .setAudience(ISSUER)
        .setExpirationTime(b.clock.now + 60)
        .sign(signerKey);
    for (const how of Object.keys(respellings(await assertion()))) {
      const variant = respellings(await assertion())[how]!;
      const res = await b.post('/token', {
        grant_type: 'client_credentials',
        client_assertion_type: ASSERTION_TYPE,
        client_assertion: variant,
      });
      expect({ how, status: res.status, body: await res.json() }).toEqual({
        how,
        status: 401,
        body: { error: 'invalid_client', error_description: 'client authentication failed' },
      });
    }
    const res = await b.post('/token', {
      grant_type: 'client_credentials',
      client_assertion_type: ASSERTION_TYPE,
      client_assertion: await assertion(),
    });
    expect(res.status).toBe(200);
  });

  it('introspects a respelled token as {"active": false}, and the canonical one as active', async () => {
    const token = await handOffToBooker();
    for (const [how, variant] of Object.entries(respellings(token))) {
      expect({ how, body: await introspect(variant) }).toEqual({ how, body: { active: false } });
    }
    expect(await introspect(token)).toMatchObject({ active: true });
  });

  it('answers a respelled token at revocation with 200 and revokes nothing; the canonical one revokes', async () => {
    const token = await handOffToBooker();
    for (const [how, variant] of Object.entries(respellings(token))) {
      const res = await b.post('/revoke', { token: variant }, 'planner');
      expect({ how, status: res.status, body: await res.text() }).toEqual({
        how,
        status: 200,
        body: '',
      });
    }
    expect(await introspect(token)).toMatchObject({ active: true });
    expect((await b.post('/revoke', { token }, 'planner')).status).toBe(200);
    expect(await introspect(token)).toEqual({ active: false });
  });

  it('refuses a padded bearer token at /mcp with 401 invalid_token, and takes the canonical one', async () => {
    const app = createApp(b.deps, [mountMcp]);
    const token = await clientCredentials('planner', MCP);
    const call = (authorization: string) =>
      app.request('/mcp', {
        method: 'POST',
        headers: {
          authorization,
          'content-type': 'application/json',
          accept: 'application/json, text/event-stream',
        },
        body: JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'tools/list' }),
      });
    for (const padded of [`${token}==`, `${token}=`, withPadBit(token)]) {
      const res = await call(`Bearer ${padded}`);
      expect({ status: res.status, body: await res.json() }).toEqual({
        status: 401,
        body: { error: 'invalid_token', error_description: 'the token is not active' },
      });
      expect(res.headers.get('www-authenticate')).toContain('error="invalid_token"');
    }
    expect((await call(`Bearer ${token}`)).status).toBe(200);
  });
});
