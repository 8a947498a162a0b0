/**
 * The audit API (SPEC §3, §5): behind the admin bearer, a token's chain, descendants
 * and refusals, and a paginated, filtered list of the ledger.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ADMIN_TOKEN, API, AT, claimsOf, makeBroker, TE, type TestBroker } from '../helpers.js';

let b: TestBroker;
beforeEach(async () => {
  b = await makeBroker();
});
afterEach(async () => {
  await b.close();
});

const EVIL = 'https://evil.example';

/** The fields a report adds when nothing was left out of it. */
function whole(n: { chain: number; descendants: number; refusals: number }) {
  return {
    chain_length: n.chain,
    chain_elided: 0,
    descendants_shown: n.descendants,
    descendants_cursor: null,
    refusals_total: n.refusals,
  };
}

async function get(path: string, bearer: string | null = ADMIN_TOKEN): Promise<Response> {
  return b.app.request(path, {
    headers: bearer === null ? {} : { authorization: `Bearer ${bearer}` },
  });
}

async function getJson(path: string): Promise<{ status: number; body: unknown }> {
  const res = await get(path);
  expect(res.headers.get('cache-control')).toBe('no-store');
  return { status: res.status, body: await res.json() };
}

/**
 * At t0 planner hands alice's token to booker (H1); at t0+10 booker hands it to narrow
 * (H2); at t0+20 narrow gets an API token (T3); at t0+30 narrow is refused an audience
 * against H2.
 */
async function story() {
  const t0 = b.clock.now;
  const alice = await b.idp.sign({ sub: 'alice' });
  const h1 = await b.exchange('planner', {
    subject_token: alice,
    audience: 'agent:booker',
    scope: 'flights:book trips:read',
  });
  b.clock.now = t0 + 10;
  const h2 = await b.exchange('booker', {
    subject_token: h1.body.access_token as string,
    audience: 'agent:narrow',
  });
  b.clock.now = t0 + 20;
  const t3 = await b.exchange('narrow', {
    subject_token: h2.body.access_token as string,
    audience: API,
    scope: 'flights:book',
  });
  b.clock.now = t0 + 30;
  const refused = await b.exchange('narrow', {
    subject_token: h2.body.access_token as string,
    audience: EVIL,
    scope: 'trips:read',
  });
  expect([h1.status, h2.status, t3.status, refused.status]).toEqual([200, 200, 200, 400]);
  const jti = {
    h1: claimsOf(h1.body.access_token).jti!,
    h2: claimsOf(h2.body.access_token).jti!,
    t3: claimsOf(t3.body.access_token).jti!,
  };
  const entry = {
    h1: {
      jti: jti.h1,
      parent_jti: null,
      sub: 'alice',
      act: { sub: 'planner' },
      client_id: 'planner',
      grant_type: TE,
      scope: 'flights:book trips:read',
      aud: ['agent:booker'],
      iat: t0,
      exp: t0 + 300,
      revoked: false,
      revoked_at: null,
    },
    h2: {
      jti: jti.h2,
      parent_jti: jti.h1,
      sub: 'alice',
      act: { sub: 'booker', act: { sub: 'planner' } },
      client_id: 'booker',
      grant_type: TE,
      scope: 'flights:book trips:read',
      aud: ['agent:narrow'],
      iat: t0 + 10,
      // Lifetime never grows: capped by H1's exp.
      exp: t0 + 300,
      revoked: false,
      revoked_at: null,
    },
    t3: {
      jti: jti.t3,
      parent_jti: jti.h2,
      sub: 'alice',
      act: { sub: 'narrow', act: { sub: 'booker', act: { sub: 'planner' } } },
      client_id: 'narrow',
      grant_type: TE,
      scope: 'flights:book',
      aud: [API],
      iat: t0 + 20,
      exp: t0 + 300,
      revoked: false,
      revoked_at: null,
    },
  };
  const refusal = {
    at: t0 + 30,
    client_id: 'narrow',
    grant_type: TE,
    subject_jti: jti.h2,
    error: 'invalid_target',
    error_description: `audience not allowed: ${EVIL} (may ask for: ${API} agent:booker agent:planner)`,
    requested: {
      scope: 'trips:read',
      subject_token_type: AT,
      audience: [EVIL],
      actor_token: false,
    },
  };
  return { t0, jti, entry, refusal, tokens: { h1: h1.body.access_token as string } };
}

