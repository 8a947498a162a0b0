/**
 * Hostile text at the HTTP edge (issue 9, points 2, 4 and 5): whatever a client sends,
 * `error_description` holds only RFC 6749 §5.2 characters and is bounded; parameters
 * are capped in count and size with a fixed description; a refused request leaves a
 * small, sanitised refusal row with its typed reason; a parameter sent twice, once
 * empty, is refused; `login_hint` is checked like a username and never echoed.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import {
  MAX_RECORDED_VALUE_CHARS,
  MAX_RECORDED_VALUES,
  MAX_REPEATED_VALUE_CHARS,
  MAX_REPEATED_VALUES,
  MAX_SCOPE_CHARS,
  MAX_SCOPE_TOKENS,
} from '../../broker/oauth/limits.js';
import { MAX_WIRE_TEXT } from '../../broker/text/show.js';
import {
  API,
  AT,
  TE,
  basic,
  ledgerApprovals,
  ledgerRefusals,
  makeBroker,
  toBody,
  withApprovals,
  type TestBroker,
} from '../helpers.js';

let b: TestBroker;
beforeEach(async () => {
  b = await makeBroker({ policy: withApprovals });
});
afterEach(async () => {
  await b.close();
});

/** RFC 6749 §5.2: error_description = 1*( %x20-21 / %x23-5B / %x5D-7E ). */
const SECTION_5_2 = /^[\x20\x21\x23-\x5B\x5D-\x7E]+$/;

/** Values that break JSON strings, headers, terminals or what a person reads. */
const HOSTILE = [
  'quote"back\\slash',
  'esc\u001b[2J\u001b[Hcleared',
  'bidi\u202Edesrever',
  'zero\u200Bwidth\u2060joiner',
  'naïve-ünïcödé-✓-🦄',
  'line\nbreak\rreturn\u2028sep',
  'nul\u0000byte\u007fdel',
];

async function answer(
  res: Response,
): Promise<{ status: number; body: Record<string, unknown>; size: number }> {
  const text = await res.text();
  return {
    status: res.status,
    body: JSON.parse(text) as Record<string, unknown>,
    size: text.length,
  };
}

function expectClean(body: Record<string, unknown>, what: string) {
  expect(typeof body.error, what).toBe('string');
  const d = String(body.error_description);
  expect(d, what).toMatch(SECTION_5_2);
  expect(d.length, what).toBeLessThanOrEqual(MAX_WIRE_TEXT);
}

/** The refusals as stored, `requested` as its JSON text (to measure what a row holds). */
const refusalRows = async () =>
  (await ledgerRefusals(b.store)).map((r) => ({
    client_id: r.clientId,
    grant_type: r.grantType,
    error: r.error,
    reason: r.reason,
    error_description: r.errorDescription,
    requested: JSON.stringify(r.requested),
  }));

