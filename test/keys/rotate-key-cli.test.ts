/**
 * `npx baton rotate-key` against two running broker processes on one SQLite file, as an
 * operator does it: each broker publishes the new key within `refresh_seconds`, goes on
 * signing with the old one until the new one is `use_after_seconds` old, then signs with
 * the new one, and the old key's token still introspects as active.
 */
import { createHash } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { createLocalJWKSet, decodeProtectedHeader, jwtVerify, type JWK } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CLOCK_SKEW_SECONDS } from '../../broker/tokens/key-rules.js';
import { runBatonCli, startBrokerProcess, type BrokerProcess } from '../e2e/broker-process.js';

const SECRET = 'rotate-key-test-secret-0123456789abcdefghij';
const USE_AFTER = 6;
const MAX_TTL = 600;

let dir: string;
let env: Record<string, string>;
let broker: BrokerProcess;
/** A second broker on the same database, as behind one address. */
let other: BrokerProcess;

beforeAll(async () => {
  dir = mkdtempSync(path.join(tmpdir(), 'baton-rotate-'));
  const policy = path.join(dir, 'policy.json');
  writeFileSync(
    policy,
    JSON.stringify({
      tokens: { default_ttl_seconds: 300, max_ttl_seconds: MAX_TTL },
      keys: { use_after_seconds: USE_AFTER, refresh_seconds: 1 },
      clients: [
        {
          client_id: 'agent',
          client_secret_sha256: createHash('sha256').update(SECRET).digest('hex'),
          grant_types: ['client_credentials'],
          scopes: ['a:read'],
        },
      ],
    }),
  );
  // One issuer for both brokers: they stand behind one address.
  env = {
    BATON_DB: path.join(dir, 'baton.db'),
    BATON_POLICY: policy,
    BATON_ISSUER: 'https://baton.test',
    BATON_LOG_LEVEL: 'info',
  };
  broker = await startBrokerProcess(env);
  other = await startBrokerProcess(env);
});

afterAll(async () => {
  await broker?.stop();
  await other?.stop();
  rmSync(dir, { recursive: true, force: true });
});

const rotateKey = () => runBatonCli(['rotate-key'], env);

async function jwks(at = broker): Promise<{ keys: JWK[] }> {
  const res = await fetch(`${at.url}/jwks`);
  expect(res.status).toBe(200);
  return (await res.json()) as { keys: JWK[] };
}

const kids = async (at = broker) => (await jwks(at)).keys.map((k) => k.kid);

const auth = `Basic ${btoa(`agent:${SECRET}`)}`;

async function token(at = broker): Promise<string> {
  const res = await fetch(`${at.url}/token`, {
    method: 'POST',
    headers: { authorization: auth, 'content-type': 'application/x-www-form-urlencoded' },
    body: 'grant_type=client_credentials&scope=a%3Aread',
  });
  const body = (await res.json()) as { access_token: string };
  expect(res.status, JSON.stringify(body)).toBe(200);
  return body.access_token;
}

async function active(t: string, at = broker): Promise<boolean> {
  const res = await fetch(`${at.url}/introspect`, {
    method: 'POST',
    headers: { authorization: auth, 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({ token: t }),
  });
  return ((await res.json()) as { active: boolean }).active;
}

describe('npx baton rotate-key with a broker running', () => {
  it('adds a key both brokers publish within a second and sign with once it is old enough, while old tokens stay good', async () => {
    const [oldKid] = await kids();
    const old = await token();
    expect(decodeProtectedHeader(old).kid).toBe(oldKid);

    const { code, stdout, stderr } = await rotateKey();
    expect(code, stderr).toBe(0);
    const rotatedAt = Math.floor(Date.now() / 1000);
    const newKid = /^kid: (\S+)$/m.exec(stdout)?.[1];
    expect(newKid).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(newKid).not.toBe(oldKid);
    // When the old key leaves: its successor's time + use_after + max TTL + clock skew.
    const signsFrom = Date.parse(/^signs from: (\S+)/m.exec(stdout)![1]!) / 1000;
    const leaves = Date.parse(/leaves the JWKS at: (\S+)/m.exec(stdout)![1]!) / 1000;
    expect(stdout).toContain(`old key ${oldKid} leaves the JWKS at:`);
    expect(leaves - signsFrom).toBe(MAX_TTL + CLOCK_SKEW_SECONDS);
    expect(Math.abs(signsFrom - USE_AFTER - rotatedAt)).toBeLessThanOrEqual(2);

    await expect.poll(() => kids(), { timeout: 5_000, interval: 100 }).toEqual([newKid, oldKid]);
    await expect
      .poll(() => kids(other), { timeout: 5_000, interval: 100 })
      .toEqual([newKid, oldKid]);
    // Published, not yet used: the key is younger than use_after_seconds.
    expect(Date.now() / 1000).toBeLessThan(signsFrom);
    expect(decodeProtectedHeader(await token()).kid).toBe(oldKid);

    await expect
      .poll(async () => decodeProtectedHeader(await token()).kid, {
        timeout: (USE_AFTER + 5) * 1000,
        interval: 250,
      })
      .toBe(newKid);
    expect(Date.now() / 1000).toBeGreaterThanOrEqual(signsFrom - 1);
    const fresh = await token();
    const keySet = createLocalJWKSet(await jwks());
    await expect(jwtVerify(fresh, keySet)).resolves.toBeTruthy();
    await expect(jwtVerify(old, keySet)).resolves.toBeTruthy();
    expect(await active(old)).toBe(true);
    expect(await active(fresh)).toBe(true);
    // The other broker signs with the new key too, and honours both brokers' tokens.
    await expect
      .poll(async () => decodeProtectedHeader(await token(other)).kid, {
        timeout: 5_000,
        interval: 250,
      })
      .toBe(newKid);
    expect(await active(old, other)).toBe(true);
    expect(await active(fresh, other)).toBe(true);
    expect(broker.output()).toContain('signing keys published');
  }, 30_000);
});