describe('audit API authentication', () => {
  it('answers a request without a bearer with 401 and a Bearer challenge', async () => {
    const res = await get('/audit/tokens', null);
    expect(res.status).toBe(401);
    expect(res.headers.get('cache-control')).toBe('no-store');
    expect(res.headers.get('www-authenticate')).toBe('Bearer realm="baton-audit"');
    expect(await res.json()).toEqual({
      error: 'invalid_request',
      error_description: 'the audit API needs the admin bearer token',
    });
  });

  it('does not accept the admin token over Basic', async () => {
    const res = await b.app.request('/audit/tokens/x', {
      headers: { authorization: `Basic ${Buffer.from(`admin:${ADMIN_TOKEN}`).toString('base64')}` },
    });
    expect(res.status).toBe(401);
    expect(res.headers.get('cache-control')).toBe('no-store');
  });

  it.each([
    ['wrong', 'not-the-admin-token'],
    ['a prefix of the right one', ADMIN_TOKEN.slice(0, -1)],
    ['the right one plus more', `${ADMIN_TOKEN}x`],
  ])('answers a %s bearer with 401 invalid_token', async (_name, bearer) => {
    for (const path of ['/audit/tokens', '/audit/tokens/some-jti']) {
      const res = await get(path, bearer);
      expect(res.status).toBe(401);
      expect(res.headers.get('www-authenticate')).toBe(
        'Bearer realm="baton-audit", error="invalid_token", error_description="the admin bearer token is not valid"',
      );
      expect(await res.json()).toEqual({
        error: 'invalid_token',
        error_description: 'the admin bearer token is not valid',
      });
    }
  });

  it('accepts the bearer scheme case-insensitively', async () => {
    const res = await b.app.request('/audit/tokens', {
      headers: { authorization: `bearer ${ADMIN_TOKEN}` },
    });
    expect(res.status).toBe(200);
  });
});

describe('GET /audit/tokens/{jti}', () => {
  it('shows the middle of a three-hop chain: chain, descendants tree and the refusal against it', async () => {
    const s = await story();
    expect(await getJson(`/audit/tokens/${s.jti.h2}`)).toEqual({
      status: 200,
      body: {
        token: s.entry.h2,
        chain: [s.entry.h1, s.entry.h2],
        descendants: { ...s.entry.h2, children: [{ ...s.entry.t3, children: [] }] },
        refusals: [s.refusal],
        approval: null,
        ...whole({ chain: 2, descendants: 1, refusals: 1 }),
      },
    });
  });

  it('shows the root with the whole tree and a refusal against a descendant', async () => {
    const s = await story();
    expect(await getJson(`/audit/tokens/${s.jti.h1}`)).toEqual({
      status: 200,
      body: {
        token: s.entry.h1,
        chain: [s.entry.h1],
        descendants: {
          ...s.entry.h1,
          children: [{ ...s.entry.h2, children: [{ ...s.entry.t3, children: [] }] }],
        },
        refusals: [s.refusal],
        approval: null,
        ...whole({ chain: 1, descendants: 2, refusals: 1 }),
      },
    });
  });

  it('shows the leaf with the full chain, root first, and no refusals', async () => {
    const s = await story();
    expect(await getJson(`/audit/tokens/${s.jti.t3}`)).toEqual({
      status: 200,
      body: {
        token: s.entry.t3,
        chain: [s.entry.h1, s.entry.h2, s.entry.t3],
        descendants: { ...s.entry.t3, children: [] },
        refusals: [],
        approval: null,
        ...whole({ chain: 3, descendants: 0, refusals: 0 }),
      },
    });
  });

  it('shows a revocation on every token it reached', async () => {
    const s = await story();
    b.clock.now = s.t0 + 40;
    const res = await b.post('/revoke', { token: s.tokens.h1 }, 'planner');
    expect(res.status).toBe(200);
    const revoked = { revoked: true, revoked_at: s.t0 + 40 };
    expect(await getJson(`/audit/tokens/${s.jti.h2}`)).toEqual({
      status: 200,
      body: {
        token: { ...s.entry.h2, ...revoked },
        chain: [
          { ...s.entry.h1, ...revoked },
          { ...s.entry.h2, ...revoked },
        ],
        descendants: {
          ...s.entry.h2,
          ...revoked,
          children: [{ ...s.entry.t3, ...revoked, children: [] }],
        },
        refusals: [s.refusal],
        approval: null,
        ...whole({ chain: 2, descendants: 1, refusals: 1 }),
      },
    });
  });

  it('answers an unknown jti with a 404 JSON error', async () => {
    await story();
    expect(await getJson('/audit/tokens/00000000-0000-4000-8000-000000000000')).toEqual({
      status: 404,
      body: { error: 'invalid_request', error_description: 'no token with that jti in the ledger' },
    });
  });
});

