/**
 * Introspection (RFC 7662) and revocation (RFC 7009) with the cascade of SPEC §5, over
 * a three-hop chain: alice → planner hands to booker → booker hands to narrow → narrow
 * gets a token for the API.
 */
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import {
  API,
  claimsOf,
  ISSUER,
  makeBroker,
  SECRETS,
  type TestBroker,
  ledgerTokens,
} from '../helpers.js';

let b: TestBroker;
beforeEach(async () => {
  b = await makeBroker();
});
afterEach(async () => {
  await b.close();
});

interface Chain {
  handoff: string;
  middle: string;
  api: string;
  jti: { handoff: string; middle: string; api: string };
  t0: number;
}

/** alice's IdP token → planner → (agent:booker) → booker → (agent:narrow) → narrow → API. */
async function threeHops(): Promise<Chain> {
  const t0 = b.clock.now;
  const alice = await b.idp.sign({ sub: 'alice' });
  const h1 = await b.exchange('planner', {
    subject_token: alice,
    audience: 'agent:booker',
    scope: 'flights:book trips:read',
  });
  expect(h1.status).toBe(200);
  const h2 = await b.exchange('booker', {
    subject_token: h1.body.access_token as string,
    audience: 'agent:narrow',
  });
  expect(h2.status).toBe(200);
  const t3 = await b.exchange('narrow', {
    subject_token: h2.body.access_token as string,
    audience: API,
    scope: 'flights:book',
  });
  expect(t3.status).toBe(200);
  const [handoff, middle, api] = [h1, h2, t3].map((r) => r.body.access_token as string) as [
    string,
    string,
    string,
  ];
  return {
    handoff,
    middle,
    api,
    jti: {
      handoff: claimsOf(handoff).jti!,
      middle: claimsOf(middle).jti!,
      api: claimsOf(api).jti!,
    },
    t0,
  };
}

/** POSTs as `client` by the method it is registered for (poster uses client_secret_post). */
function postAs(path: string, form: Record<string, string>, client: string): Promise<Response> {
  if (client === 'poster')
    return b.post(path, { ...form, client_id: 'poster', client_secret: SECRETS.poster! });
  return b.post(path, form, client);
}

async function introspect(token: string, client = 'api'): Promise<unknown> {
  const res = await postAs('/introspect', { token }, client);
  expect(res.status).toBe(200);
  expect(res.headers.get('cache-control')).toBe('no-store');
  return res.json();
}

async function revoke(token: string, client: string): Promise<void> {
  const res = await postAs('/revoke', { token }, client);
  expect(res.status).toBe(200);
  expect(res.headers.get('cache-control')).toBe('no-store');
  expect(await res.text()).toBe('');
}

async function activeOf(c: Chain) {
  const out: Record<string, boolean> = {};
  for (const k of ['handoff', 'middle', 'api'] as const)
    out[k] = ((await introspect(c[k])) as { active: boolean }).active;
  return out;
}

