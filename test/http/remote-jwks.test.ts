/**
 * Keys fetched from a `jwks_uri` (SPEC §2): a trusted issuer's and a private_key_jwt
 * client's, served by a real HTTP server the test controls; a key set that cannot be
 * fetched refuses the token with a reason, never a 5xx. The key server is http on
 * 127.0.0.1, which only the policy's development switch allows (issue 9 point 14):
 * without it, http is refused at load and a non-public address at fetch time, and even
 * with it an answer past 256 KB is cut off and a redirect is not followed.
 */
import { once } from 'node:events';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { exportJWK, generateKeyPair, SignJWT } from 'jose';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { parsePolicy, type PolicyFile } from '../../broker/config/policy.js';
import { ConfigError } from '../../broker/config/format-issues.js';
import { API, IDP, ISSUER, makeBroker, makeIdp, testPolicy, type TestBroker } from '../helpers.js';

/** The development switch that lets a jwks_uri be http on a private address (the local key server). */
const DEV = { development: { allow_insecure_key_urls: true } };
const UNAVAILABLE = {
  status: 400,
  body: {
    error: 'invalid_request',
    error_description: "the subject token could not be checked: its issuer's keys are unavailable",
  },
};

let keysServer: http.Server;
let served: { status: number; body: string };
/** When set, answers instead of `served` (a huge body, a redirect). */
let route: ((req: http.IncomingMessage, res: http.ServerResponse) => void) | undefined;
let fetches = 0;
/** TCP connections accepted, requests or not (an https client speaking to this http server makes no request). */
let connections = 0;
let paths: string[] = [];
let jwksUri: string;
let port: number;
let b: TestBroker;

beforeEach(async () => {
  fetches = 0;
  connections = 0;
  paths = [];
  route = undefined;
  keysServer = http.createServer((req, res) => {
    fetches++;
    paths.push(req.url ?? '');
    if (route !== undefined) return route(req, res);
    res.writeHead(served.status, { 'content-type': 'application/json' }).end(served.body);
  });
  keysServer.on('connection', () => connections++);
  keysServer.listen(0, '127.0.0.1');
  await once(keysServer, 'listening');
  port = (keysServer.address() as AddressInfo).port;
  jwksUri = `http://127.0.0.1:${port}/jwks`;
});
afterEach(async () => {
  await b?.close();
  keysServer.closeAllConnections();
  keysServer.close();
});

describe('a trusted issuer with jwks_uri', () => {
  beforeEach(async () => {
    b = await makeBroker({
      policy: (p) => ({
        ...p,
        ...DEV,
        trusted_issuers: [{ issuer: IDP, jwks_uri: jwksUri, audience: ISSUER }],
      }),
    });
    served = { status: 200, body: JSON.stringify({ keys: [b.idp.jwk] }) };
  });

  it('fetches the keys once and verifies tokens with them', async () => {
    for (const sub of ['alice', 'bob']) {
      const res = await b.exchange('planner', {
        subject_token: await b.idp.sign({ sub }),
        audience: API,
        scope: 'trips:read',
      });
      expect(res.status).toBe(200);
    }
    expect(fetches).toBe(1);
  });

  it('refuses the token with invalid_request when the key set answers 500', async () => {
    served = { status: 500, body: 'oops' };
    const res = await b.exchange('planner', {
      subject_token: await b.idp.sign({ sub: 'alice' }),
      audience: API,
    });
    expect(res).toEqual({
      status: 400,
      body: {
        error: 'invalid_request',
        error_description:
          "the subject token could not be checked: its issuer's keys are unavailable",
      },
    });
  });

  it('refuses the token with invalid_request when the key set cannot be reached', async () => {
    keysServer.close();
    keysServer.closeAllConnections();
    await once(keysServer, 'close');
    const res = await b.exchange('planner', {
      subject_token: await b.idp.sign({ sub: 'alice' }),
      audience: API,
    });
    expect(res).toEqual({
      status: 400,
      body: {
        error: 'invalid_request',
        error_description:
          "the subject token could not be checked: its issuer's keys are unavailable",
      },
    });
  });
});