describe('error_description is RFC 6749 §5.2-clean and bounded', () => {
  it('for hostile scopes, audiences, resources, grant types, token types and parameter names', async () => {
    const alice = await b.idp.sign({ sub: 'alice' });
    for (const v of HOSTILE) {
      const forms: Array<[string, Record<string, string | string[]>]> = [
        [
          'scope',
          {
            grant_type: TE,
            subject_token_type: AT,
            subject_token: alice,
            audience: API,
            scope: `trips:read ${v}`,
          },
        ],
        [
          'audience',
          { grant_type: TE, subject_token_type: AT, subject_token: alice, audience: [API, v] },
        ],
        ['resource', { grant_type: TE, subject_token_type: AT, subject_token: alice, resource: v }],
        ['cc scope', { grant_type: 'client_credentials', scope: v }],
        ['grant_type', { grant_type: v }],
        [
          'token type',
          { grant_type: TE, subject_token_type: v, subject_token: alice, audience: API },
        ],
        ['expires_in', { grant_type: 'client_credentials', expires_in: v }],
      ];
      for (const [what, form] of forms) {
        const res = await answer(await b.post('/token', form, 'planner'));
        expect(res.status, what).toBe(400);
        expectClean(res.body, `${what} ${JSON.stringify(v)}`);
      }
      const bc = await answer(
        await b.post('/bc-authorize', { login_hint: 'alice', scope: v, audience: v }, 'planner'),
      );
      expectClean(bc.body, `bc-authorize ${JSON.stringify(v)}`);
    }
    // A parameter name is input too.
    const dup = await b.app.request('/token', {
      method: 'POST',
      headers: {
        'content-type': 'application/x-www-form-urlencoded',
        authorization: basic('planner'),
      },
      body: `${encodeURIComponent('x"\u001b[2J')}=1&${encodeURIComponent('x"\u001b[2J')}=2&grant_type=client_credentials`,
    });
    expect(await dup.json()).toEqual({
      error: 'invalid_request',
      error_description: 'parameter x??[2J was sent more than once',
    });
  });

  it('keeps the informative wording, with each hostile value made safe', async () => {
    const res = await answer(
      await b.post(
        '/token',
        { grant_type: 'client_credentials', scope: 'trips:read adm"in\u202E\u001b[31m' },
        'planner',
      ),
    );
    expect(res.body).toEqual({
      error: 'invalid_scope',
      error_description:
        'scope not allowed: adm?in??[31m (may ask for: trips:read trips:book flights:book)',
    });
    const target = await answer(
      await b.post(
        '/token',
        { grant_type: 'client_credentials', resource: 'not a \\uri' },
        'planner',
      ),
    );
    expect(target.body).toEqual({
      error: 'invalid_target',
      error_description: 'resource must be an absolute URI without a fragment: not a ?uri',
    });
    const grant = await answer(
      await b.post('/token', { grant_type: `pass"word${'x'.repeat(500)}` }, 'planner'),
    );
    expect(grant.body).toEqual({
      error: 'unsupported_grant_type',
      error_description: `grant_type pass?word${'x'.repeat(52)}... is not supported`,
    });
  });
});

