import { once } from 'node:events';
import http from 'node:http';
import net from 'node:net';
import { Hono } from 'hono';
import { decodeJwt, generateKeyPair, SignJWT, type JWTPayload } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  requireDelegation,
  type DelegationVariables,
  type RequireDelegationOptions,
} from 'baton/verify';
import { API, SECRETS } from '../helpers.js';
import { startLiveBroker, type LiveBroker } from './live-broker.js';

let broker: LiveBroker;
beforeAll(async () => {
  broker = await startLiveBroker();
});
afterAll(async () => {
  await broker.close();
});

const REALM = `realm="${API}"`;

/** A downstream API (the audience `API`) whose one route is guarded by the verifier. */
function downstream(options: Partial<RequireDelegationOptions> = {}) {
  const app = new Hono<{ Variables: DelegationVariables }>();
  app.get(
    '/bookings',
    requireDelegation({ issuer: broker.issuer, audience: API, ...options }),
    (c) => {
      const { sub, actors, scope, clientId, jti, claims } = c.get('delegation');
      return c.json({ sub, actors, scope, clientId, jti, aud: claims.aud });
    },
  );
  return app;
}

type Api = Hono<{ Variables: DelegationVariables }>;

/** GET /bookings with `Authorization: Bearer <token>`, or with no Authorization at all. */
function call(app: Api, token?: string) {
  return callWith(app, token === undefined ? undefined : `Bearer ${token}`);
}

function callWith(app: Api, authorization: string | undefined) {
  return app.request('/bookings', {
    headers: authorization === undefined ? {} : { authorization },
  });
}

/** alice (test IdP) → planner hands off to booker → booker's token for the API. */
async function chain(scope = 'flights:book') {
  const alice = await broker.idp.sign({ sub: 'alice' });
  const handoff = await broker.exchange('planner', {
    subject_token: alice,
    audience: 'agent:booker',
    scope: 'flights:book trips:read',
  });
  const apiToken = await broker.exchange('booker', {
    subject_token: handoff,
    audience: API,
    scope,
  });
  return { handoff, apiToken };
}

async function refusal(res: Response) {
  return {
    status: res.status,
    challenge: res.headers.get('www-authenticate'),
    body: await res.json(),
  };
}

function invalidToken(description: string) {
  return {
    status: 401,
    challenge: `Bearer ${REALM}, error="invalid_token", error_description="${description}"`,
    body: { error: 'invalid_token', error_description: description },
  };
}

