/**
 * Operations over HTTP (SPEC §10): `/healthz`, `/metrics` in Prometheus text, one JSON
 * log line per request with a request id, and per-client rate limits (429 with
 * `Retry-After`), plus a cap on failed client authentications per remote address.
 * Time only moves when a test moves `b.clock.now`.
 */
import { Writable } from 'node:stream';
import { pino } from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import { createApp } from '../../broker/app.js';
import { DEFAULT_RATE_LIMITS, parsePolicy, type PolicyFile } from '../../broker/config/policy.js';
import type { BrokerDeps } from '../../broker/deps.js';
import { mountMcp } from '../../mcp-server/http.js';
import {
  ADMIN_TOKEN,
  API,
  basic,
  ISSUER,
  makeBroker,
  toBody,
  withApprovals,
  withAudience,
  type TestBroker,
  ledgerRefusals,
} from '../helpers.js';

const brokers: TestBroker[] = [];
afterEach(async () => {
  for (const b of brokers.splice(0)) await b.close();
});

async function broker(policy?: (p: PolicyFile) => PolicyFile): Promise<TestBroker> {
  const b = await makeBroker(policy ? { policy } : {});
  brokers.push(b);
  return b;
}

/** The test policy with its own rate limits instead of the test default (none to speak of). */
const limited =
  (
    rateLimits: PolicyFile['rate_limits'],
    clients: Record<string, { requests_per_second: number; burst: number }> = {},
  ) =>
  (p: PolicyFile): PolicyFile => ({
    ...p,
    rate_limits: rateLimits,
    clients: p.clients.map((c) =>
      clients[c.client_id] ? { ...c, rate_limit: clients[c.client_id] } : c,
    ),
  });

const withoutRateLimits = (p: PolicyFile): PolicyFile => {
  const { rate_limits: _ignored, ...rest } = p;
  return rest;
};

/** A Node request's bindings as @hono/node-server passes them: the socket's peer address. */
const fromAddress = (remoteAddress: string) => ({ incoming: { socket: { remoteAddress } } });

function request(
  app: ReturnType<typeof createApp>,
  path: string,
  options: {
    form?: Record<string, string>;
    client?: string;
    secret?: string;
    headers?: Record<string, string>;
    address?: string;
  } = {},
): Promise<Response> {
  const headers: Record<string, string> = { ...options.headers };
  if (options.form) headers['content-type'] = 'application/x-www-form-urlencoded';
  if (options.client) headers.authorization = basic(options.client, options.secret);
  const init = {
    method: options.form ? 'POST' : 'GET',
    headers,
    ...(options.form ? { body: toBody(options.form) } : {}),
  };
  return Promise.resolve(
    options.address
      ? app.request(path, init, fromAddress(options.address))
      : app.request(path, init),
  );
}

const CC = { grant_type: 'client_credentials' };
const TOO_MANY = {
  error: 'temporarily_unavailable',
  error_description: 'too many requests; retry after the number of seconds in Retry-After',
};

/** An app over the same broker whose log lines land in `lines`. */
function withLogLines(
  b: TestBroker,
  extra: Partial<BrokerDeps> = {},
): { app: ReturnType<typeof createApp>; lines: Array<Record<string, unknown>> } {
  const lines: Array<Record<string, unknown>> = [];
  const sink = new Writable({
    write(chunk: Buffer, _encoding, done) {
      for (const line of chunk.toString().split('\n'))
        if (line) lines.push(JSON.parse(line) as Record<string, unknown>);
      done();
    },
  });
  const log = pino(
    {
      level: 'info',
      base: { service: 'baton' },
      formatters: { level: (label) => ({ level: label }) },
    },
    sink,
  );
  return { app: createApp({ ...b.deps, log, ...extra }), lines };
}

