/**
 * `HttpBrokerClient` as `baton-mcp` configures it from its environment, against a real
 * broker: private_key_jwt assertions (a fresh jti each call), typed refusals, and the
 * environment parsing that builds its credentials.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { exportJWK, generateKeyPair, type JWK } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { approveRequest } from '../../broker/approvals/decide.js';
import { BrokerRefused } from '../../mcp-server/broker-client.js';
import { HttpBrokerClient } from '../../mcp-server/http-broker-client.js';
import { EnvError, parseStdioEnv } from '../../mcp-server/stdio-env.js';
import { API, CIBA, claimsOf, TE, withApprovals } from '../helpers.js';
import { startLiveBroker, type LiveBroker } from './live-broker.js';

let broker: LiveBroker;
let privateJwk: JWK;
let dir: string;

beforeAll(async () => {
  const { privateKey, publicKey } = await generateKeyPair('ES256', { extractable: true });
  privateJwk = { ...(await exportJWK(privateKey)), kid: 'keyed-1' };
  const publicJwk = { ...(await exportJWK(publicKey)), kid: 'keyed-1', alg: 'ES256', use: 'sig' };
  broker = await startLiveBroker({
    policy: (p) => ({
      ...withApprovals(p),
      clients: [
        ...withApprovals(p).clients,
        {
          client_id: 'keyed',
          token_endpoint_auth_method: 'private_key_jwt',
          jwks: { keys: [publicJwk as { kty: string }] },
          grant_types: [TE, 'client_credentials', CIBA],
          scopes: ['trips:read'],
          audiences: [API],
        },
      ],
    }),
  });
  dir = mkdtempSync(path.join(tmpdir(), 'baton-mcp-env-'));
});
afterAll(async () => {
  await broker.close();
  rmSync(dir, { recursive: true, force: true });
});

describe('HttpBrokerClient', () => {
  it('authenticates with private_key_jwt, a new assertion for every call', async () => {
    const client = new HttpBrokerClient({
      url: broker.url,
      credentials: { method: 'private_key_jwt', clientId: 'keyed', jwk: privateJwk },
    });
    const own = await client.clientCredentials();
    expect(claimsOf(own.access_token)).toMatchObject({
      sub: 'keyed',
      client_id: 'keyed',
      aud: broker.url,
      scope: 'trips:read',
    });
    const alice = await broker.idp.sign({ sub: 'alice' });
    const task = await client.exchange({ subjectToken: alice, audience: [API], expiresIn: 60 });
    expect(task).toMatchObject({ token_type: 'Bearer', expires_in: 60, scope: 'trips:read' });
    expect(claimsOf(task.access_token)).toMatchObject({ sub: 'alice', act: { sub: 'keyed' } });
    expect(await client.introspect(task.access_token)).toMatchObject({
      active: true,
      sub: 'alice',
      client_id: 'keyed',
    });
  });

  it('turns an OAuth error response into BrokerRefused with error and description', async () => {
    const client = new HttpBrokerClient({
      url: broker.url,
      credentials: {
        method: 'client_secret_basic',
        clientId: 'planner',
        secret: 'wrong-secret-0123456789abcdef0123',
      },
    });
    const error = await client.clientCredentials().catch((e: unknown) => e);
    expect(error).toBeInstanceOf(BrokerRefused);
    expect(error).toMatchObject({
      error: 'invalid_client',
      errorDescription: 'client authentication failed',
      status: 401,
    });
  });

  it('finds the backchannel endpoint in the metadata and speaks CIBA with private_key_jwt', async () => {
    const client = new HttpBrokerClient({
      url: broker.url,
      credentials: { method: 'private_key_jwt', clientId: 'keyed', jwk: privateJwk },
    });
    expect((await client.metadata()).backchannel_authentication_endpoint).toBe(
      `${broker.url}/bc-authorize`,
    );
    const approvals = (await client.approvals())!;
    const started = await approvals.start({
      user: 'alice',
      scope: 'trips:read',
      audience: [API],
      reason: 'Plan the trip',
    });
    expect(started).toEqual({ auth_req_id: expect.any(String), expires_in: 300, interval: 5 });
    expect(await approvals.poll(started.auth_req_id)).toEqual({ status: 'pending' });
    expect(await approvals.poll(started.auth_req_id)).toEqual({ status: 'slow_down' });
    const now = Math.floor(Date.now() / 1000);
    expect((await approveRequest(broker.deps.store, started.auth_req_id, { now })).ok).toBe(true);
    const approved = await approvals.poll(started.auth_req_id);
    expect(approved).toEqual({
      status: 'approved',
      token: {
        access_token: expect.any(String),
        token_type: 'Bearer',
        expires_in: 300,
        scope: 'trips:read',
      },
    });
    expect(
      claimsOf(approved.status === 'approved' ? approved.token.access_token : ''),
    ).toMatchObject({ sub: 'alice', act: { sub: 'keyed' }, aud: API });
    await expect(approvals.poll(started.auth_req_id)).rejects.toMatchObject({
      error: 'invalid_grant',
      status: 400,
    });
  });
});

describe('baton-mcp environment', () => {
  it('reads a private JWK file for private_key_jwt and defaults BATON_URL', () => {
    const file = path.join(dir, 'key.json');
    writeFileSync(file, JSON.stringify(privateJwk));
    expect(parseStdioEnv({ BATON_CLIENT_ID: 'keyed', BATON_PRIVATE_KEY_FILE: file })).toEqual({
      url: 'http://127.0.0.1:8787',
      credentials: { method: 'private_key_jwt', clientId: 'keyed', jwk: privateJwk },
      subjectToken: undefined,
      tokenFile: undefined,
      ownToken: 'person',
      tokenCache: true,
    });
  });

  it('refuses a person token together with client_credentials, and an unknown cache setting', () => {
    expect(() =>
      parseStdioEnv({
        BATON_CLIENT_ID: 'planner',
        BATON_CLIENT_SECRET: 's3cret-value',
        BATON_OWN_TOKEN: 'client_credentials',
        BATON_TOKEN_FILE: '/tmp/secret-path',
        BATON_TOKEN_CACHE: 'maybe',
      }),
    ).toThrow(
      new EnvError(
        [
          'BATON_TOKEN_CACHE: must be "on" (reuse exchanged tokens, the default) or "off"',
          'BATON_OWN_TOKEN: client_credentials acts for the agent itself; unset BATON_SUBJECT_TOKEN and BATON_TOKEN_FILE, or use "person"',
        ].join('\n'),
      ),
    );
    expect(
      parseStdioEnv({
        BATON_CLIENT_ID: 'planner',
        BATON_CLIENT_SECRET: 's3cret-value',
        BATON_TOKEN_FILE: '/home/me/planner.token',
        BATON_TOKEN_CACHE: 'off',
      }),
    ).toMatchObject({ tokenFile: '/home/me/planner.token', ownToken: 'person', tokenCache: false });
  });

  it('names every bad setting, and never echoes a value', () => {
    const file = path.join(dir, 'public.json');
    writeFileSync(file, JSON.stringify({ kty: 'EC', crv: 'P-256', x: 'a', y: 'b' }));
    expect(() =>
      parseStdioEnv({
        BATON_URL: 'ftp://secret-host',
        BATON_CLIENT_SECRET: 's3cret-value',
        BATON_PRIVATE_KEY_FILE: file,
      }),
    ).toThrow(
      new EnvError(
        [
          'BATON_URL: must be the http(s) URL of the Baton broker',
          'BATON_CLIENT_ID: is required: the client id this agent is registered as',
          'BATON_CLIENT_SECRET: set exactly one of BATON_CLIENT_SECRET (client_secret_basic) or BATON_PRIVATE_KEY_FILE (private_key_jwt, a private JWK in JSON)',
        ].join('\n'),
      ),
    );
    expect(() => parseStdioEnv({ BATON_CLIENT_ID: 'keyed', BATON_PRIVATE_KEY_FILE: file })).toThrow(
      `BATON_PRIVATE_KEY_FILE: ${file} is not a private JWK (needs "kty" and "d")`,
    );
  });
});