describe('GET /audit/tokens', () => {
  it('lists tokens newest first, two per page, and the second page continues without overlap', async () => {
    const s = await story();
    const first = await getJson('/audit/tokens?sub=alice&limit=2');
    expect(first).toEqual({
      status: 200,
      body: { tokens: [s.entry.t3, s.entry.h2], next_cursor: expect.any(String) },
    });
    const cursor = (first.body as { next_cursor: string }).next_cursor;
    const second = await getJson(
      `/audit/tokens?sub=alice&limit=2&cursor=${encodeURIComponent(cursor)}`,
    );
    expect(second).toEqual({ status: 200, body: { tokens: [s.entry.h1], next_cursor: null } });
  });

  it('pages through tokens issued in the same second without losing or repeating any', async () => {
    const jtis: string[] = [];
    for (let i = 0; i < 5; i++) {
      const res = await b.post('/token', { grant_type: 'client_credentials' }, 'booker');
      jtis.push(claimsOf(((await res.json()) as { access_token: string }).access_token).jti!);
    }
    const seen: string[] = [];
    let cursor: string | null = null;
    let pages = 0;
    do {
      const q: string = cursor === null ? '' : `&cursor=${encodeURIComponent(cursor)}`;
      const page = (await getJson(`/audit/tokens?client_id=booker&limit=2${q}`)).body as {
        tokens: Array<{ jti: string }>;
        next_cursor: string | null;
      };
      seen.push(...page.tokens.map((t) => t.jti));
      cursor = page.next_cursor;
      pages++;
    } while (cursor !== null && pages < 10);
    expect(seen).toEqual([...jtis].sort().reverse());
  });

  it('filters by client_id', async () => {
    const s = await story();
    await b.post('/token', { grant_type: 'client_credentials' }, 'planner');
    expect(await getJson('/audit/tokens?client_id=booker')).toEqual({
      status: 200,
      body: { tokens: [s.entry.h2], next_cursor: null },
    });
  });

  it('filters by since, in Unix seconds or ISO 8601', async () => {
    const s = await story();
    expect(await getJson(`/audit/tokens?sub=alice&since=${s.t0 + 10}`)).toEqual({
      status: 200,
      body: { tokens: [s.entry.t3, s.entry.h2], next_cursor: null },
    });
    const iso = new Date((s.t0 + 11) * 1000).toISOString();
    expect(await getJson(`/audit/tokens?since=${encodeURIComponent(iso)}`)).toEqual({
      status: 200,
      body: { tokens: [s.entry.t3], next_cursor: null },
    });
  });

  it('lists every subject without a filter', async () => {
    const s = await story();
    b.clock.now = s.t0 + 50;
    const cc = await b.post(
      '/token',
      { grant_type: 'client_credentials', scope: 'trips:read' },
      'booker',
    );
    const jti = claimsOf(((await cc.json()) as { access_token: string }).access_token).jti!;
    expect(await getJson('/audit/tokens')).toEqual({
      status: 200,
      body: {
        tokens: [
          {
            jti,
            parent_jti: null,
            sub: 'booker',
            act: null,
            client_id: 'booker',
            grant_type: 'client_credentials',
            scope: 'trips:read',
            aud: ['http://baton.test'],
            iat: s.t0 + 50,
            exp: s.t0 + 350,
            revoked: false,
            revoked_at: null,
          },
          s.entry.t3,
          s.entry.h2,
          s.entry.h1,
        ],
        next_cursor: null,
      },
    });
  });

  it.each([
    ['limit=0', 'limit must be 1 to 500'],
    ['limit=501', 'limit must be 1 to 500'],
    ['limit=abc', 'limit must be a whole number'],
    ['limit=-1', 'limit must be a whole number'],
    ['limit=2.5', 'limit must be a whole number'],
    ['cursor=not-a-cursor', 'cursor is not one this API gave out'],
    [
      `cursor=${Buffer.from('no-dot-here').toString('base64url')}`,
      'cursor is not one this API gave out',
    ],
    ['since=yesterday', 'since must be Unix seconds or an ISO 8601 date'],
  ])('refuses %s with 400 invalid_request', async (query, description) => {
    expect(await getJson(`/audit/tokens?${query}`)).toEqual({
      status: 400,
      body: { error: 'invalid_request', error_description: description },
    });
  });
});