describe('GET /healthz', () => {
  it('is 200 {"status":"ok"} while the database answers and a key is loaded', async () => {
    const b = await broker();
    const res = await b.app.request('/healthz');
    expect(res.status).toBe(200);
    expect(res.headers.get('cache-control')).toBe('no-store');
    expect(await res.json()).toEqual({ status: 'ok' });
  });

  it('is 503 naming the database once the database is closed', async () => {
    const b = await broker();
    await b.store.close();
    const res = await b.app.request('/healthz');
    expect(res.status).toBe(503);
    expect(await res.json()).toEqual({ status: 'unavailable', failing: ['database'] });
  });
});

describe('X-Request-Id', () => {
  it('echoes a sane request id and replaces one that is too long or not plain', async () => {
    const b = await broker();
    const sane = await b.app.request('/healthz', { headers: { 'x-request-id': 'trace-42.a:b' } });
    expect(sane.headers.get('x-request-id')).toBe('trace-42.a:b');
    for (const bad of ['x'.repeat(129), 'has space', 'quote"d', '']) {
      const res = await b.app.request('/healthz', { headers: { 'x-request-id': bad } });
      expect(res.headers.get('x-request-id')).toMatch(
        /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/,
      );
    }
  });

  it('is on error answers too: a 404, a 401 and a 413', async () => {
    const b = await broker();
    const headers = { 'x-request-id': 'r-1' };
    expect((await b.app.request('/nowhere', { headers })).headers.get('x-request-id')).toBe('r-1');
    expect(
      (await request(b.app, '/token', { form: CC, headers })).headers.get('x-request-id'),
    ).toBe('r-1');
    const big = await b.app.request('/token', {
      method: 'POST',
      headers: {
        ...headers,
        'content-type': 'application/x-www-form-urlencoded',
        'content-length': String(70_000),
      },
      body: 'a='.padEnd(70_000, 'x'),
    });
    expect(big.status).toBe(413);
    expect(big.headers.get('x-request-id')).toBe('r-1');
  });
});

describe('request logs', () => {
  it('writes one JSON line per request: method, path without query, status, duration, request id, client, error and reason', async () => {
    const b = await broker();
    const { app, lines } = withLogLines(b);
    await request(app, '/token', {
      form: { ...CC, scope: 'trips:read' },
      client: 'planner',
      headers: { 'x-request-id': 'ok-1' },
    });
    await request(app, '/token', {
      form: { ...CC, scope: 'not:mine' },
      client: 'planner',
      headers: { 'x-request-id': 'scope-1' },
    });
    await request(app, '/token', {
      form: CC,
      client: 'planner',
      secret: 'wrong-secret-0123456789abcdef0123',
      headers: { 'x-request-id': 'auth-1' },
    });
    await app.request('/jwks?token=should-not-be-logged', { headers: { 'x-request-id': 'q-1' } });
    const common = {
      level: 'info',
      service: 'baton',
      time: expect.any(Number),
      msg: 'request',
      ms: expect.any(Number),
    };
    expect(lines).toEqual([
      {
        ...common,
        req_id: 'ok-1',
        method: 'POST',
        path: '/token',
        status: 200,
        client_id: 'planner',
        grant: 'client_credentials',
      },
      {
        ...common,
        req_id: 'scope-1',
        method: 'POST',
        path: '/token',
        status: 400,
        client_id: 'planner',
        grant: 'client_credentials',
        error: 'invalid_scope',
        reason: expect.any(String),
      },
      {
        ...common,
        req_id: 'auth-1',
        method: 'POST',
        path: '/token',
        status: 401,
        grant: 'client_credentials',
        error: 'invalid_client',
        reason: 'invalid_client',
        detail: 'wrong secret',
      },
      { ...common, req_id: 'q-1', method: 'GET', path: '/jwks', status: 200 },
    ]);
  });

  it('logs an unexpected failure as an error line, with no token-like text from its message', async () => {
    const b = await broker();
    const { app, lines } = withLogLines(b);
    // The ledger is gone, so issuing fails in a way no handler expects.
    await b.store.close();
    const res = await request(app, '/token', {
      form: CC,
      client: 'planner',
      headers: { 'x-request-id': 'boom-1' },
    });
    expect(res.status).toBe(500);
    expect(await res.json()).toEqual({
      error: 'server_error',
      error_description: 'the server could not complete the request',
    });
    const [failure, summary] = lines;
    expect(failure).toMatchObject({
      level: 'error',
      msg: 'server_error',
      req_id: 'boom-1',
      method: 'POST',
      path: '/token',
      err: 'TypeError',
    });
    expect(summary).toMatchObject({
      level: 'error',
      msg: 'request',
      req_id: 'boom-1',
      status: 500,
      error: 'server_error',
      client_id: 'planner',
    });
    expect(lines).toHaveLength(2);
  });
});

