/**
 * End to end: a real `npm start` broker, driven by a real OAuth client library
 * (oauth4webapi). A person's token from a test issuer → planner hands off to booker →
 * booker gets an API token; every token verifies against the broker's JWKS; revoking the
 * middle hop cascades; a restart on the same database keeps keys, tokens and revocations.
 */
import { createHash } from 'node:crypto';
import http from 'node:http';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { createRemoteJWKSet, decodeJwt, jwtVerify } from 'jose';
import * as oauth from 'oauth4webapi';
import * as openid from 'openid-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { API, AT, makeIdp, SECRETS, TE, type TestIdp } from '../helpers.js';
import { freePort, startBrokerProcess, type BrokerProcess } from './broker-process.js';

const sha = (s: string) => createHash('sha256').update(s).digest('hex');
const insecure = { [oauth.allowInsecureRequests]: true };

let dir: string;
let broker: BrokerProcess;
let port: number;
let idp: TestIdp;
let env: Record<string, string>;
let as: oauth.AuthorizationServer;

function writePolicy(file: string, idpJwk: Record<string, unknown>, issuer: string) {
  const client = (id: string, scopes: string[], audiences: string[]) => ({
    client_id: id,
    client_secret_sha256: sha(SECRETS[id]!),
    grant_types: [TE, 'client_credentials'],
    scopes,
    audiences,
  });
  writeFileSync(
    file,
    JSON.stringify({
      max_delegation_depth: 4,
      trusted_issuers: [{ issuer: 'https://idp.test', jwks: { keys: [idpJwk] }, audience: issuer }],
      clients: [
        client('planner', ['trips:read', 'flights:book'], ['agent:booker']),
        client('booker', ['flights:book'], [API]),
        client('api', [], []),
      ],
    }),
  );
}

async function discover(url: string) {
  const issuer = new URL(url);
  return oauth.processDiscoveryResponse(
    issuer,
    await oauth.discoveryRequest(issuer, { algorithm: 'oauth2', ...insecure }),
  );
}

async function exchange(clientId: string, params: Record<string, string>) {
  const client: oauth.Client = { client_id: clientId };
  const response = await oauth.genericTokenEndpointRequest(
    as,
    client,
    oauth.ClientSecretBasic(SECRETS[clientId]!),
    TE,
    { subject_token_type: AT, ...params },
    insecure,
  );
  return oauth.processGenericTokenEndpointResponse(as, client, response);
}

async function introspect(token: string) {
  const client: oauth.Client = { client_id: 'api' };
  const response = await oauth.introspectionRequest(
    as,
    client,
    oauth.ClientSecretBasic(SECRETS.api!),
    token,
    insecure,
  );
  return oauth.processIntrospectionResponse(as, client, response);
}

beforeAll(async () => {
  dir = mkdtempSync(path.join(tmpdir(), 'baton-e2e-'));
  port = await freePort();
  const issuer = `http://127.0.0.1:${port}`;
  let now = Math.floor(Date.now() / 1000);
  idp = await makeIdp(() => now);
  // The test IdP issues for this broker's issuer.
  const policyFile = path.join(dir, 'policy.json');
  writePolicy(policyFile, idp.jwk, issuer);
  env = { BATON_DB: path.join(dir, 'baton.db'), BATON_POLICY: policyFile };
  broker = await startBrokerProcess(env, port);
  as = await discover(broker.url);
  now = Math.floor(Date.now() / 1000);
});

afterAll(async () => {
  await broker?.stop();
  rmSync(dir, { recursive: true, force: true });
});