describe('a private_key_jwt client with jwks_uri', () => {
  it('authenticates with an assertion signed by a key from its jwks_uri', async () => {
    const { privateKey, publicKey } = await generateKeyPair('ES256');
    served = {
      status: 200,
      body: JSON.stringify({
        keys: [{ ...(await exportJWK(publicKey)), kid: 'k1', alg: 'ES256' }],
      }),
    };
    b = await makeBroker({
      policy: (p) => ({
        ...p,
        ...DEV,
        clients: [
          ...p.clients,
          {
            client_id: 'remote',
            token_endpoint_auth_method: 'private_key_jwt',
            jwks_uri: jwksUri,
            grant_types: ['client_credentials'],
            scopes: ['trips:read'],
          },
        ],
      }),
    });
    const assertion = await new SignJWT({ jti: crypto.randomUUID() })
      .setProtectedHeader({ alg: 'ES256', kid: 'k1' })
      .setIssuer('remote')
      .setSubject('remote')
      .setAudience(`${ISSUER}/token`)
      .setExpirationTime(b.clock.now + 60)
      .sign(privateKey);
    const res = await b.post('/token', {
      grant_type: 'client_credentials',
      client_assertion_type: 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer',
      client_assertion: assertion,
    });
    expect(res.status).toBe(200);
    expect(await res.json()).toMatchObject({ token_type: 'Bearer', scope: 'trips:read' });
  });
});

