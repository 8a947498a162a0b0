import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { API, AT, claimsOf, makeBroker, type TestBroker } from '../helpers.js';

let b: TestBroker;
beforeEach(async () => {
  b = await makeBroker();
});
afterEach(async () => {
  await b.close();
});

/** alice's IdP token → planner hands off to booker. */
async function handOff(scope = 'flights:book trips:read') {
  const alice = await b.idp.sign({ sub: 'alice' });
  const res = await b.exchange('planner', {
    subject_token: alice,
    audience: 'agent:booker',
    scope,
  });
  expect(res.status).toBe(200);
  return res.body.access_token as string;
}

describe('token exchange over HTTP', () => {
  it('nests act with the current actor outermost across two hops', async () => {
    const handoff = await handOff();
    expect(claimsOf(handoff)).toMatchObject({
      sub: 'alice',
      act: { sub: 'planner' },
      aud: 'agent:booker',
      client_id: 'planner',
    });
    const res = await b.exchange('booker', {
      subject_token: handoff,
      audience: API,
      scope: 'flights:book',
    });
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({
      issued_token_type: AT,
      token_type: 'Bearer',
      expires_in: 300,
      scope: 'flights:book',
    });
    const claims = claimsOf(res.body.access_token);
    expect(claims).toMatchObject({
      iss: 'http://baton.test',
      sub: 'alice',
      aud: API,
      scope: 'flights:book',
      client_id: 'booker',
      act: { sub: 'booker', act: { sub: 'planner' } },
    });
    const row = await b.store.getToken(claims.jti!);
    expect(row).toMatchObject({
      parentJti: claimsOf(handoff).jti,
      sub: 'alice',
      clientId: 'booker',
      revokedAt: null,
    });
  });

  it('refuses a scope the subject token lacks, and records the refusal against it', async () => {
    const handoff = await handOff('flights:book');
    const res = await b.exchange('booker', {
      subject_token: handoff,
      audience: API,
      scope: 'trips:read',
    });
    expect(res).toEqual({
      status: 400,
      body: {
        error: 'invalid_scope',
        error_description: 'scope not allowed: trips:read (may ask for: flights:book)',
      },
    });
    const refusals = await b.store.refusalsAgainst([claimsOf(handoff).jti!]);
    expect(refusals).toHaveLength(1);
    expect(refusals[0]).toMatchObject({
      clientId: 'booker',
      error: 'invalid_scope',
      requested: { scope: 'trips:read', audience: [API] },
    });
  });

  it('refuses a Baton token presented by a client it was not handed to', async () => {
    const handoff = await handOff();
    const res = await b.exchange('narrow', { subject_token: handoff, audience: API });
    expect(res).toEqual({
      status: 400,
      body: {
        error: 'invalid_request',
        error_description: 'the subject token was not handed to narrow',
      },
    });
  });

  it('cascades a revocation to every descendant, which then cannot be exchanged or introspected', async () => {
    const handoff = await handOff();
    const apiToken = (
      await b.exchange('booker', { subject_token: handoff, audience: API, scope: 'flights:book' })
    ).body.access_token as string;
    const revoke = await b.post('/revoke', { token: handoff }, 'planner');
    expect(revoke.status).toBe(200);
    const introspect = await b.post('/introspect', { token: apiToken }, 'api');
    expect(await introspect.json()).toEqual({ active: false });
    const again = await b.exchange('booker', { subject_token: handoff, audience: API });
    expect(again).toEqual({
      status: 400,
      body: { error: 'invalid_request', error_description: 'the subject token has been revoked' },
    });
  });

  it('files a refusal against an expired Baton token, so the audit tree shows it', async () => {
    const handoff = await handOff();
    const jti = claimsOf(handoff).jti!;
    b.clock.now += 3600;
    const res = await b.exchange('booker', { subject_token: handoff, audience: API });
    expect(res).toEqual({
      status: 400,
      body: { error: 'invalid_request', error_description: 'the subject token has expired' },
    });
    const refusals = await b.store.refusalsAgainst([jti]);
    expect(refusals.map((r) => [r.subjectJti, r.clientId, r.error])).toEqual([
      [jti, 'booker', 'invalid_request'],
    ]);
  });
});
