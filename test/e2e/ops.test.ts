/**
 * Operations against a real broker process (SPEC §10): a full run's logs are JSON lines
 * on stderr, one per request, and hold no secret, token, assertion or password that the
 * run used; `/healthz` and `/metrics` answer; SIGTERM lets a request in flight finish,
 * closes idle and silent connections, closes the database and exits 0.
 */
import { randomUUID } from 'node:crypto';
import { once } from 'node:events';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import net from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { decodeJwt, exportJWK, generateKeyPair, SignJWT } from 'jose';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { openSqliteStore } from '../../broker/store/sqlite-store.js';
import {
  ADMIN_TOKEN,
  API,
  AT,
  basic,
  CIBA,
  ISSUER,
  makeIdp,
  SECRETS,
  TE,
  testPolicy,
  toBody,
  withApprovals,
} from '../helpers.js';
import { startNodeBroker, type NodeBroker } from './node-broker.js';

let dir: string;
let broker: NodeBroker | undefined;
beforeEach(() => {
  dir = mkdtempSync(path.join(tmpdir(), 'baton-ops-'));
});
afterEach(async () => {
  await broker?.kill();
  broker = undefined;
  rmSync(dir, { recursive: true, force: true });
});

const WRONG_SECRET = 'wrong-secret-Zq8v0123456789abcdefXYZ';

/** The test policy plus a private_key_jwt client, written to a file the broker reads. */
async function writePolicy(): Promise<{
  file: string;
  idp: Awaited<ReturnType<typeof makeIdp>>;
  keyed: CryptoKey;
  keyedJwk: Record<string, unknown>;
}> {
  const idp = await makeIdp(() => Math.floor(Date.now() / 1000));
  const { privateKey, publicKey } = await generateKeyPair('ES256', { extractable: true });
  const keyedJwk = { ...(await exportJWK(privateKey)) } as Record<string, unknown>;
  const policy = withApprovals(testPolicy(idp.jwk));
  policy.clients.push({
    client_id: 'keyed',
    token_endpoint_auth_method: 'private_key_jwt',
    jwks: { keys: [{ ...(await exportJWK(publicKey)), kty: 'EC', kid: 'keyed-1', alg: 'ES256' }] },
    grant_types: ['client_credentials'],
    scopes: ['trips:read'],
    audiences: [API],
  });
  const file = path.join(dir, 'policy.json');
  writeFileSync(file, JSON.stringify(policy));
  return { file, idp, keyed: privateKey, keyedJwk };
}

