/**
 * Keys fetched from a `jwks_uri` (SPEC §2): a trusted issuer's and a private_key_jwt
 * client's, served by a real HTTP server the test controls; a key set that cannot be
 * fetched refuses the token with a reason, never a 5xx.
 */
import { once } from 'node:events';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { exportJWK, generateKeyPair, SignJWT } from 'jose';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { API, IDP, ISSUER, makeBroker, type TestBroker } from '../helpers.js';

let keysServer: http.Server;
let served: { status: number; body: string };
let fetches = 0;
let jwksUri: string;
let b: TestBroker;

beforeEach(async () => {
  fetches = 0;
  keysServer = http.createServer((_req, res) => {
    fetches++;
    res.writeHead(served.status, { 'content-type': 'application/json' }).end(served.body);
  });
  keysServer.listen(0, '127.0.0.1');
  await once(keysServer, 'listening');
  jwksUri = `http://127.0.0.1:${(keysServer.address() as AddressInfo).port}/jwks`;
});
afterEach(async () => {
  await b?.close();
  keysServer.close();
});

describe('a trusted issuer with jwks_uri', () => {
  beforeEach(async () => {
    b = await makeBroker({
      policy: (p) => ({ ...p, trusted_issuers: [{ issuer: IDP, jwks_uri: jwksUri, audience: ISSUER }] }),
    });
    served = { status: 200, body: JSON.stringify({ keys: [b.idp.jwk] }) };
  });

  it('fetches the keys once and verifies tokens with them', async () => {
    for (const sub of ['alice', 'bob']) {
      const res = await b.exchange('planner', { subject_token: await b.idp.sign({ sub }), audience: API, scope: 'trips:read' });
      expect(res.status).toBe(200);
    }
    expect(fetches).toBe(1);
  });

  it('refuses the token with invalid_request when the key set answers 500', async () => {
    served = { status: 500, body: 'oops' };
    const res = await b.exchange('planner', { subject_token: await b.idp.sign({ sub: 'alice' }), audience: API });
    expect(res).toEqual({
      status: 400,
      body: { error: 'invalid_request', error_description: "the subject token could not be checked: its issuer's keys are unavailable" },
    });
  });

  it('refuses the token with invalid_request when the key set cannot be reached', async () => {
    keysServer.close();
    keysServer.closeAllConnections();
    await once(keysServer, 'close');
    const res = await b.exchange('planner', { subject_token: await b.idp.sign({ sub: 'alice' }), audience: API });
    expect(res).toEqual({
      status: 400,
      body: { error: 'invalid_request', error_description: "the subject token could not be checked: its issuer's keys are unavailable" },
    });
  });
});

describe('a private_key_jwt client with jwks_uri', () => {
  it('authenticates with an assertion signed by a key from its jwks_uri', async () => {
    const { privateKey, publicKey } = await generateKeyPair('ES256');
    served = { status: 200, body: JSON.stringify({ keys: [{ ...(await exportJWK(publicKey)), kid: 'k1', alg: 'ES256' }] }) };
    b = await makeBroker({
      policy: (p) => ({
        ...p,
        clients: [
          ...p.clients,
          { client_id: 'remote', token_endpoint_auth_method: 'private_key_jwt', jwks_uri: jwksUri, grant_types: ['client_credentials'], scopes: ['trips:read'] },
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