describe('introspection', () => {
  it('shows an active exchanged token with all its claims, act included', async () => {
    const c = await threeHops();
    expect(await introspect(c.api)).toEqual({
      active: true,
      iss: ISSUER,
      sub: 'alice',
      aud: API,
      exp: c.t0 + 300,
      iat: c.t0,
      jti: c.jti.api,
      client_id: 'narrow',
      scope: 'flights:book',
      token_type: 'Bearer',
      act: { sub: 'narrow', act: { sub: 'booker', act: { sub: 'planner' } } },
    });
    expect(await introspect(c.middle, 'poster')).toEqual({
      active: true,
      iss: ISSUER,
      sub: 'alice',
      aud: 'agent:narrow',
      exp: c.t0 + 300,
      iat: c.t0,
      jti: c.jti.middle,
      client_id: 'booker',
      scope: 'flights:book trips:read',
      token_type: 'Bearer',
      act: { sub: 'booker', act: { sub: 'planner' } },
    });
  });

  it('shows a client_credentials token without act', async () => {
    const res = await b.post(
      '/token',
      { grant_type: 'client_credentials', scope: 'trips:read' },
      'booker',
    );
    const token = ((await res.json()) as { access_token: string }).access_token;
    expect(await introspect(token)).toEqual({
      active: true,
      iss: ISSUER,
      sub: 'booker',
      aud: ISSUER,
      exp: b.clock.now + 300,
      iat: b.clock.now,
      jti: claimsOf(token).jti,
      client_id: 'booker',
      scope: 'trips:read',
      token_type: 'Bearer',
    });
  });

  it.each([
    ['unknown', 'eyJhbGciOiJFUzI1NiJ9.eyJzdWIiOiJ4In0.c2ln'],
    ['garbage', '%%% not a token %%%'],
    ['a.b.c', 'a.b.c'],
  ])('answers an %s token with exactly {active:false}', async (_name, token) => {
    expect(await introspect(token)).toEqual({ active: false });
  });

  it('answers a token that has just expired with exactly {active:false}', async () => {
    const c = await threeHops();
    b.clock.now = c.t0 + 299;
    expect(await introspect(c.api)).toMatchObject({ active: true });
    b.clock.now = c.t0 + 300;
    expect(await introspect(c.api)).toEqual({ active: false });
  });

  it('answers a revoked token with exactly {active:false}', async () => {
    const c = await threeHops();
    await revoke(c.api, 'narrow');
    expect(await introspect(c.api)).toEqual({ active: false });
  });

  it("answers a token Baton did not issue (the IdP's) with exactly {active:false}", async () => {
    const alice = await b.idp.sign({ sub: 'alice' });
    expect(await introspect(alice)).toEqual({ active: false });
  });

  it('answers a validly signed token missing from the ledger with {active:false}', async () => {
    const c = await threeHops();
    // Its chain leaves the ledger (retention with a cutoff past its expiry: an operator
    // pruning early, or a database restored from before it was issued); the JWT still verifies.
    expect(await b.store.pruneChains(b.clock.now + 86_400, { limit: 100 })).toBe(3);
    expect(await b.store.getToken(c.jti.api)).toBeUndefined();
    expect(await introspect(c.api)).toEqual({ active: false });
  });

  it('needs client authentication', async () => {
    const c = await threeHops();
    const none = await b.post('/introspect', { token: c.api });
    expect(none.status).toBe(401);
    expect(none.headers.get('cache-control')).toBe('no-store');
    expect(await none.json()).toEqual({
      error: 'invalid_client',
      error_description: 'client authentication failed',
    });
    const wrong = await b.post('/introspect', { token: c.api }, null, {
      authorization: `Basic ${Buffer.from('api:wrong-secret').toString('base64')}`,
    });
    expect(wrong.status).toBe(401);
    expect(wrong.headers.get('www-authenticate')?.startsWith('Basic')).toBe(true);
    expect(await wrong.json()).toEqual({
      error: 'invalid_client',
      error_description: 'client authentication failed',
    });
  });

  it('accepts client_secret_post', async () => {
    const c = await threeHops();
    const res = await b.post('/introspect', {
      token: c.api,
      client_id: 'poster',
      client_secret: SECRETS.poster!,
    });
    expect(res.status).toBe(200);
    expect(await res.json()).toMatchObject({ active: true, jti: c.jti.api });
  });

  it('refuses a request without token', async () => {
    const res = await b.post('/introspect', { token_type_hint: 'access_token' }, 'api');
    expect(res.status).toBe(400);
    expect(await res.json()).toEqual({
      error: 'invalid_request',
      error_description: 'token is required',
    });
  });
});