describe('parameters are capped in count and size', () => {
  it('answers a 6,000-scope request in a few hundred bytes, and files a small refusal row', async () => {
    const scope = Array.from({ length: 6000 }, (_, i) => `s${i}`).join(' ');
    const alice = await b.idp.sign({ sub: 'alice' });
    const res = await answer(
      await b.post(
        '/token',
        { grant_type: TE, subject_token_type: AT, subject_token: alice, audience: API, scope },
        'planner',
      ),
    );
    expect(res.status).toBe(400);
    expect(res.body).toEqual({
      error: 'invalid_request',
      error_description: `scope must be at most ${MAX_SCOPE_CHARS} characters`,
    });
    expect(res.size).toBeLessThan(200);
    const rows = await refusalRows();
    expect(rows).toHaveLength(1);
    const row = rows[0]!;
    expect(JSON.stringify(row).length).toBeLessThan(1000);
    expect({ ...row, requested: JSON.parse(row.requested!) }).toEqual({
      client_id: 'planner',
      grant_type: TE,
      error: 'invalid_request',
      reason: 'invalid_request',
      error_description: `scope must be at most ${MAX_SCOPE_CHARS} characters`,
      requested: {
        scope: `${scope.slice(0, MAX_RECORDED_VALUE_CHARS - 3)}...`,
        subject_token_type: AT,
        audience: [API],
        actor_token: false,
      },
    });
  });

  it(`refuses more than ${MAX_SCOPE_TOKENS} scopes even when short, and takes exactly ${MAX_SCOPE_TOKENS}`, async () => {
    const scopes = (n: number) =>
      ['trips:read', ...Array.from({ length: n - 1 }, () => 'trips:read')].join(' ');
    const over = await answer(
      await b.post(
        '/token',
        { grant_type: 'client_credentials', scope: scopes(MAX_SCOPE_TOKENS + 1) },
        'planner',
      ),
    );
    expect(over.body).toEqual({
      error: 'invalid_request',
      error_description: `scope must hold at most ${MAX_SCOPE_TOKENS} scopes`,
    });
    const at = await answer(
      await b.post(
        '/token',
        { grant_type: 'client_credentials', scope: scopes(MAX_SCOPE_TOKENS) },
        'planner',
      ),
    );
    expect(at.status).toBe(200);
  });

  it(`refuses more than ${MAX_REPEATED_VALUES} audience or resource values, or one over ${MAX_REPEATED_VALUE_CHARS} characters`, async () => {
    const alice = await b.idp.sign({ sub: 'alice' });
    const exchange = (form: Record<string, string | string[]>) =>
      b
        .post(
          '/token',
          { grant_type: TE, subject_token_type: AT, subject_token: alice, ...form },
          'planner',
        )
        .then(answer);
    const many = Array.from({ length: MAX_REPEATED_VALUES + 1 }, () => API);
    expect((await exchange({ audience: many })).body).toEqual({
      error: 'invalid_request',
      error_description: `audience must be sent at most ${MAX_REPEATED_VALUES} times`,
    });
    expect((await exchange({ resource: many })).body).toEqual({
      error: 'invalid_request',
      error_description: `resource must be sent at most ${MAX_REPEATED_VALUES} times`,
    });
    expect(
      (await exchange({ audience: [API, `${API}/${'x'.repeat(MAX_REPEATED_VALUE_CHARS)}`] })).body,
    ).toEqual({
      error: 'invalid_request',
      error_description: `each audience value must be at most ${MAX_REPEATED_VALUE_CHARS} characters`,
    });
    // Exactly at the caps is read as usual (and refused only by policy, for the long one).
    expect(
      (await exchange({ audience: Array.from({ length: MAX_REPEATED_VALUES }, () => API) })).status,
    ).toBe(200);
    // The same caps hold at the backchannel endpoint.
    const bc = await answer(
      await b.post(
        '/bc-authorize',
        { login_hint: 'alice', scope: 'trips:read', audience: many },
        'planner',
      ),
    );
    expect(bc.body).toEqual({
      error: 'invalid_request',
      error_description: `audience must be sent at most ${MAX_REPEATED_VALUES} times`,
    });
  });

  it('keeps a small, sanitised record of what a refused request asked, with its typed reason', async () => {
    const alice = await b.idp.sign({ sub: 'alice' });
    const hostile = `https://x.example/\u001b[2J"${'y'.repeat(400)}`;
    const audience = [
      ...Array.from({ length: 10 }, (_, i) => `${hostile}${i}`),
      'https://evil.example',
    ];
    const res = await answer(
      await b.post(
        '/token',
        {
          grant_type: TE,
          subject_token_type: AT,
          subject_token: alice,
          audience,
          scope: 'trips:read',
        },
        'planner',
      ),
    );
    expect(res.body.error).toBe('invalid_target');
    expectClean(res.body, 'invalid_target');
    const row = (await refusalRows())[0]!;
    expect(row.reason).toBe('audience_not_allowed');
    expect(row.error_description).toBe(res.body.error_description);
    const requested = JSON.parse(row.requested!) as { audience: string[]; audience_count: number };
    expect(requested.audience).toHaveLength(MAX_RECORDED_VALUES);
    expect(requested.audience_count).toBe(11);
    for (const a of requested.audience) {
      expect(a).toMatch(SECTION_5_2);
      expect(a.length).toBe(MAX_RECORDED_VALUE_CHARS);
    }
    expect(row.requested!.length).toBeLessThan(1000);
    // The worst a request within the parameter caps can leave still fits the store's cap on the record.
    const worst = {
      scope: 's'.repeat(MAX_SCOPE_CHARS),
      subject_token_type: 't'.repeat(5000),
      actor_token_type: 't'.repeat(5000),
      requested_token_type: 't'.repeat(5000),
      expires_in: '9'.repeat(5000),
    };
    const many = Array.from(
      { length: MAX_REPEATED_VALUES },
      () => `${API}/${'z'.repeat(MAX_REPEATED_VALUE_CHARS)}`,
    );
    await b.post(
      '/token',
      {
        grant_type: TE,
        subject_token: alice,
        ...worst,
        audience: many,
        resource: many,
        actor_token: 'x',
      },
      'planner',
    );
    const last = (await refusalRows()).at(-1)!;
    expect(last.requested!.length).toBeLessThan(2048);
    expect(JSON.parse(last.requested!)).toMatchObject({
      audience_count: MAX_REPEATED_VALUES,
      resource_count: MAX_REPEATED_VALUES,
      actor_token: true,
    });
  });
});