describe('GET /metrics', () => {
  const admin = { authorization: `Bearer ${ADMIN_TOKEN}` };

  it('needs the admin bearer token when one is set', async () => {
    const b = await broker();
    const none = await b.app.request('/metrics');
    expect(none.status).toBe(401);
    expect(await none.json()).toEqual({
      error: 'invalid_request',
      error_description: 'metrics need the admin bearer token',
    });
    const wrong = await b.app.request('/metrics', {
      headers: { authorization: 'Bearer not-the-admin-token' },
    });
    expect(wrong.status).toBe(401);
    expect(await wrong.json()).toEqual({
      error: 'invalid_token',
      error_description: 'the admin bearer token is not valid',
    });
    const fromLoopback = await b.app.request('/metrics', {}, fromAddress('127.0.0.1'));
    expect(fromLoopback.status).toBe(401);
  });

  it('without an admin token, answers loopback callers only', async () => {
    const b = await broker();
    const app = createApp({ ...b.deps, adminToken: undefined });
    expect((await app.request('/metrics', {}, fromAddress('127.0.0.1'))).status).toBe(200);
    expect((await app.request('/metrics', {}, fromAddress('::ffff:127.0.0.1'))).status).toBe(200);
    expect((await app.request('/metrics', {}, fromAddress('::1'))).status).toBe(200);
    const remote = await app.request('/metrics', {}, fromAddress('203.0.113.9'));
    expect(remote.status).toBe(401);
    expect(await remote.json()).toEqual({
      error: 'invalid_request',
      error_description: 'metrics are served to loopback callers, or with BATON_ADMIN_TOKEN set',
    });
    expect((await app.request('/metrics')).status).toBe(401);
  });

  it('counts requests by route and status, refusals by route, grant, error and reason, latency, ledger size and pending approvals', async () => {
    const b = await broker(withApprovals);
    await request(b.app, '/token', { form: CC, client: 'planner' });
    await request(b.app, '/token', { form: CC, client: 'booker' });
    await request(b.app, '/token', { form: { ...CC, scope: 'not:mine' }, client: 'planner' });
    await request(b.app, '/token', {
      form: CC,
      client: 'planner',
      secret: 'wrong-secret-0123456789abcdef0123',
    });
    await request(b.app, '/audit/tokens/some-jti', { headers: admin });
    await request(b.app, '/bc-authorize', {
      form: {
        login_hint: 'alice',
        scope: 'trips:read',
        audience: API,
        binding_message: 'Plan the trip',
      },
      client: 'planner',
    });
    const res = await b.app.request('/metrics', { headers: admin });
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toBe('text/plain; version=0.0.4; charset=utf-8');
    const text = await res.text();
    const samples = text.split('\n').filter((l) => l !== '' && !l.startsWith('#'));
    const pick = (prefix: string) => samples.filter((l) => l.startsWith(prefix)).sort();
    expect(pick('baton_http_requests_total')).toEqual([
      'baton_http_requests_total{endpoint="/audit/tokens/:jti",status="404"} 1',
      'baton_http_requests_total{endpoint="/bc-authorize",status="200"} 1',
      'baton_http_requests_total{endpoint="/token",status="200"} 2',
      'baton_http_requests_total{endpoint="/token",status="400"} 1',
      'baton_http_requests_total{endpoint="/token",status="401"} 1',
    ]);
    const refusalRows = await ledgerRefusals(b.store);
    expect(refusalRows).toHaveLength(1);
    expect(pick('baton_refusals_total')).toEqual(
      [
        'baton_refusals_total{endpoint="/audit/tokens/:jti",grant="",error="invalid_request",reason="invalid_request"} 1',
        `baton_refusals_total{endpoint="/token",grant="client_credentials",error="invalid_client",reason="invalid_client"} 1`,
        `baton_refusals_total{endpoint="/token",grant="client_credentials",error="invalid_scope",reason="${refusalRows[0]!.reason}"} 1`,
      ].sort(),
    );
    expect(pick('baton_http_request_duration_seconds_count{endpoint="/token"}')).toEqual([
      'baton_http_request_duration_seconds_count{endpoint="/token"} 4',
    ]);
    expect(pick('baton_http_request_duration_seconds_bucket{le="+Inf",endpoint="/token"}')).toEqual(
      ['baton_http_request_duration_seconds_bucket{le="+Inf",endpoint="/token"} 4'],
    );
    expect(pick('baton_ledger_')).toEqual(['baton_ledger_refusals 1', 'baton_ledger_tokens 2']);
    expect(pick('baton_pending_approvals')).toEqual(['baton_pending_approvals 1']);
    b.clock.now += 3600;
    expect(await (await b.app.request('/metrics', { headers: admin })).text()).toContain(
      '\nbaton_pending_approvals 0\n',
    );
  });

  it('keeps each broker its own counts', async () => {
    const one = await broker();
    const two = await broker();
    await request(one.app, '/token', { form: CC, client: 'planner' });
    const text = await (await two.app.request('/metrics', { headers: admin })).text();
    expect(text).not.toContain('endpoint="/token"');
  });
});

