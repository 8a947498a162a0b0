/**
 * Signing-key rotation through the app (SPEC §3 jwks, §9), on a real SQLite ledger with
 * an injected clock: a rotated key is published at once, signs once it is
 * `use_after_seconds` old, the old key's tokens keep exchanging and introspecting, and
 * the old key leaves /jwks only once the last token it could have signed has expired.
 * Two brokers on one database: a key added through one is published by the other, and
 * the schedule adds one key, not two.
 */
import { createLocalJWKSet, decodeProtectedHeader, jwtVerify, type JWK } from 'jose';
import { afterEach, describe, expect, it } from 'vitest';
import type { PolicyFile } from '../../broker/config/policy.js';
import { startKeyRefresh, rotateIfDue } from '../../broker/tokens/key-refresh.js';
import { CLOCK_SKEW_SECONDS, leavesJwksAt } from '../../broker/tokens/key-rules.js';
import { createSigningKey } from '../../broker/tokens/signing-keys.js';
import { API, ISSUER, makeBroker, type TestBroker } from '../helpers.js';

const USE_AFTER = 10;
const MAX_TTL = 120;

/** Short token lives, so an old key's last token expires within the test's clock. */
function rotationPolicy(keys: PolicyFile['keys'] = {}) {
  return (p: PolicyFile): PolicyFile => ({
    ...p,
    tokens: { default_ttl_seconds: MAX_TTL, max_ttl_seconds: MAX_TTL },
    clients: p.clients.map(({ max_ttl_seconds: _ttl, ...c }) => c),
    keys: { use_after_seconds: USE_AFTER, refresh_seconds: 1, ...keys },
  });
}

const open: TestBroker[] = [];
async function broker(options: Parameters<typeof makeBroker>[0] = {}) {
  const b = await makeBroker({ policy: rotationPolicy(), ...options });
  open.push(b);
  return b;
}
afterEach(async () => {
  for (const b of open.splice(0).reverse()) await b.close();
});

const kidOf = (token: string) => decodeProtectedHeader(token).kid;

async function jwks(b: TestBroker) {
  const res = await b.app.request('/jwks');
  expect(res.status).toBe(200);
  const body = (await res.json()) as { keys: JWK[] };
  return { res, body, kids: body.keys.map((k) => k.kid) };
}

/** alice's token from the test IdP, exchanged by planner for the API. */
async function apiToken(b: TestBroker): Promise<string> {
  const { status, body } = await b.exchange('planner', {
    subject_token: await b.idp.sign({ sub: 'alice' }),
    audience: API,
    scope: 'trips:read',
  });
  expect(status, JSON.stringify(body)).toBe(200);
  return body.access_token as string;
}

/** planner hands alice's token to booker; booker's exchange proves the hand-off verifies. */
async function handOff(b: TestBroker): Promise<string> {
  const { status, body } = await b.exchange('planner', {
    subject_token: await b.idp.sign({ sub: 'alice' }),
    audience: 'agent:booker',
    scope: 'trips:read',
  });
  expect(status, JSON.stringify(body)).toBe(200);
  return body.access_token as string;
}

async function introspect(b: TestBroker, token: string) {
  const res = await b.post('/introspect', { token }, 'booker');
  return (await res.json()) as { active: boolean };
}

