/**
 * Errors on the wire (SPEC §3): RFC 6749 §5.2 JSON with `Cache-Control: no-store`,
 * strict form parsing (RFC 6749 §3.1), a 64 KB body cap, and no 5xx for any input.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createApp } from '../../broker/app.js';
import { BearerError, InvalidRequest } from '../../broker/oauth/errors.js';
import {
  ADMIN_TOKEN,
  API,
  AT,
  IDP,
  ISSUER,
  SECRETS,
  TE,
  basic,
  claimsOf,
  ledgerRefusals,
  makeBroker,
  toBody,
  type TestBroker,
} from '../helpers.js';

let b: TestBroker;
beforeEach(async () => {
  b = await makeBroker();
});
afterEach(async () => {
  await b.close();
});

const FORM = 'application/x-www-form-urlencoded';

async function raw(
  path: string,
  body: string,
  headers: Record<string, string> = {},
): Promise<Response> {
  return b.app.request(path, {
    method: 'POST',
    headers: { 'content-type': FORM, authorization: basic('planner'), ...headers },
    body,
  });
}

async function expectError(res: Response, status: number, body: Record<string, unknown>) {
  expect(res.status).toBe(status);
  expect(res.headers.get('cache-control')).toBe('no-store');
  expect(res.headers.get('content-type')).toMatch(/^application\/json/);
  expect(await res.json()).toEqual(body);
}

describe('request body size', () => {
  it('answers a body over 64 KB with 413 and RFC 6749 JSON', async () => {
    const body = `grant_type=client_credentials&pad=${'x'.repeat(64 * 1024)}`;
    await expectError(await raw('/token', body), 413, {
      error: 'invalid_request',
      error_description: 'the request body is larger than 64 KB',
    });
  });

  it('answers 413 before client authentication, at every POST endpoint', async () => {
    const body = `token=${'x'.repeat(70_000)}`;
    for (const path of ['/token', '/introspect', '/revoke']) {
      await expectError(await raw(path, body, { authorization: 'Basic bm9ib2R5Om5vcGU=' }), 413, {
        error: 'invalid_request',
        error_description: 'the request body is larger than 64 KB',
      });
    }
  });

  it('accepts a body of exactly 64 KB', async () => {
    const head = 'grant_type=client_credentials&pad=';
    const body = head + 'x'.repeat(64 * 1024 - head.length);
    expect(Buffer.byteLength(body)).toBe(64 * 1024);
    const res = await raw('/token', body);
    expect(res.status).toBe(200);
  });
});

describe('form parsing', () => {
  it.each(['scope', 'grant_type', 'subject_token'])(
    'refuses a duplicated %s parameter',
    async (name) => {
      const alice = await b.idp.sign({ sub: 'alice' });
      const form: Record<string, string | string[]> = {
        grant_type: TE,
        subject_token_type: AT,
        subject_token: alice,
        audience: API,
        scope: 'trips:read',
      };
      form[name] = [form[name] as string, form[name] as string];
      const res = await b.post('/token', form, 'planner');
      await expectError(res, 400, {
        error: 'invalid_request',
        error_description: `parameter ${name} was sent more than once`,
      });
    },
  );

  it('allows audience to repeat, and issues exactly the requested audiences', async () => {
    const alice = await b.idp.sign({ sub: 'alice' });
    const res = await b.exchange('planner', {
      subject_token: alice,
      audience: [API, 'agent:booker'],
      scope: 'trips:read',
    });
    expect(res.status).toBe(200);
    expect(claimsOf(res.body.access_token).aud).toEqual([API, 'agent:booker']);
  });

  it('refuses a JSON body with 400 invalid_request', async () => {
    const res = await b.app.request('/token', {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: basic('planner') },
      body: JSON.stringify({ grant_type: 'client_credentials' }),
    });
    await expectError(res, 400, {
      error: 'invalid_request',
      error_description: 'the body must be application/x-www-form-urlencoded',
    });
  });

  it('refuses a body without a content type', async () => {
    const res = await b.app.request('/token', {
      method: 'POST',
      headers: { authorization: basic('planner') },
      body: new TextEncoder().encode('grant_type=client_credentials'),
    });
    await expectError(res, 400, {
      error: 'invalid_request',
      error_description: 'the body must be application/x-www-form-urlencoded',
    });
  });

  it('accepts a charset parameter on the form content type', async () => {
    const res = await raw('/token', 'grant_type=client_credentials', {
      'content-type': `${FORM}; charset=UTF-8`,
    });
    expect(res.status).toBe(200);
  });
});

describe('grant dispatch', () => {
  it('refuses a request without grant_type', async () => {
    await expectError(await b.post('/token', { scope: 'trips:read' }, 'planner'), 400, {
      error: 'invalid_request',
      error_description: 'grant_type is required',
    });
  });

  it('refuses an unknown grant_type with unsupported_grant_type', async () => {
    await expectError(
      await b.post(
        '/token',
        { grant_type: 'password', username: 'alice', password: 'x' },
        'planner',
      ),
      400,
      {
        error: 'unsupported_grant_type',
        error_description: 'grant_type password is not supported',
      },
    );
  });

  it('refuses a grant the client is not registered for with unauthorized_client, and records it', async () => {
    const alice = await b.idp.sign({ sub: 'alice' });
    const res = await b.post(
      '/token',
      { grant_type: TE, subject_token_type: AT, subject_token: alice, audience: API },
      'api',
    );
    await expectError(res, 400, {
      error: 'unauthorized_client',
      error_description: `api may not use ${TE}`,
    });
    const listed = await ledgerRefusals(b.store);
    expect(listed.map((r) => ({ client_id: r.clientId, error: r.error }))).toEqual([
      { client_id: 'api', error: 'unauthorized_client' },
    ]);
  });
});

describe('routing', () => {
  it('answers an unknown path with a 404 JSON error', async () => {
    await expectError(await b.app.request('/no/such/path'), 404, {
      error: 'invalid_request',
      error_description: 'no such endpoint',
    });
  });

  it.each(['/token', '/introspect', '/revoke'])(
    'answers GET %s with 405 and Allow: POST',
    async (path) => {
      const res = await b.app.request(path);
      expect(res.headers.get('allow')).toBe('POST');
      await expectError(res, 405, { error: 'invalid_request', error_description: 'use POST' });
    },
  );
});

describe('the one error handler is the last guard (RFC 6749 §5.2, RFC 6750 §3)', () => {
  const HOSTILE = 'bad "token" \\ \u001b[2J\u202E é\nnext';
  const SECTION_5_2 = /^[\x20\x21\x23-\x5B\x5D-\x7E]*$/;

  it('makes any OAuth or bearer error description clean, in the body and in WWW-Authenticate', async () => {
    const app = createApp(b.deps, [
      (a) => {
        a.get('/t/oauth', () => {
          throw new InvalidRequest(`${HOSTILE}${'x'.repeat(1000)}`);
        });
        a.get('/t/bearer', () => {
          throw new BearerError('invalid_token', 401, HOSTILE, {
            realm: 'baton"\\',
            resource_metadata: 'https://baton.test/.well-known/x',
          });
        });
      },
    ]);
    const oauth = await app.request('/t/oauth');
    const body = (await oauth.json()) as { error: string; error_description: string };
    expect(body).toEqual({
      error: 'invalid_request',
      error_description: `bad ?token? ? ?[2J? ??next${'x'.repeat(271)}...`,
    });
    expect(body.error_description).toMatch(SECTION_5_2);
    const bearer = await app.request('/t/bearer');
    expect(bearer.status).toBe(401);
    expect(await bearer.json()).toEqual({
      error: 'invalid_token',
      error_description: 'bad ?token? ? ?[2J? ??next',
    });
    expect(bearer.headers.get('www-authenticate')).toBe(
      'Bearer realm="baton??", resource_metadata="https://baton.test/.well-known/x", error="invalid_token", error_description="bad ?token? ? ?[2J? ??next"',
    );
  });
});

describe('every error response', () => {
  it('is JSON with an error string and Cache-Control: no-store', async () => {
    const alice = await b.idp.sign({ sub: 'alice' });
    const responses: Array<[string, Response | Promise<Response>]> = [
      ['no client auth', b.post('/token', { grant_type: 'client_credentials' })],
      [
        'wrong secret',
        b.post('/token', { grant_type: 'client_credentials' }, null, {
          authorization: basic('planner', 'nope'),
        }),
      ],
      [
        'two methods',
        b.post('/token', { grant_type: 'client_credentials', client_secret: 'x' }, 'planner'),
      ],
      ['missing grant', b.post('/token', {}, 'planner')],
      ['unknown grant', b.post('/token', { grant_type: 'implicit' }, 'planner')],
      ['unauthorized grant', b.post('/token', { grant_type: TE }, 'api')],
      [
        'invalid scope',
        b.post('/token', { grant_type: 'client_credentials', scope: 'admin' }, 'planner'),
      ],
      [
        'invalid target',
        b.post(
          '/token',
          { grant_type: 'client_credentials', audience: 'https://evil.example' },
          'planner',
        ),
      ],
      [
        'bad subject',
        b.post(
          '/token',
          { grant_type: TE, subject_token_type: AT, subject_token: 'a.b.c', audience: API },
          'planner',
        ),
      ],
      [
        'no audience',
        b.post(
          '/token',
          { grant_type: TE, subject_token_type: AT, subject_token: alice },
          'planner',
        ),
      ],
      [
        'bad token type',
        b.post(
          '/token',
          { grant_type: TE, subject_token_type: 'x', subject_token: alice, audience: API },
          'planner',
        ),
      ],
      ['introspect no auth', b.post('/introspect', { token: 'x' })],
      ['introspect no token', b.post('/introspect', {}, 'planner')],
      ['revoke no auth', b.post('/revoke', { token: 'x' })],
      ['revoke no token', b.post('/revoke', {}, 'planner')],
      ['too large', raw('/token', 'a='.padEnd(70_000, 'x'))],
      ['json body', raw('/token', '{}', { 'content-type': 'application/json' })],
      ['not found', b.app.request('/nope')],
      ['wrong method', b.app.request('/token', { method: 'PUT' })],
      ['audit no bearer', b.app.request('/audit/tokens')],
      [
        'audit unknown jti',
        b.app.request('/audit/tokens/nope', {
          headers: { authorization: `Bearer ${ADMIN_TOKEN}` },
        }),
      ],
      [
        'audit bad limit',
        b.app.request('/audit/tokens?limit=-1', {
          headers: { authorization: `Bearer ${ADMIN_TOKEN}` },
        }),
      ],
    ];
    for (const [name, pending] of responses) {
      const res = await pending;
      const body = (await res.json()) as Record<string, unknown>;
      expect({ name, status: res.status >= 400 && res.status < 500 }).toEqual({
        name,
        status: true,
      });
      expect({ name, cache: res.headers.get('cache-control') }).toEqual({
        name,
        cache: 'no-store',
      });
      expect({
        name,
        error: typeof body.error,
        description: typeof body.error_description,
      }).toEqual({
        name,
        error: 'string',
        description: 'string',
      });
    }
  });
});

/** A small deterministic generator, so a failure reproduces. */
function prng(seed: number) {
  let s = seed >>> 0;
  return () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return s;
  };
}