describe('logs of a real broker', () => {
  it('are JSON lines on stderr, one per request, and hold none of the secrets, tokens or assertions the run used', async () => {
    const { file, idp, keyed, keyedJwk } = await writePolicy();
    broker = await startNodeBroker({
      BATON_POLICY: file,
      BATON_DB: path.join(dir, 'baton.db'),
      BATON_ISSUER: ISSUER,
      BATON_ADMIN_TOKEN: ADMIN_TOKEN,
    });
    const url = broker.url;
    const secrets: string[] = [
      ...Object.values(SECRETS),
      WRONG_SECRET,
      ADMIN_TOKEN,
      String(keyedJwk.d),
    ];
    let requests = 0;
    const call = async (p: string, init: RequestInit = {}): Promise<Record<string, unknown>> => {
      requests += 1;
      const res = await fetch(`${url}${p}`, init);
      const text = await res.text();
      try {
        return { http: res.status, ...(JSON.parse(text) as Record<string, unknown>) };
      } catch {
        return { http: res.status, text };
      }
    };
    const form = (
      client: string | null,
      body: Record<string, string>,
      secret?: string,
    ): RequestInit => ({
      method: 'POST',
      headers: {
        'content-type': 'application/x-www-form-urlencoded',
        ...(client ? { authorization: basic(client, secret ?? SECRETS[client]) } : {}),
      },
      body: toBody(body),
    });
    const token = (answer: Record<string, unknown>): string => {
      expect(answer.http).toBe(200);
      const t = String(answer.access_token);
      secrets.push(t);
      return t;
    };

    const person = await idp.sign({ sub: 'alice', scope: 'trips:read flights:book' });
    secrets.push(person);
    const own = token(
      await call(
        '/token',
        form('planner', { grant_type: 'client_credentials', scope: 'trips:read' }),
      ),
    );
    const handoff = token(
      await call(
        '/token',
        form('planner', {
          grant_type: TE,
          subject_token_type: AT,
          subject_token: person,
          audience: 'agent:booker',
          scope: 'flights:book',
        }),
      ),
    );
    const forApi = token(
      await call(
        '/token',
        form('booker', {
          grant_type: TE,
          subject_token_type: AT,
          subject_token: handoff,
          audience: API,
        }),
      ),
    );
    // client_secret_post: the secret is in the body.
    token(
      await call(
        '/token',
        form(null, {
          grant_type: TE,
          client_id: 'poster',
          client_secret: SECRETS.poster!,
          subject_token_type: AT,
          subject_token: person,
          audience: API,
        }),
      ),
    );
    // private_key_jwt (RFC 7523).
    const assertion = await new SignJWT({ jti: randomUUID() })
      .setProtectedHeader({ alg: 'ES256', kid: 'keyed-1' })
      .setIssuer('keyed')
      .setSubject('keyed')
      .setAudience(`${ISSUER}/token`)
      .setIssuedAt()
      .setExpirationTime('60s')
      .sign(keyed);
    secrets.push(assertion);
    token(
      await call(
        '/token',
        form(null, {
          grant_type: 'client_credentials',
          client_assertion_type: 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer',
          client_assertion: assertion,
        }),
      ),
    );
    expect(await call('/introspect', form('booker', { token: forApi }))).toMatchObject({
      http: 200,
      active: true,
    });
    expect(await call('/revoke', form('planner', { token: handoff }))).toMatchObject({ http: 200 });
    const started = await call(
      '/bc-authorize',
      form('planner', {
        login_hint: 'alice',
        scope: 'trips:read',
        audience: API,
        binding_message: 'Plan the trip',
      }),
    );
    expect(started.http).toBe(200);
    secrets.push(String(started.auth_req_id));
    expect(
      await call(
        '/token',
        form('planner', { grant_type: CIBA, auth_req_id: String(started.auth_req_id) }),
      ),
    ).toMatchObject({
      http: 400,
      error: 'authorization_pending',
    });
    // Failed sign-ins: a wrong secret over Basic and in the body.
    expect(
      await call('/token', form('planner', { grant_type: 'client_credentials' }, WRONG_SECRET)),
    ).toMatchObject({ http: 401 });
    expect(
      await call(
        '/token',
        form(null, { grant_type: TE, client_id: 'poster', client_secret: WRONG_SECRET }),
      ),
    ).toMatchObject({ http: 401 });
    // Tokens in places a careless log would copy: a query string, a bearer header.
    expect(await call(`/jwks?access_token=${forApi}`)).toMatchObject({ http: 200 });
    expect(
      await call(`/audit/tokens/${decodeJwt(forApi).jti}`, {
        headers: { authorization: `Bearer ${ADMIN_TOKEN}` },
      }),
    ).toMatchObject({ http: 200 });
    expect(
      (
        await call('/mcp', {
          method: 'POST',
          headers: { authorization: `Bearer ${own}`, 'content-type': 'application/json' },
          body: '{}',
        })
      ).http,
    ).toBeGreaterThanOrEqual(400);
    expect(await call('/healthz')).toEqual({ http: 200, status: 'ok' });
    expect(
      (await call('/metrics', { headers: { authorization: `Bearer ${ADMIN_TOKEN}` } })).http,
    ).toBe(200);

    broker.child.kill('SIGTERM');
    expect(await broker.exited).toBe(0);

    const stderr = broker.stderr();
    const lines = stderr
      .split('\n')
      .filter((l) => l !== '')
      .map((l) => JSON.parse(l) as Record<string, unknown>);
    const requestLines = lines.filter((l) => l.msg === 'request');
    expect(requestLines).toHaveLength(requests);
    expect(
      requestLines.every(
        (l) => typeof l.req_id === 'string' && typeof l.status === 'number' && l.level === 'info',
      ),
    ).toBe(true);
    expect(requestLines.filter((l) => l.client_id === 'keyed')).toHaveLength(1);
    expect(requestLines.filter((l) => l.detail === 'wrong secret')).toHaveLength(2);
    expect(requestLines.find((l) => String(l.path).startsWith('/jwks'))?.path).toBe('/jwks');

    const everything = broker.stdout() + stderr;
    const leaked: string[] = [];
    for (const secret of secrets) {
      // A whole secret, and each JWS segment of a token on its own (the payload or the
      // signature alone would still be a leak); headers are shared by every token.
      const parts = secret.split('.');
      const needles = parts.length === 3 ? [secret, parts[1]!, parts[2]!] : [secret];
      for (const needle of needles)
        if (everything.includes(needle)) leaked.push(needle.slice(0, 12));
    }
    for (const client of ['planner', 'booker']) {
      const header = basic(client).slice('Basic '.length);
      if (everything.includes(header)) leaked.push(`Basic of ${client}`);
    }
    expect(leaked).toEqual([]);
  });
});