describe('a parameter sent twice, once empty (RFC 6749 §3.1)', () => {
  it.each([
    ['empty first', 'subject_token=&subject_token=X'],
    ['empty last', 'subject_token=X&subject_token='],
    ['both empty', 'subject_token=&subject_token='],
  ])('is invalid_request, %s', async (_name, pair) => {
    const alice = await b.idp.sign({ sub: 'alice' });
    const body = `${pair.replace('X', alice)}&grant_type=${encodeURIComponent(TE)}&subject_token_type=${encodeURIComponent(AT)}&audience=${encodeURIComponent(API)}`;
    const res = await b.app.request('/token', {
      method: 'POST',
      headers: {
        'content-type': 'application/x-www-form-urlencoded',
        authorization: basic('planner'),
      },
      body,
    });
    expect(res.status).toBe(400);
    expect(await res.json()).toEqual({
      error: 'invalid_request',
      error_description: 'parameter subject_token was sent more than once',
    });
  });

  it('still reads a single empty parameter as omitted, and lets audience repeat with an empty value', async () => {
    const res = await b.post(
      '/token',
      { grant_type: 'client_credentials', scope: '', audience: ['', API] },
      'planner',
    );
    expect(res.status).toBe(200);
  });
});

describe('login_hint is checked like a username (point 5)', () => {
  it.each([
    ['an escape sequence', 'alice\u001b[2J\u001b[H'],
    ['a bidi override', 'alice\u202E'],
    ['a zero-width space', 'ali\u200Bce'],
    ['a space', 'alice smith'],
    ['a quote', 'alice"'],
    ['a leading dash', '-alice'],
    ['non-ASCII', 'alicé'],
    ['129 characters', 'a'.repeat(129)],
  ])('refuses %s without echoing it, and stores nothing', async (_name, login_hint) => {
    const res = await answer(
      await b.post('/bc-authorize', { login_hint, scope: 'trips:read', audience: API }, 'planner'),
    );
    expect(res).toEqual({
      status: 400,
      size: expect.any(Number),
      body: {
        error: 'invalid_request',
        error_description:
          'login_hint must be a username: 1-128 characters of ASCII letters, digits and . _ @ + -, starting with a letter or digit',
      },
    });
    expect(await ledgerApprovals(b.store)).toEqual([]);
  });

  it('takes ordinary usernames and e-mail addresses', async () => {
    for (const login_hint of [
      'alice',
      'a',
      'alice.smith+trips@example.com',
      'A_1-b',
      'a'.repeat(128),
    ]) {
      const res = await b.post(
        '/bc-authorize',
        { login_hint, scope: 'trips:read', audience: API },
        'planner',
      );
      expect(res.status, login_hint).toBe(200);
    }
  });
});

describe('zod never speaks on the wire', () => {
  it('words a missing or malformed parameter as a sentence', async () => {
    const res = await answer(
      await b.post('/token', { grant_type: TE, subject_token_type: AT, audience: API }, 'planner'),
    );
    expect(res.body).toEqual({
      error: 'invalid_request',
      error_description: 'subject_token is required',
    });
    const bad = await answer(
      await b.post('/token', { grant_type: 'client_credentials', expires_in: '1e9"' }, 'planner'),
    );
    expect(bad.body).toEqual({
      error: 'invalid_request',
      error_description: 'expires_in must be a positive whole number of seconds',
    });
    const id = await answer(
      await b.post(
        '/token',
        { grant_type: 'urn:openid:params:grant-type:ciba', auth_req_id: 'x'.repeat(201) },
        'planner',
      ),
    );
    expect(id.body).toEqual({
      error: 'invalid_request',
      error_description: 'auth_req_id must be at most 200 characters',
    });
  });
});

it('a body with no form shape at all still gets a clean description', async () => {
  const res = await b.app.request('/token', {
    method: 'POST',
    headers: {
      'content-type': 'application/x-www-form-urlencoded',
      authorization: basic('planner'),
    },
    body: toBody({ grant_type: '\u001b]0;pwned\u0007' }),
  });
  const body = (await res.json()) as Record<string, unknown>;
  expect(body).toEqual({
    error: 'unsupported_grant_type',
    error_description: 'grant_type ?]0;pwned? is not supported',
  });
});