describe('a three-hop chain against a real broker process', () => {
  const issued: Record<string, string> = {};

  it('exchanges hop after hop, each token verifying against the JWKS', async () => {
    const person = await idp.sign({
      sub: 'alice',
      aud: broker.url,
      scope: 'trips:read flights:book',
    });
    const handoff = await exchange('planner', {
      subject_token: person,
      audience: 'agent:booker',
      scope: 'flights:book',
    });
    const apiToken = await exchange('booker', {
      subject_token: handoff.access_token,
      audience: API,
    });
    issued.handoff = handoff.access_token;
    issued.api = apiToken.access_token;

    const jwks = createRemoteJWKSet(new URL(as.jwks_uri!));
    const first = await jwtVerify(handoff.access_token, jwks, {
      issuer: broker.url,
      audience: 'agent:booker',
      typ: 'at+jwt',
    });
    expect(first.payload).toMatchObject({
      sub: 'alice',
      scope: 'flights:book',
      client_id: 'planner',
      act: { sub: 'planner' },
    });
    const second = await jwtVerify(apiToken.access_token, jwks, {
      issuer: broker.url,
      audience: API,
      typ: 'at+jwt',
    });
    expect(second.payload).toMatchObject({
      sub: 'alice',
      scope: 'flights:book',
      client_id: 'booker',
      act: { sub: 'booker', act: { sub: 'planner' } },
    });
    expect(apiToken.token_type).toBe('bearer');
    expect(apiToken.issued_token_type).toBe(AT);
    expect(await introspect(apiToken.access_token)).toMatchObject({
      active: true,
      sub: 'alice',
      act: { sub: 'booker', act: { sub: 'planner' } },
    });
  });

  it('refuses a widened scope with the OAuth error the client library surfaces', async () => {
    const error = await exchange('booker', {
      subject_token: issued.handoff!,
      audience: API,
      scope: 'trips:read',
    }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(oauth.ResponseBodyError);
    expect((error as oauth.ResponseBodyError).error).toBe('invalid_scope');
  });

  it('revoking the middle hop cascades to the API token', async () => {
    const client: oauth.Client = { client_id: 'planner' };
    const response = await oauth.revocationRequest(
      as,
      client,
      oauth.ClientSecretBasic(SECRETS.planner!),
      issued.handoff!,
      insecure,
    );
    await oauth.processRevocationResponse(response);
    expect(await introspect(issued.api!)).toEqual({ active: false });
    expect(await introspect(issued.handoff!)).toEqual({ active: false });
    const error = await exchange('booker', { subject_token: issued.handoff!, audience: API }).catch(
      (e: unknown) => e,
    );
    expect((error as oauth.ResponseBodyError).error).toBe('invalid_request');
  });

  it('after a restart on the same database keeps the key, the tokens and the revocations', async () => {
    const jwksBefore = await (await fetch(as.jwks_uri!)).json();
    const person = await idp.sign({ sub: 'bob', aud: broker.url, scope: 'flights:book' });
    const live = await exchange('planner', { subject_token: person, audience: 'agent:booker' });

    await broker.stop('SIGTERM');
    broker = await startBrokerProcess(env, port);

    expect(await (await fetch(as.jwks_uri!)).json()).toEqual(jwksBefore);
    expect(await introspect(live.access_token)).toMatchObject({
      active: true,
      sub: 'bob',
      jti: decodeJwt(live.access_token).jti,
    });
    expect(await introspect(issued.api!)).toEqual({ active: false });
    // The live token can still be exchanged, hop after hop, after the restart.
    const next = await exchange('booker', { subject_token: live.access_token, audience: API });
    expect(decodeJwt(next.access_token)).toMatchObject({
      sub: 'bob',
      act: { sub: 'booker', act: { sub: 'planner' } },
    });
  });

  it('refuses bodies over 64 KB with 413 over real HTTP, with a length or chunked', async () => {
    const big = `grant_type=client_credentials&pad=${'x'.repeat(70 * 1024)}`;
    const withLength = await fetch(`${broker.url}/token`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: big,
    });
    expect(withLength.status).toBe(413);
    expect(withLength.headers.get('cache-control')).toBe('no-store');
    expect(await withLength.json()).toEqual({
      error: 'invalid_request',
      error_description: 'the request body is larger than 64 KB',
    });

    const chunked = await new Promise<{ status: number; body: string }>((resolve, reject) => {
      const req = http.request(
        `${broker.url}/token`,
        { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' } },
        (res) => {
          let body = '';
          res.on('data', (b: Buffer) => (body += b.toString()));
          res.on('end', () => resolve({ status: res.statusCode!, body }));
        },
      );
      req.on('error', reject);
      for (let i = 0; i < 70; i++) req.write('x'.repeat(1024)); // no Content-Length: chunked
      req.end();
    });
    expect(chunked.status).toBe(413);
    expect(JSON.parse(chunked.body)).toEqual({
      error: 'invalid_request',
      error_description: 'the request body is larger than 64 KB',
    });
  });

  it('works with openid-client from its default discovery on: exchange, introspection, revocation', async () => {
    const options = { execute: [openid.allowInsecureRequests] };
    // The clients are registered for client_secret_basic (openid-client defaults to post).
    const planner = await openid.discovery(
      new URL(broker.url),
      'planner',
      undefined,
      openid.ClientSecretBasic(SECRETS.planner!),
      options,
    );
    const booker = await openid.discovery(
      new URL(broker.url),
      'booker',
      undefined,
      openid.ClientSecretBasic(SECRETS.booker!),
      options,
    );
    const person = await idp.sign({ sub: 'carol', aud: broker.url, scope: 'flights:book' });
    const handoff = await openid.genericGrantRequest(planner, TE, {
      subject_token: person,
      subject_token_type: AT,
      audience: 'agent:booker',
    });
    const api = await openid.genericGrantRequest(booker, TE, {
      subject_token: handoff.access_token,
      subject_token_type: AT,
      audience: API,
    });
    expect(await openid.tokenIntrospection(booker, api.access_token)).toMatchObject({
      active: true,
      sub: 'carol',
      act: { sub: 'booker', act: { sub: 'planner' } },
    });
    await openid.tokenRevocation(planner, handoff.access_token);
    expect(await openid.tokenIntrospection(booker, api.access_token)).toEqual({ active: false });
  });
});