describe('rotation on one broker', () => {
  it('publishes a new key at once, signs with it once it is use_after_seconds old, keeps the old key until its last token expired', async () => {
    const b = await broker();
    const oldKid = b.deps.keyRing.kid;
    const before = await handOff(b);
    expect(kidOf(before)).toBe(oldKid);
    expect((await jwks(b)).kids).toEqual([oldKid]);

    b.clock.now += 100;
    const rotated = await createSigningKey(b.store, b.clock.now);
    expect(await b.deps.keyRing.refresh()).toEqual([rotated.kid]);

    // Published at once, before any token names it.
    const published = await jwks(b);
    expect(published.kids).toEqual([rotated.kid, oldKid]);
    expect(published.res.headers.get('cache-control')).toBe('public, max-age=30');
    expect(kidOf(await apiToken(b))).toBe(oldKid);

    // The old key's last token: signed a second before the new key takes over (tokens all live MAX_TTL).
    b.clock.now = rotated.createdAt + USE_AFTER - 1;
    const last = await handOff(b);
    expect(kidOf(last)).toBe(oldKid);

    b.clock.now = rotated.createdAt + USE_AFTER;
    const fresh = await apiToken(b);
    expect(kidOf(fresh)).toBe(rotated.kid);
    const keySet = createLocalJWKSet((await jwks(b)).body as { keys: JWK[] });
    await expect(jwtVerify(fresh, keySet, { issuer: ISSUER })).resolves.toBeTruthy();

    // The old key's tokens still work: introspection, and booker exchanging its hand-off.
    expect(await introspect(b, before)).toMatchObject({ active: true });
    const onward = await b.exchange('booker', {
      subject_token: before,
      audience: API,
      scope: 'trips:read',
    });
    expect(onward.status, JSON.stringify(onward.body)).toBe(200);
    expect(kidOf(onward.body.access_token as string)).toBe(rotated.kid);

    // The old key stays while its last token can live, plus the clock skew allowed.
    const lastExp = (await introspect(b, last)) as { active: boolean; exp?: number };
    expect(lastExp.active).toBe(true);
    const leaves = leavesJwksAt(rotated.createdAt, b.deps.policy.keys);
    expect(leaves).toBe(rotated.createdAt + USE_AFTER + MAX_TTL + CLOCK_SKEW_SECONDS);
    expect(leaves).toBeGreaterThan(lastExp.exp!);
    b.clock.now = lastExp.exp! - 1;
    expect(await introspect(b, last)).toMatchObject({ active: true });
    expect((await jwks(b)).kids).toEqual([rotated.kid, oldKid]);

    b.clock.now = leaves - 1;
    expect((await jwks(b)).kids).toEqual([rotated.kid, oldKid]);
    b.clock.now = leaves;
    expect((await jwks(b)).kids).toEqual([rotated.kid]);
    const later = await apiToken(b);
    expect(kidOf(later)).toBe(rotated.kid);
    expect(await introspect(b, later)).toMatchObject({ active: true });
  });

  it('signs with a new key at once when it is the only one (a first start)', async () => {
    const b = await broker();
    const kid = b.deps.keyRing.kid;
    const [only] = await b.store.signingKeys();
    expect(only!.kid).toBe(kid);
    expect(b.clock.now - only!.createdAt).toBeLessThan(USE_AFTER);
    expect(kidOf(await apiToken(b))).toBe(kid);
  });

  it('a key made in the same second as the last one still counts as the newer', async () => {
    const b = await broker();
    const [first] = await b.store.signingKeys();
    const made = await createSigningKey(b.store, first!.createdAt);
    expect(made.createdAt).toBe(first!.createdAt + 1);
    await b.deps.keyRing.refresh();
    b.clock.now = made.createdAt + USE_AFTER;
    expect(kidOf(await apiToken(b))).toBe(made.kid);
  });

  it('two rotations in a row: each key signs in turn, in the order they were made', async () => {
    const b = await broker();
    const first = b.deps.keyRing.kid;
    b.clock.now += 1000;
    const second = await createSigningKey(b.store, b.clock.now);
    b.clock.now += 3;
    const third = await createSigningKey(b.store, b.clock.now);
    await b.deps.keyRing.refresh();
    expect((await jwks(b)).kids).toEqual([third.kid, second.kid, first]);
    expect(kidOf(await apiToken(b))).toBe(first);
    b.clock.now = second.createdAt + USE_AFTER;
    expect(kidOf(await apiToken(b))).toBe(second.kid);
    b.clock.now = third.createdAt + USE_AFTER;
    expect(kidOf(await apiToken(b))).toBe(third.kid);
    // Each key leaves by its own successor's time.
    b.clock.now = leavesJwksAt(second.createdAt, b.deps.policy.keys);
    expect((await jwks(b)).kids).toEqual([third.kid, second.kid]);
    b.clock.now = leavesJwksAt(third.createdAt, b.deps.policy.keys);
    expect((await jwks(b)).kids).toEqual([third.kid]);
  });
});