describe('key URLs that must not be fetched (issue 9 point 14)', () => {
  const httpIssuer = (p: PolicyFile, uri: string): PolicyFile => ({
    ...p,
    trusted_issuers: [{ issuer: IDP, jwks_uri: uri, audience: ISSUER }],
  });
  const httpClient = (p: PolicyFile, uri: string): PolicyFile => ({
    ...p,
    clients: [
      ...p.clients,
      {
        client_id: 'remote',
        token_endpoint_auth_method: 'private_key_jwt',
        jwks_uri: uri,
        grant_types: ['client_credentials'],
      },
    ],
  });

  it('refuses an http jwks_uri at policy load without the development switch, and takes it with the switch', async () => {
    const base = testPolicy((await makeIdp(() => 0)).jwk);
    expect(() => parsePolicy(httpIssuer(base, jwksUri), ISSUER)).toThrow(ConfigError);
    expect(() => parsePolicy(httpIssuer(base, jwksUri), ISSUER)).toThrow(
      'trusted_issuers.0.jwks_uri: must be https (http only with development.allow_insecure_key_urls)',
    );
    expect(() => parsePolicy(httpClient(base, jwksUri), ISSUER)).toThrow(
      'clients.5.jwks_uri: must be https (http only with development.allow_insecure_key_urls)',
    );
    expect(
      parsePolicy({ ...httpIssuer(base, jwksUri), ...DEV }, ISSUER).trustedIssuers.get(IDP)
        ?.jwksUri,
    ).toBe(jwksUri);
    expect(
      parsePolicy({ ...httpClient(base, jwksUri), ...DEV }, ISSUER).clients.get('remote')?.jwksUri,
    ).toBe(jwksUri);
    expect(parsePolicy(base, ISSUER).allowInsecureKeyUrls).toBe(false);
  });

  it('refuses loopback, private, link-local and unique-local key URLs at fetch time, without connecting', async () => {
    const uris = [
      `https://127.0.0.1:${port}/jwks`,
      `https://localhost:${port}/jwks`,
      `https://[::1]:${port}/jwks`,
      `https://[::ffff:127.0.0.1]:${port}/jwks`,
      'https://10.0.0.1/jwks',
      'https://192.168.1.1/jwks',
      'https://169.254.169.254/latest/meta-data',
      'https://[fd00::1]/jwks',
      'https://[fe80::1]/jwks',
    ];
    b = await makeBroker({
      policy: (p) => ({
        ...p,
        trusted_issuers: uris.map((uri, i) => ({
          issuer: `https://idp-${i}.test`,
          jwks_uri: uri,
          audience: ISSUER,
        })),
      }),
    });
    served = { status: 200, body: JSON.stringify({ keys: [b.idp.jwk] }) };
    for (const [i, uri] of uris.entries()) {
      const res = await b.exchange('planner', {
        subject_token: await b.idp.sign({ sub: 'alice', iss: `https://idp-${i}.test` }),
        audience: API,
      });
      expect({ uri, ...res }).toEqual({ uri, ...UNAVAILABLE });
    }
    expect(connections).toBe(0);
  });

  it("refuses a private_key_jwt client's loopback jwks_uri at fetch time", async () => {
    const { privateKey, publicKey } = await generateKeyPair('ES256');
    served = {
      status: 200,
      body: JSON.stringify({
        keys: [{ ...(await exportJWK(publicKey)), kid: 'k1', alg: 'ES256' }],
      }),
    };
    b = await makeBroker({ policy: (p) => httpClient(p, `https://127.0.0.1:${port}/jwks`) });
    const assertion = await new SignJWT({ jti: crypto.randomUUID() })
      .setProtectedHeader({ alg: 'ES256', kid: 'k1' })
      .setIssuer('remote')
      .setSubject('remote')
      .setAudience(ISSUER)
      .setExpirationTime(b.clock.now + 60)
      .sign(privateKey);
    const res = await b.post('/token', {
      grant_type: 'client_credentials',
      client_assertion_type: 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer',
      client_assertion: assertion,
    });
    expect({ status: res.status, body: await res.json() }).toEqual({
      status: 401,
      body: { error: 'invalid_client', error_description: 'client authentication failed' },
    });
    expect(connections).toBe(0);
  });

  describe('with the development switch on', () => {
    beforeEach(async () => {
      b = await makeBroker({
        policy: (p) => ({
          ...p,
          ...DEV,
          trusted_issuers: [{ issuer: IDP, jwks_uri: jwksUri, audience: ISSUER }],
        }),
      });
      served = { status: 200, body: JSON.stringify({ keys: [b.idp.jwk] }) };
    });

    it('cuts a 400 MB key set off while it streams, past 256 KB, and refuses the token', async () => {
      const TOTAL = 400 * 1024 * 1024;
      let sent = 0;
      const closed = new Promise<void>((resolve) => {
        route = (_req, res) => {
          res.on('close', resolve);
          res.writeHead(200, { 'content-type': 'application/json' });
          res.write('{"keys":[');
          const chunk = Buffer.alloc(64 * 1024, ' ');
          const pump = () => {
            while (sent < TOTAL && !res.destroyed) {
              sent += chunk.length;
              if (!res.write(chunk)) return void res.once('drain', pump);
            }
            res.end(']}');
          };
          pump();
        };
      });
      const res = await b.exchange('planner', {
        subject_token: await b.idp.sign({ sub: 'alice' }),
        audience: API,
      });
      expect(res).toEqual(UNAVAILABLE);
      await closed;
      // The broker hung up long before the end: what the server managed to write is socket buffers, not the body.
      expect(sent).toBeLessThan(16 * 1024 * 1024);
    });

    it('refuses a key set whose Content-Length is over the cap without reading it', async () => {
      const closed = new Promise<void>((resolve) => {
        route = (_req, res) => {
          res.on('close', resolve);
          res.writeHead(200, {
            'content-type': 'application/json',
            'content-length': String(400 * 1024 * 1024),
          });
          res.write('{"keys":[');
        };
      });
      const res = await b.exchange('planner', {
        subject_token: await b.idp.sign({ sub: 'alice' }),
        audience: API,
      });
      expect(res).toEqual(UNAVAILABLE);
      await closed;
    });

    it('does not follow a redirect', async () => {
      route = (req, res) => {
        if (req.url === '/jwks')
          return void res.writeHead(302, { location: `http://127.0.0.1:${port}/elsewhere` }).end();
        res.writeHead(200, { 'content-type': 'application/json' }).end(served.body);
      };
      const res = await b.exchange('planner', {
        subject_token: await b.idp.sign({ sub: 'alice' }),
        audience: API,
      });
      expect(res).toEqual(UNAVAILABLE);
      expect(paths).toEqual(['/jwks']);
    });

    it('still takes a key set of ordinary size (the control)', async () => {
      const res = await b.exchange('planner', {
        subject_token: await b.idp.sign({ sub: 'alice' }),
        audience: API,
        scope: 'trips:read',
      });
      expect(res.status).toBe(200);
    });
  });
});
