/**
 * Two brokers on one PostgreSQL, through HTTP (SPEC §9): each a real app (`createApp`)
 * with its own store and pool on the same database, as two processes behind one address
 * would be. A chain hops from one broker to the other; a revocation through one is
 * refused by the other on its next request; a CIBA approval polled at both yields one
 * token.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createApp } from '../../broker/app.js';
import { buildDeps } from '../../broker/build.js';
import { parsePolicy } from '../../broker/config/policy.js';
import { openPgStore, type PgStore } from '../../broker/store/pg-store.js';
import {
  ADMIN_TOKEN,
  AT,
  CIBA,
  ISSUER,
  TE,
  basic,
  claimsOf,
  makeIdp,
  testPolicy,
  toBody,
  withApprovals,
  type TestIdp,
} from '../helpers.js';
import { freshPgDatabase } from '../support/postgres.js';

interface Broker {
  store: PgStore;
  post(path: string, form: Record<string, string>, client: string): Promise<Response>;
}

let idp: TestIdp;
let brokers: Broker[];
const clock = { now: Math.floor(Date.now() / 1000) };

beforeEach(async () => {
  const url = await freshPgDatabase();
  idp = await makeIdp(() => clock.now);
  const policy = parsePolicy(withApprovals(testPolicy(idp.jwk)), ISSUER);
  brokers = [];
  // One after the other, as a second broker joining a running one: it finds the key.
  for (let i = 0; i < 2; i++) {
    const store = await openPgStore(url, { maxConnections: 4 });
    const deps = await buildDeps({
      issuer: ISSUER,
      policy,
      store,
      adminToken: ADMIN_TOKEN,
      now: () => clock.now,
    });
    const app = createApp(deps);
    brokers.push({
      store,
      post: (path, form, client) =>
        Promise.resolve(
          app.request(path, {
            method: 'POST',
            headers: {
              'content-type': 'application/x-www-form-urlencoded',
              authorization: basic(client),
            },
            body: toBody(form),
          }),
        ),
    });
  }
});
afterEach(async () => {
  await Promise.all(brokers.map((b) => b.store.close()));
});

async function exchange(b: Broker, client: string, form: Record<string, string>) {
  const res = await b.post('/token', { grant_type: TE, subject_token_type: AT, ...form }, client);
  return { status: res.status, body: (await res.json()) as Record<string, unknown> };
}

describe('Two brokers on one PostgreSQL, over HTTP', () => {
  it('carry a chain across brokers, and a revocation through one is refused by the other', async () => {
    const [a, b] = brokers as [Broker, Broker];
    const alice = await idp.sign({ sub: 'alice' });
    const h1 = await exchange(a, 'planner', {
      subject_token: alice,
      audience: 'agent:booker',
      scope: 'flights:book trips:read',
    });
    expect(h1.status).toBe(200);
    const h2 = await exchange(b, 'booker', {
      subject_token: h1.body.access_token as string,
      audience: 'agent:narrow',
    });
    expect(h2.status).toBe(200);
    const j1 = claimsOf(h1.body.access_token).jti!;
    const j2 = claimsOf(h2.body.access_token).jti!;
    // The hop made at b continues the chain a started.
    expect(await a.store.getToken(j2)).toMatchObject({ parentJti: j1, rootJti: j1, hop: 1 });

    const introspect = async (x: Broker, token: string) =>
      ((await (await x.post('/introspect', { token }, 'api')).json()) as { active: boolean })
        .active;
    expect(await introspect(a, h2.body.access_token as string)).toBe(true);
    const toApi = () =>
      exchange(a, 'narrow', {
        subject_token: h2.body.access_token as string,
        audience: 'https://api.example.com',
      });
    const h3 = await toApi();
    expect(h3.status).toBe(200);

    const revoked = await b.post('/revoke', { token: h1.body.access_token as string }, 'planner');
    expect(revoked.status).toBe(200);
    expect(await introspect(a, h2.body.access_token as string)).toBe(false);
    expect(await introspect(b, h3.body.access_token as string)).toBe(false);
    expect(await toApi()).toEqual({
      status: 400,
      body: { error: 'invalid_request', error_description: 'the subject token has been revoked' },
    });
  });

  it('issue one token for an approval polled at both brokers at once', async () => {
    const [a, b] = brokers as [Broker, Broker];
    const asked = await a.post(
      '/bc-authorize',
      { login_hint: 'alice', scope: 'trips:book', audience: 'https://api.example.com' },
      'planner',
    );
    expect(asked.status).toBe(200);
    const { auth_req_id } = (await asked.json()) as { auth_req_id: string };
    expect(
      await b.store.decideApproval(auth_req_id, 'approved', 'trips:book', 'alice', clock.now),
    ).toBe(true);
    const polls = await Promise.all(
      [a, b, a, b].map((x) =>
        x.post('/token', { grant_type: CIBA, auth_req_id }, 'planner').then(async (r) => ({
          status: r.status,
          body: (await r.json()) as Record<string, unknown>,
        })),
      ),
    );
    const issued = polls.filter((p) => p.status === 200);
    expect(issued).toHaveLength(1);
    const jti = claimsOf(issued[0]!.body.access_token).jti!;
    expect((await b.store.getApproval(auth_req_id))?.issuedJti).toBe(jti);
    expect(await a.store.getToken(jti)).toBeDefined();
    for (const p of polls.filter((x) => x.status !== 200)) expect(p.status).toBe(400);
  });
});