describe('SIGTERM', () => {
  it('finishes a request in flight, closes idle and silent connections, closes the database and exits 0', async () => {
    const { file, idp } = await writePolicy();
    const db = path.join(dir, 'baton.db');
    // Idle keep-alive and shutdown timeouts far beyond the test's: only a graceful stop
    // that closes connections itself lets the process exit in time.
    broker = await startNodeBroker({
      BATON_POLICY: file,
      BATON_DB: db,
      BATON_ISSUER: ISSUER,
      BATON_IDLE_TIMEOUT_MS: '600000',
      BATON_HEADERS_TIMEOUT_MS: '600000',
      BATON_REQUEST_TIMEOUT_MS: '600000',
      BATON_SHUTDOWN_TIMEOUT_MS: '600000',
    });
    const { port } = broker;

    // An idle keep-alive connection.
    const agent = new http.Agent({ keepAlive: true });
    const idle = await new Promise<http.IncomingMessage>((resolve) =>
      http.get({ port, host: '127.0.0.1', path: '/healthz', agent }, resolve),
    );
    idle.resume();
    await once(idle, 'end');
    // A connection that never sends anything.
    const silent = net.connect(port, '127.0.0.1');
    const silentClosed = once(silent, 'close');
    await once(silent, 'connect');
    // A request in flight: headers sent, the body held back until SIGTERM has been taken.
    const person = await idp.sign({ sub: 'alice', scope: 'trips:read' });
    const body = toBody({
      grant_type: TE,
      subject_token_type: AT,
      subject_token: person,
      audience: API,
      scope: 'trips:read',
    });
    const inFlight = net.connect(port, '127.0.0.1');
    const inFlightClosed = once(inFlight, 'close');
    await once(inFlight, 'connect');
    let received = '';
    inFlight.on('data', (b: Buffer) => (received += b.toString()));
    const continued = new Promise<void>((resolve) =>
      inFlight.on('data', () => received.includes('100 Continue') && resolve()),
    );
    inFlight.write(
      `POST /token HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: ${basic('planner')}\r\nContent-Type: application/x-www-form-urlencoded\r\n` +
        `Content-Length: ${Buffer.byteLength(body)}\r\nExpect: 100-continue\r\n\r\n`,
    );
    await continued;

    broker.child.kill('SIGTERM');
    await broker.waitFor('SIGTERM: finishing in-flight requests');
    inFlight.write(body);
    await inFlightClosed;
    const [head, json] = received.slice(received.indexOf('HTTP/1.1 200')).split('\r\n\r\n');
    expect(head).toMatch(/^HTTP\/1\.1 200 OK/);
    const accessToken = (JSON.parse(json!) as { access_token: string }).access_token;

    expect(await broker.exited).toBe(0);
    await silentClosed;
    agent.destroy();
    expect(broker.stderr()).toContain('"msg":"stopped"');

    // The token that went out in the last moments is in the ledger, and the file is intact.
    const store = openSqliteStore(db);
    try {
      expect(store.sqlite.pragma('integrity_check', { simple: true })).toBe('ok');
      expect((await store.getToken(decodeJwt(accessToken).jti!))?.sub).toBe('alice');
    } finally {
      await store.close();
    }
  });
});