function randomString(next: () => number, length: number): string {
  let out = '';
  for (let i = 0; i < length; i++) out += String.fromCharCode(next() % 0x3000);
  return out.replace(/[\uD800-\uDFFF]/g, '?');
}

describe('garbage input', () => {
  const enc = (o: unknown) =>
    Buffer.from(typeof o === 'string' ? o : JSON.stringify(o)).toString('base64url');

  async function garbageTokens(): Promise<string[]> {
    const next = prng(8693);
    const now = b.clock.now;
    const idpToken = await b.idp.sign({ sub: 'alice' });
    const [h, p] = idpToken.split('.');
    return [
      '',
      ' ',
      'a.b.c',
      '...',
      'a.b',
      'a.b.c.d.e',
      '%zz',
      '\u0000\u0001\u0002',
      'x'.repeat(20 * 1024),
      `${'a'.repeat(10_000)}.${'b'.repeat(10_000)}.c`,
      '{"iss":"http://baton.test","sub":"alice"}',
      '["not","an","object"]',
      'null',
      '🦄 ünïcödé ✓ \u202E reversed',
      randomString(next, 64),
      randomString(next, 2048),
      `${enc({ alg: 'none' })}.${enc({ iss: ISSUER, sub: 'alice', exp: now + 60 })}.`,
      `${enc({ alg: 'ES256', kid: 'nope', typ: 'at+jwt' })}.${enc({ iss: ISSUER, sub: 'alice', exp: now + 60, jti: 'j', iat: now, client_id: 'planner' })}.${enc('sig')}`,
      `${enc({ alg: 'HS256', kid: 'idp-1' })}.${enc({ iss: IDP, sub: 'alice', aud: ISSUER, exp: now + 60 })}.${enc('sig')}`,
      `${enc({ alg: 'ES256', kid: 'idp-1', crit: ['b64'], b64: false })}.${p}.${enc('sig')}`,
      `${enc({ alg: 'ES256', kid: 'idp-1' })}.${enc({ iss: { nested: true }, sub: 42, exp: 'tomorrow', act: [1, 2] })}.sig`,
      `${enc({ alg: 'ES256', kid: 'idp-1' })}.${enc('not json')}.sig`,
      `${enc({ alg: 'ES256', jku: 'https://evil.example/jwks', jwk: { kty: 'oct', k: 'AA' } })}.${p}.sig`,
      `${h}.${p}.${'A'.repeat(86)}`,
      `${h}.${p}`,
      idpToken.slice(0, -4),
    ];
  }

  it('never answers the token endpoint with a 5xx, and always with an OAuth error', async () => {
    // An empty value counts as omitted (RFC 6749 §3.1), which would make the client_credentials form valid.
    const tokens = (await garbageTokens()).filter((t) => t !== '');
    const statuses = new Set<number>();
    for (const token of tokens) {
      const forms: Array<Record<string, string | string[]>> = [
        { grant_type: TE, subject_token_type: AT, subject_token: token, audience: API },
        {
          grant_type: TE,
          subject_token_type: token,
          subject_token: token,
          audience: token,
          scope: token,
        },
        { grant_type: token, subject_token: token },
        {
          grant_type: 'client_credentials',
          scope: token,
          audience: token,
          resource: token,
          expires_in: token,
        },
      ];
      for (const form of forms) {
        const res = await b.post('/token', form, 'planner');
        const body = (await res.json()) as Record<string, unknown>;
        statuses.add(res.status);
        expect(res.status, `status for ${JSON.stringify(form).slice(0, 200)}`).toBeLessThan(500);
        expect(res.status).toBeGreaterThanOrEqual(400);
        expect(typeof body.error).toBe('string');
        expect(res.headers.get('cache-control')).toBe('no-store');
      }
      const withActor = await b.exchange('planner', {
        subject_token: await b.idp.sign({ sub: 'alice' }),
        audience: API,
        actor_token: token,
        actor_token_type: AT,
      });
      expect(withActor.status).toBe(400);
      expect(typeof withActor.body.error).toBe('string');
    }
    // 413 only where four copies of the 20 KB token make the body exceed 64 KB.
    expect([...statuses].sort()).toEqual([400, 413]);
  });

  it('never answers raw malformed bodies with a 5xx', async () => {
    const bodies = [
      'grant_type=%zz&subject_token=%E0%A4%A',
      'grant_type=%FF%FE&subject_token=%C0%AF',
      `grant_type=${encodeURIComponent(TE)}&subject_token_type=${encodeURIComponent(AT)}&subject_token=%FF%FE%00&audience=%`,
      '&&&===&&&',
      '=value&=',
      'grant_type',
      '%%%%%%%%',
      `__proto__=x&constructor=y&grant_type=client_credentials&toString=z`,
      `grant_type=${encodeURIComponent(TE)}&${'audience=x&'.repeat(2000)}subject_token=a`,
      Buffer.from([0xff, 0xfe, 0x00, 0x3d, 0x26]).toString('latin1'),
    ];
    for (const body of bodies) {
      for (const path of ['/token', '/introspect', '/revoke']) {
        const res = await raw(path, body);
        expect(res.status, `${path} ${body.slice(0, 80)}`).toBeLessThan(500);
        expect(res.headers.get('cache-control')).toBe('no-store');
        if (res.status >= 400) {
          const parsed = (await res.json()) as Record<string, unknown>;
          expect(typeof parsed.error).toBe('string');
        }
      }
    }
  });

  it('answers garbage at introspection with {active:false} and at revocation with an empty 200', async () => {
    for (const token of await garbageTokens()) {
      if (token === '' || token === ' ') continue;
      const introspect = await b.post('/introspect', { token }, 'planner');
      expect(introspect.status).toBe(200);
      expect(await introspect.json()).toEqual({ active: false });
      const revoke = await b.post('/revoke', { token }, 'planner');
      expect(revoke.status).toBe(200);
      expect(await revoke.text()).toBe('');
    }
  });

  it('never answers garbage client credentials with a 5xx', async () => {
    const headers = [
      'Basic',
      'Basic    ',
      'Basic ===',
      `Basic ${Buffer.from(':').toString('base64')}`,
      `Basic ${Buffer.from('planner:').toString('base64')}`,
      `Basic ${Buffer.from(':secret').toString('base64')}`,
      `Basic ${Buffer.from('%E0%A4%A:%E0%A4%A').toString('base64')}`,
      `Basic ${Buffer.from('__proto__:x').toString('base64')}`,
      `Basic ${'A'.repeat(40_000)}`,
      'Bearer abc',
      'Digest username="planner"',
      'basic ' + Buffer.from(`planner:${SECRETS.planner}`).toString('base64') + ' extra',
    ];
    for (const authorization of headers) {
      const res = await raw('/token', toBody({ grant_type: 'client_credentials' }), {
        authorization,
      });
      expect(res.status, authorization.slice(0, 40)).toBeLessThan(500);
      const parsed = (await res.json()) as Record<string, unknown>;
      expect(typeof parsed.error).toBe('string');
    }
    const assertions = [
      'a.b.c',
      'x'.repeat(17 * 1024),
      '',
      `${enc({ alg: 'none' })}.${enc({ iss: ['planner'] })}.`,
    ];
    for (const client_assertion of assertions) {
      const res = await b.post('/token', {
        grant_type: 'client_credentials',
        client_assertion_type: 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer',
        client_assertion,
      });
      expect(res.status).toBe(401);
      expect(await res.json()).toEqual({
        error: 'invalid_client',
        error_description: 'client authentication failed',
      });
    }
  });
});