describe('revocation', () => {
  it("by the token's client cascades to children and grandchildren", async () => {
    const c = await threeHops();
    b.clock.now = c.t0 + 7;
    await revoke(c.handoff, 'planner');
    expect(await activeOf(c)).toEqual({ handoff: false, middle: false, api: false });
    for (const jti of Object.values(c.jti)) {
      expect(await b.store.getToken(jti)).toMatchObject({
        revokedAt: c.t0 + 7,
        revokedVia: c.jti.handoff,
      });
    }
  });

  it('of the middle token revokes its descendants and leaves its parent active', async () => {
    const c = await threeHops();
    b.clock.now = c.t0 + 5;
    await revoke(c.middle, 'booker');
    expect(await activeOf(c)).toEqual({ handoff: true, middle: false, api: false });
    expect(await b.store.getToken(c.jti.handoff)).toMatchObject({
      revokedAt: null,
      revokedVia: null,
    });
    expect(await b.store.getToken(c.jti.middle)).toMatchObject({
      revokedAt: c.t0 + 5,
      revokedVia: c.jti.middle,
    });
    expect(await b.store.getToken(c.jti.api)).toMatchObject({
      revokedAt: c.t0 + 5,
      revokedVia: c.jti.middle,
    });
    // The revoked tokens can no longer be exchanged; the parent still can.
    const again = await b.exchange('narrow', { subject_token: c.middle, audience: API });
    expect(again).toEqual({
      status: 400,
      body: { error: 'invalid_request', error_description: 'the subject token has been revoked' },
    });
    const fresh = await b.exchange('booker', {
      subject_token: c.handoff,
      audience: API,
      scope: 'trips:read',
    });
    expect(fresh.status).toBe(200);
  });

  it('by an earlier actor in the act chain works', async () => {
    const c = await threeHops();
    b.clock.now = c.t0 + 3;
    await revoke(c.api, 'planner');
    expect(await activeOf(c)).toEqual({ handoff: true, middle: true, api: false });
    expect(await b.store.getToken(c.jti.api)).toMatchObject({
      revokedAt: c.t0 + 3,
      revokedVia: c.jti.api,
    });
  });

  it('by an uninvolved client answers 200 and revokes nothing', async () => {
    const c = await threeHops();
    await revoke(c.handoff, 'api');
    await revoke(c.middle, 'poster');
    // narrow holds a descendant, but is not an actor of the middle token itself.
    await revoke(c.middle, 'narrow');
    expect(await activeOf(c)).toEqual({ handoff: true, middle: true, api: true });
    for (const jti of Object.values(c.jti)) {
      expect(await b.store.getToken(jti)).toMatchObject({ revokedAt: null, revokedVia: null });
    }
  });

  it('by the audience of a hand-off who is not yet its actor revokes nothing', async () => {
    const c = await threeHops();
    await revoke(c.handoff, 'booker');
    expect(await activeOf(c)).toEqual({ handoff: true, middle: true, api: true });
  });

  it('of an unknown or foreign token answers 200', async () => {
    await revoke('a.b.c', 'planner');
    await revoke(await b.idp.sign({ sub: 'alice' }), 'planner');
    expect((await ledgerTokens(b.store)).filter((t) => t.revokedAt !== null)).toEqual([]);
  });

  it('twice is harmless and keeps the first revocation time', async () => {
    const c = await threeHops();
    b.clock.now = c.t0 + 1;
    await revoke(c.middle, 'booker');
    b.clock.now = c.t0 + 2;
    await revoke(c.handoff, 'planner');
    expect(await b.store.getToken(c.jti.middle)).toMatchObject({
      revokedAt: c.t0 + 1,
      revokedVia: c.jti.middle,
    });
    expect(await b.store.getToken(c.jti.api)).toMatchObject({
      revokedAt: c.t0 + 1,
      revokedVia: c.jti.middle,
    });
    expect(await b.store.getToken(c.jti.handoff)).toMatchObject({
      revokedAt: c.t0 + 2,
      revokedVia: c.jti.handoff,
    });
  });

  it('refuses an exchange whose subject token is revoked while it is being issued, leaving no live child', async () => {
    const c = await threeHops();
    // The real store; the revocation is only timed to land between the exchange's ledger
    // check and the commit of the new token, as a concurrent request could.
    const record = b.store.recordIssued.bind(b.store);
    const spy = vi.spyOn(b.store, 'recordIssued').mockImplementationOnce(async (row) => {
      await revoke(c.handoff, 'planner');
      return record(row);
    });
    const res = await b.exchange('booker', {
      subject_token: c.handoff,
      audience: API,
      scope: 'trips:read',
    });
    expect(spy).toHaveBeenCalledTimes(1);
    expect(res).toEqual({
      status: 400,
      body: { error: 'invalid_request', error_description: 'the subject token has been revoked' },
    });
    expect((await ledgerTokens(b.store)).filter((t) => t.revokedAt === null)).toEqual([]);
  });

  it('refuses a request without token', async () => {
    const res = await b.post('/revoke', { token_type_hint: 'access_token' }, 'planner');
    expect(res.status).toBe(400);
    expect(res.headers.get('cache-control')).toBe('no-store');
    expect(await res.json()).toEqual({
      error: 'invalid_request',
      error_description: 'token is required',
    });
  });

  it('needs client authentication', async () => {
    const c = await threeHops();
    const res = await b.post('/revoke', { token: c.handoff });
    expect(res.status).toBe(401);
    expect(await res.json()).toEqual({
      error: 'invalid_client',
      error_description: 'client authentication failed',
    });
    expect(await activeOf(c)).toEqual({ handoff: true, middle: true, api: true });
  });
});