describe('per-client rate limits', () => {
  it('are on by default: 50 a second with bursts of 100, and 5 failed authentications a second with bursts of 50 per address', async () => {
    const policy = parsePolicy(minimalPolicy(), ISSUER);
    expect(DEFAULT_RATE_LIMITS).toEqual({
      requests_per_second: 50,
      burst: 100,
      failed_authentication: { requests_per_second: 5, burst: 50 },
    });
    expect(policy.rateLimits).toEqual({
      perClient: { ratePerSecond: 50, burst: 100 },
      clients: new Map(),
      failedAuthentication: { ratePerSecond: 5, burst: 50 },
    });
    const b = await broker(withoutRateLimits);
    for (let i = 0; i < 100; i++) {
      const res = await request(b.app, '/introspect', {
        form: { token: 'not-a-token' },
        client: 'planner',
      });
      expect(res.status).toBe(200);
    }
    const over = await request(b.app, '/introspect', {
      form: { token: 'not-a-token' },
      client: 'planner',
    });
    expect(over.status).toBe(429);
    expect(over.headers.get('retry-after')).toBe('1');
    expect(await over.json()).toEqual(TOO_MANY);
  });

  it('answer burst + 1 requests with 429, Retry-After and RFC 6749 JSON; other clients are unaffected; time refills the bucket', async () => {
    const b = await broker(limited({ requests_per_second: 0.5, burst: 3 }));
    for (let i = 0; i < 3; i++)
      expect((await request(b.app, '/token', { form: CC, client: 'planner' })).status).toBe(200);
    const over = await request(b.app, '/token', { form: CC, client: 'planner' });
    expect(over.status).toBe(429);
    expect(over.headers.get('retry-after')).toBe('2');
    expect(over.headers.get('cache-control')).toBe('no-store');
    expect(await over.json()).toEqual(TOO_MANY);
    // Each endpoint draws on the same bucket.
    expect(
      (await request(b.app, '/introspect', { form: { token: 'x' }, client: 'planner' })).status,
    ).toBe(429);
    expect(
      (await request(b.app, '/revoke', { form: { token: 'x' }, client: 'planner' })).status,
    ).toBe(429);
    expect((await request(b.app, '/token', { form: CC, client: 'booker' })).status).toBe(200);
    b.clock.now += 1;
    expect((await request(b.app, '/token', { form: CC, client: 'planner' })).status).toBe(429);
    b.clock.now += 1;
    expect((await request(b.app, '/token', { form: CC, client: 'planner' })).status).toBe(200);
    // Nothing about the limit is written to the ledger.
    expect(await ledgerRefusals(b.store)).toEqual([]);
    const metrics = await (
      await b.app.request('/metrics', { headers: { authorization: `Bearer ${ADMIN_TOKEN}` } })
    ).text();
    expect(metrics).toContain(
      'baton_refusals_total{endpoint="/token",grant="client_credentials",error="temporarily_unavailable",reason="rate_limited"} 2',
    );
  });

  it('apply at the backchannel endpoint, and a client may have its own limit', async () => {
    const b = await broker((p) =>
      limited(
        { requests_per_second: 1, burst: 1 },
        { booker: { requests_per_second: 1, burst: 5 } },
      )(withApprovals(p)),
    );
    const ask = (client: string) =>
      request(b.app, '/bc-authorize', {
        form: {
          login_hint: 'alice',
          scope: 'trips:read',
          audience: API,
          binding_message: 'Plan the trip',
        },
        client,
      });
    expect((await ask('planner')).status).toBe(200);
    expect((await ask('planner')).status).toBe(429);
    for (let i = 0; i < 5; i++) expect((await ask('booker')).status).toBe(200);
    expect((await ask('booker')).status).toBe(429);
  });

  it('apply at /mcp too, to the client the bearer token acts for', async () => {
    const mcpAudience = `${ISSUER}/mcp`;
    const b = await broker((p) =>
      withAudience(limited({ requests_per_second: 1, burst: 2 })(p), 'planner', mcpAudience),
    );
    const app = createApp(b.deps, [mountMcp]);
    const issued = await request(app, '/token', {
      form: { ...CC, audience: mcpAudience },
      client: 'planner',
    });
    expect(issued.status).toBe(200);
    const { access_token: token } = (await issued.json()) as { access_token: string };
    const mcp = () =>
      app.request('/mcp', {
        method: 'POST',
        headers: {
          authorization: `Bearer ${token}`,
          'content-type': 'application/json',
          accept: 'application/json, text/event-stream',
        },
        body: JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'tools/list' }),
      });
    expect((await mcp()).status).toBe(200);
    const over = await mcp();
    expect(over.status).toBe(429);
    expect(over.headers.get('retry-after')).toBe('1');
    expect(await over.json()).toEqual(TOO_MANY);
  });

  it('hold back an address after too many failed authentications, even with the right secret, until time passes', async () => {
    const b = await broker(
      limited({
        requests_per_second: 1000,
        burst: 1000,
        failed_authentication: { requests_per_second: 1, burst: 2 },
      }),
    );
    const wrong = { client: 'planner', secret: 'wrong-secret-0123456789abcdef0123' };
    const attacker = '198.51.100.7';
    expect((await request(b.app, '/token', { form: CC, ...wrong, address: attacker })).status).toBe(
      401,
    );
    expect((await request(b.app, '/token', { form: CC, ...wrong, address: attacker })).status).toBe(
      401,
    );
    const held = await request(b.app, '/token', { form: CC, client: 'planner', address: attacker });
    expect(held.status).toBe(429);
    expect(held.headers.get('retry-after')).toBe('1');
    expect(await held.json()).toEqual(TOO_MANY);
    // Another address, and a request with no socket (in-process), are unaffected.
    expect(
      (await request(b.app, '/token', { form: CC, client: 'planner', address: '198.51.100.8' }))
        .status,
    ).toBe(200);
    expect((await request(b.app, '/token', { form: CC, client: 'planner' })).status).toBe(200);
    b.clock.now += 1;
    expect(
      (await request(b.app, '/token', { form: CC, client: 'planner', address: attacker })).status,
    ).toBe(200);
  });
});

function minimalPolicy(): PolicyFile {
  return {
    clients: [
      {
        client_id: 'solo',
        client_secret_sha256: 'a'.repeat(64),
        grant_types: ['client_credentials'],
      },
    ],
  };
}
