/**
 * `baton/verify` across a key rotation, against a live broker over real HTTP: the
 * verifier, never restarted, accepts a token signed with a key Baton added after the
 * verifier cached its JWKS, keeps accepting the old key's tokens, and fetches the JWKS
 * again for unknown kids at most once per cooldown.
 */
import { Hono } from 'hono';
import { decodeProtectedHeader, SignJWT } from 'jose';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { requireDelegation, type DelegationVariables } from 'baton/verify';
import { createSigningKey } from '../../broker/tokens/signing-keys.js';
import { API } from '../helpers.js';
import { startLiveBroker, type LiveBroker } from './live-broker.js';

const COOLDOWN_MS = 1_000;

let broker: LiveBroker;
beforeAll(async () => {
  broker = await startLiveBroker();
});
afterAll(async () => {
  await broker.close();
});

function downstream() {
  const app = new Hono<{ Variables: DelegationVariables }>();
  app.get(
    '/bookings',
    requireDelegation({ issuer: broker.issuer, audience: API, jwksCooldownMs: COOLDOWN_MS }),
    (c) => c.json({ sub: c.get('delegation').sub }),
  );
  return app;
}

const call = (app: Hono<{ Variables: DelegationVariables }>, token: string) =>
  app.request('/bookings', { headers: { authorization: `Bearer ${token}` } });

async function apiToken(): Promise<string> {
  return broker.exchange('planner', {
    subject_token: await broker.idp.sign({ sub: 'alice' }),
    audience: API,
    scope: 'trips:read',
  });
}

const jwksFetches = () => broker.requests.filter((p) => p === '/jwks').length;

describe('baton/verify after a key rotation', () => {
  it('accepts a token with the new kid without a restart, and the old key still', async () => {
    const api = downstream();
    const oldKid = broker.deps.keyRing.kid;
    const before = await apiToken();
    expect(decodeProtectedHeader(before).kid).toBe(oldKid);
    expect((await call(api, before)).status).toBe(200);
    const fetchedOnce = jwksFetches();
    expect(fetchedOnce).toBeGreaterThanOrEqual(1);

    // A made-up kid within the cooldown costs Baton nothing and is refused.
    const now = Math.floor(Date.now() / 1000) + broker.clock.offset;
    const forged = await new SignJWT({ iss: broker.issuer, aud: API, sub: 'alice' })
      .setProtectedHeader({ alg: 'ES256', typ: 'at+jwt', kid: 'no-such-key' })
      .setIssuedAt(now)
      .setExpirationTime(now + 60)
      .setJti('x')
      .sign(broker.deps.keyRing.privateKey);
    const refused = await call(api, forged);
    expect(refused.status).toBe(401);
    expect(await refused.json()).toMatchObject({
      error_description: 'the token is signed with a key its issuer does not publish',
    });
    expect(jwksFetches()).toBe(fetchedOnce);

    // Rotate (what `npx baton rotate-key` does) and let the broker see the key.
    const rotated = await createSigningKey(broker.deps.store, now);
    await broker.deps.keyRing.refresh();
    // Baton signs with it only once it is use_after_seconds old, by which time a verifier's
    // cooldown from a fetch made before the key existed is long over.
    await sleep(COOLDOWN_MS + 100);
    broker.clock.offset += rotated.createdAt + broker.deps.policy.keys.useAfterSeconds - now;
    const after = await apiToken();
    expect(decodeProtectedHeader(after).kid).toBe(rotated.kid);

    const res = await call(api, after);
    expect(res.status, JSON.stringify(await res.clone().json())).toBe(200);
    expect(await res.json()).toEqual({ sub: 'alice' });
    expect(jwksFetches()).toBe(fetchedOnce + 1);
    // The old key is still published and its token still passes.
    expect((await call(api, before)).status).toBe(200);
    // Both keys are cached now: no further fetches.
    expect((await call(api, after)).status).toBe(200);
    expect(jwksFetches()).toBe(fetchedOnce + 1);
  });
});