async function deadUrl(): Promise<string> {
  const server = net.createServer().listen(0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address() as net.AddressInfo;
  server.close();
  await once(server, 'close');
  return `http://127.0.0.1:${port}`;
}

describe('requireDelegation against a running Baton', () => {
  it('lets a token with the right audience and scope through, and gives the handler sub, actors and scope', async () => {
    const { apiToken } = await chain();
    const res = await call(downstream({ scope: 'flights:book' }), apiToken);
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({
      sub: 'alice',
      actors: ['booker', 'planner'],
      scope: ['flights:book'],
      clientId: 'booker',
      jti: decodeJwt(apiToken).jti,
      aud: API,
    });
  });

  it('answers a request with no bearer token 401 with a bare challenge', async () => {
    const description = 'a Bearer access token is required (RFC 6750 Authorization header)';
    const expected = {
      status: 401,
      challenge: `Bearer ${REALM}`,
      body: { error: 'invalid_request', error_description: description },
    };
    expect(await refusal(await call(downstream()))).toEqual(expected);
    expect(await refusal(await callWith(downstream(), `Basic ${btoa('booker:secret')}`))).toEqual(
      expected,
    );
  });

  it('refuses a token that is not a JWT as invalid_token', async () => {
    expect(await refusal(await call(downstream(), 'not-a-jwt'))).toEqual(
      invalidToken('the token is not a valid signed JWT'),
    );
    expect(await refusal(await callWith(downstream(), 'Bearer a b c'))).toEqual(
      invalidToken('the Authorization header does not hold a Bearer token'),
    );
  });

  it('refuses a padded spelling of a valid token as invalid_token, and takes the canonical one (RFC 7515 §2)', async () => {
    const { apiToken } = await chain();
    const api = downstream();
    // A pad bit set in the last character: decoders ignore it, so jose alone would verify it.
    const B64URL = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_';
    const padBit = apiToken.slice(0, -1) + B64URL[B64URL.indexOf(apiToken.at(-1)!) ^ 1];
    for (const padded of [`${apiToken}==`, `${apiToken}=`, padBit]) {
      expect(await refusal(await call(api, padded))).toEqual(
        invalidToken('the token is not a valid signed JWT'),
      );
    }
    expect((await call(api, apiToken)).status).toBe(200);
  });

  it('refuses an expired token', async () => {
    broker.clock.offset = -3600;
    let expired: string;
    try {
      expired = (await chain()).apiToken;
    } finally {
      broker.clock.offset = 0;
    }
    expect(decodeJwt(expired).exp).toBeLessThan(Date.now() / 1000);
    expect(await refusal(await call(downstream(), expired))).toEqual(
      invalidToken('the token has expired'),
    );
  });

  it('refuses a token meant for another audience', async () => {
    const { handoff } = await chain();
    expect(decodeJwt(handoff).aud).toBe('agent:booker');
    expect(await refusal(await call(downstream(), handoff))).toEqual(
      invalidToken(`the token is not meant for ${API}`),
    );
  });

  it('answers 403 insufficient_scope, naming the scope needed, when a scope is missing', async () => {
    const { apiToken } = await chain('flights:book');
    const res = await call(downstream({ scope: ['flights:book', 'trips:book'] }), apiToken);
    expect(await refusal(res)).toEqual({
      status: 403,
      challenge: `Bearer ${REALM}, error="insufficient_scope", error_description="the token lacks the scope trips:book", scope="flights:book trips:book"`,
      body: {
        error: 'insufficient_scope',
        error_description: 'the token lacks the scope trips:book',
      },
    });
    expect((await call(downstream({ scope: 'flights:book' }), apiToken)).status).toBe(200);
  });

  it('refuses a chain deeper than maxDepth and accepts one at the limit', async () => {
    const { apiToken } = await chain();
    expect(await refusal(await call(downstream({ maxDepth: 1 }), apiToken))).toEqual(
      invalidToken('the delegation chain has 2 actors; this API accepts at most 1'),
    );
    expect((await call(downstream({ maxDepth: 2 }), apiToken)).status).toBe(200);
  });

  it('refuses a chain with any actor outside allowActors, earlier actors included', async () => {
    const { apiToken } = await chain();
    expect(await refusal(await call(downstream({ allowActors: ['booker'] }), apiToken))).toEqual(
      invalidToken('the agent planner may not act on this API'),
    );
    expect((await call(downstream({ allowActors: ['booker', 'planner'] }), apiToken)).status).toBe(
      200,
    );
  });

  it('judges a token with no act by its client_id under allowActors', async () => {
    const own = await broker.exchange('booker', {
      grant_type: 'client_credentials',
      audience: API,
    });
    expect(decodeJwt(own)).toMatchObject({ sub: 'booker', client_id: 'booker' });
    expect(decodeJwt(own).act).toBeUndefined();
    expect(await refusal(await call(downstream({ allowActors: ['planner'] }), own))).toEqual(
      invalidToken('the agent booker may not act on this API'),
    );
    const ok = await call(downstream({ allowActors: ['booker'], maxDepth: 0 }), own);
    expect(await ok.json()).toMatchObject({ sub: 'booker', actors: [] });
  });

  it('refuses tokens from another issuer, another key, an unknown kid or another algorithm', async () => {
    const { apiToken } = await chain();
    const claims = decodeJwt(apiToken);
    const kid = broker.deps.keyRing.kid;
    const app = downstream();

    const fromIdp = await broker.idp.sign({ sub: 'alice', aud: API });
    expect(await refusal(await call(app, fromIdp))).toEqual(
      invalidToken(`the token was not issued by ${broker.issuer}`),
    );

    const { privateKey } = await generateKeyPair('ES256');
    const forge = (
      header: { alg: string; kid?: string; typ?: string },
      key: CryptoKey | Uint8Array,
      payload: JWTPayload = claims,
    ) => new SignJWT(payload).setProtectedHeader(header).sign(key);
    expect(
      await refusal(await call(app, await forge({ alg: 'ES256', typ: 'at+jwt', kid }, privateKey))),
    ).toEqual(invalidToken('the token signature does not verify'));
    expect(
      await refusal(
        await call(app, await forge({ alg: 'ES256', typ: 'at+jwt', kid: 'other' }, privateKey)),
      ),
    ).toEqual(invalidToken('the token is signed with a key its issuer does not publish'));
    const hmac = new TextEncoder().encode(JSON.stringify(broker.deps.keyRing.jwks.keys[0]));
    expect(
      await refusal(await call(app, await forge({ alg: 'HS256', typ: 'at+jwt', kid }, hmac))),
    ).toEqual(invalidToken('the token is not signed with ES256'));
  });

  it("refuses a JWT signed with Baton's key that is not one of its access tokens", async () => {
    const { apiToken } = await chain();
    const claims = decodeJwt(apiToken);
    const sign = (header: { typ?: string }, payload: JWTPayload) =>
      new SignJWT(payload)
        .setProtectedHeader({ alg: 'ES256', kid: broker.deps.keyRing.kid, ...header })
        .sign(broker.deps.keyRing.privateKey);
    const app = downstream();
    expect(await refusal(await call(app, await sign({ typ: 'JWT' }, claims)))).toEqual(
      invalidToken('the token is not an access token (typ at+jwt)'),
    );
    expect(
      await refusal(
        await call(app, await sign({ typ: 'at+jwt' }, { ...claims, act: { sub: 42 } })),
      ),
    ).toEqual(invalidToken('the token has a malformed act claim'));
    const { client_id: _dropped, ...noClient } = claims;
    expect(await refusal(await call(app, await sign({ typ: 'at+jwt' }, noClient)))).toEqual(
      invalidToken('the token has no client_id claim'),
    );
  });

  it('honours a revoked token until it expires without introspect, and refuses it at once with introspect', async () => {
    const { handoff, apiToken } = await chain();
    const introspect = { clientId: 'api', clientSecret: SECRETS.api! };
    const checked = downstream({ introspect });
    const local = downstream();
    expect((await call(checked, apiToken)).status).toBe(200);

    // planner revokes the hand-off; the cascade revokes the API token derived from it.
    expect((await broker.post('/revoke', { token: handoff }, 'planner')).status).toBe(200);

    expect(await refusal(await call(checked, apiToken))).toEqual(
      invalidToken('the token has been revoked or is no longer active'),
    );
    // The trade-off: local verification alone cannot see the revocation.
    expect((await call(local, apiToken)).status).toBe(200);
  });

  it('fails closed with 503 when introspection refuses the API credentials', async () => {
    const { apiToken } = await chain();
    const res = await call(
      downstream({
        introspect: { clientId: 'api', clientSecret: 'wrong-secret-0123456789abcdef0123456789' },
      }),
      apiToken,
    );
    expect(await refusal(res)).toEqual({
      status: 503,
      challenge: null,
      body: {
        error: 'temporarily_unavailable',
        error_description: `the token could not be checked with ${broker.issuer}`,
      },
    });
  });

  it('answers 503 temporarily_unavailable, not 401 or 500, when the keys or metadata cannot be fetched', async () => {
    const { apiToken } = await chain();
    const dead = await deadUrl();
    const noKeys = await call(downstream({ jwksUri: `${dead}/jwks`, timeoutMs: 2_000 }), apiToken);
    expect(await refusal(noKeys)).toEqual({
      status: 503,
      challenge: null,
      body: {
        error: 'temporarily_unavailable',
        error_description: `the signing keys of ${broker.issuer} could not be fetched`,
      },
    });
    const noMetadata = requireDelegation({ issuer: dead, audience: API, timeoutMs: 2_000 });
    const app: Api = new Hono<{ Variables: DelegationVariables }>().get(
      '/bookings',
      noMetadata,
      (c) => c.text('ok'),
    );
    const forged = await new SignJWT({ sub: 'alice' })
      .setProtectedHeader({ alg: 'ES256', typ: 'at+jwt' })
      .setIssuer(dead)
      .sign((await generateKeyPair('ES256')).privateKey);
    expect(await refusal(await call(app, forged))).toEqual({
      status: 503,
      challenge: null,
      body: {
        error: 'temporarily_unavailable',
        error_description: `the metadata of ${dead} could not be fetched`,
      },
    });
  });

  it('answers 503 when the JWKS answer runs past 256 KB, cutting it off while it streams', async () => {
    const { apiToken } = await chain();
    let sent = 0;
    const huge = http.createServer((_req, res) => {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.write('{"keys":[');
      const chunk = Buffer.alloc(64 * 1024, ' ');
      const pump = () => {
        while (sent < 400 * 1024 * 1024 && !res.destroyed) {
          sent += chunk.length;
          if (!res.write(chunk)) return void res.once('drain', pump);
        }
        res.end(']}');
      };
      pump();
    });
    huge.listen(0, '127.0.0.1');
    await once(huge, 'listening');
    try {
      const { port } = huge.address() as net.AddressInfo;
      const res = await call(downstream({ jwksUri: `http://127.0.0.1:${port}/jwks` }), apiToken);
      expect(await refusal(res)).toEqual({
        status: 503,
        challenge: null,
        body: {
          error: 'temporarily_unavailable',
          error_description: `the signing keys of ${broker.issuer} could not be fetched`,
        },
      });
      expect(sent).toBeLessThan(16 * 1024 * 1024);
    } finally {
      huge.closeAllConnections();
      huge.close();
    }
  });

  it('refuses bad options with a TypeError at set-up', () => {
    expect(() => requireDelegation({ issuer: 'not a url', audience: API })).toThrow(TypeError);
    expect(() => requireDelegation({ issuer: broker.issuer, audience: API, maxDepth: -1 })).toThrow(
      TypeError,
    );
    expect(() =>
      requireDelegation({ issuer: broker.issuer, audience: API, scope: ['a"b'] }),
    ).toThrow(TypeError);
  });
});