describe('several brokers on one database', () => {
  it("a key added through one broker is published by another on its next refresh, and that broker's old tokens still verify", async () => {
    const a = await broker();
    const b = await broker({ dir: a.dir });
    const oldKid = a.deps.keyRing.kid;
    expect(b.deps.keyRing.kid).toBe(oldKid);
    const token = await handOff(b);

    a.clock.now += 100;
    b.clock.now = a.clock.now;
    const rotated = await createSigningKey(a.store, a.clock.now);
    // b's timer (refresh_seconds: 1, real time) picks it up without being told.
    const refresher = startKeyRefresh(b.deps);
    try {
      await expect
        .poll(async () => (await jwks(b)).kids, { timeout: 5_000, interval: 100 })
        .toEqual([rotated.kid, oldKid]);
    } finally {
      await refresher.stop();
    }
    b.clock.now = rotated.createdAt + USE_AFTER;
    expect(kidOf(await apiToken(b))).toBe(rotated.kid);
    // A token signed by the old key through b exchanges at a, which has not refreshed.
    a.clock.now = b.clock.now;
    const onward = await a.exchange('booker', {
      subject_token: token,
      audience: API,
      scope: 'trips:read',
    });
    expect(onward.status, JSON.stringify(onward.body)).toBe(200);
  });
});

describe('rotation on a schedule (keys.rotate_every_days)', () => {
  it('adds a key once the newest is that old, and a second broker that finds it due re-reads and adds none', async () => {
    const schedule = rotationPolicy({ rotate_every_days: 1 });
    const a = await broker({ policy: schedule });
    const b = await broker({ policy: schedule, dir: a.dir });
    const rotatedKeys: string[] = [];
    const refresher = startKeyRefresh(a.deps, {
      random: () => 0,
      onRotated: (k) => rotatedKeys.push(k.kid),
      onError: (e) => {
        throw e;
      },
    });
    try {
      const firstKid = a.deps.keyRing.kid;
      a.clock.now += 86_400 - 1;
      b.clock.now = a.clock.now;
      await refresher.tick();
      expect(rotatedKeys).toEqual([]);
      expect(await a.store.signingKeys()).toHaveLength(1);

      a.clock.now += 1;
      b.clock.now = a.clock.now;
      await refresher.tick();
      expect(rotatedKeys).toHaveLength(1);
      const keys = await a.store.signingKeys();
      expect(keys.map((k) => k.kid)).toEqual([rotatedKeys[0], firstKid]);
      expect((await jwks(a)).kids).toEqual([rotatedKeys[0], firstKid]);

      // b's ring still holds only the first key, so it finds a rotation due; the fresh
      // read before adding shows a's key, and b adds none.
      expect(b.deps.keyRing.keys).toHaveLength(1);
      expect(await rotateIfDue(b.deps, 0)).toBeUndefined();
      expect(await a.store.signingKeys()).toHaveLength(2);
      await b.deps.keyRing.refresh();
      expect((await jwks(b)).kids).toEqual([rotatedKeys[0], firstKid]);

      // Nothing more is due until the new key is a day old.
      a.clock.now += 86_400 - 1;
      await refresher.tick();
      expect(await a.store.signingKeys()).toHaveLength(2);
    } finally {
      await refresher.stop();
    }
  });

  it('is off by default', async () => {
    const b = await makeBroker();
    open.push(b);
    expect(b.deps.policy.keys.rotateEveryDays).toBe(0);
    b.clock.now += 3650 * 86_400;
    expect(await rotateIfDue(b.deps, 0)).toBeUndefined();
    expect(await b.store.signingKeys()).toHaveLength(1);
  });
});
