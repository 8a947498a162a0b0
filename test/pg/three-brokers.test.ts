/**
 * SPEC §9 end to end: three real broker processes (`npm start`) on one PostgreSQL, as
 * behind one address (one issuer, one policy). A chain whose hops go through different
 * brokers; a revocation through one refused by the other two at once; a key rotated
 * through the CLI published and used by all three; and `kill -9` of one broker under
 * load, after which every token any client received is in the ledger with its parent.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { decodeJwt, decodeProtectedHeader } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openPgStore } from '../../broker/store/pg-store.js';
import { runBatonCli, startBrokerProcess, type BrokerProcess } from '../e2e/broker-process.js';
import {
  API,
  AT,
  ISSUER,
  TE,
  basic,
  makeIdp,
  testPolicy,
  toBody,
  type TestIdp,
} from '../helpers.js';
import { freshPgDatabase } from '../support/postgres.js';

const USE_AFTER = 3;

let dir: string;
let url: string;
let env: Record<string, string>;
let idp: TestIdp;
let brokers: BrokerProcess[];

beforeAll(async () => {
  dir = mkdtempSync(path.join(tmpdir(), 'baton-three-'));
  url = await freshPgDatabase();
  idp = await makeIdp(() => Math.floor(Date.now() / 1000));
  const policy = path.join(dir, 'policy.json');
  writeFileSync(
    policy,
    JSON.stringify({
      ...testPolicy(idp.jwk),
      keys: { use_after_seconds: USE_AFTER, refresh_seconds: 1 },
    }),
  );
  env = {
    BATON_DATABASE_URL: url,
    BATON_DATABASE_POOL: '4',
    BATON_POLICY: policy,
    BATON_ISSUER: ISSUER,
    BATON_DB: path.join(dir, 'unused.db'),
    BATON_LOG_LEVEL: 'warn',
  };
  // One after another, as brokers join a running deployment; all three at once also
  // works (migrations run under an advisory lock), but the first makes the signing key.
  brokers = [];
  for (let i = 0; i < 3; i++) brokers.push(await startBrokerProcess(env));
}, 120_000);

afterAll(async () => {
  await Promise.all((brokers ?? []).map((b) => b.stop()));
  rmSync(dir, { recursive: true, force: true });
});

function post(b: BrokerProcess, p: string, client: string, form: Record<string, string>) {
  return fetch(`${b.url}${p}`, {
    method: 'POST',
    headers: {
      'content-type': 'application/x-www-form-urlencoded',
      authorization: basic(client),
    },
    body: toBody(form),
  });
}

async function exchange(b: BrokerProcess, client: string, form: Record<string, string>) {
  const res = await post(b, '/token', client, { grant_type: TE, subject_token_type: AT, ...form });
  return { status: res.status, body: (await res.json()) as Record<string, unknown> };
}

async function active(b: BrokerProcess, token: string): Promise<boolean> {
  const res = await post(b, '/introspect', 'api', { token });
  return ((await res.json()) as { active: boolean }).active;
}

describe('three brokers on one PostgreSQL', () => {
  it('carry one chain across all three; a revocation through one is refused by the others at once', async () => {
    const [a, b, c] = brokers as [BrokerProcess, BrokerProcess, BrokerProcess];
    const person = await idp.sign({ sub: 'alice', aud: ISSUER });
    const h1 = await exchange(a, 'planner', {
      subject_token: person,
      audience: 'agent:booker',
      scope: 'flights:book trips:read',
    });
    expect(h1.status).toBe(200);
    const h2 = await exchange(b, 'booker', {
      subject_token: String(h1.body.access_token),
      audience: 'agent:narrow',
    });
    expect(h2.status).toBe(200);
    const h3 = await exchange(c, 'narrow', {
      subject_token: String(h2.body.access_token),
      audience: API,
    });
    expect(h3.status).toBe(200);
    const claims = decodeJwt(String(h3.body.access_token));
    expect(claims.sub).toBe('alice');
    // Outermost act is the current actor; each hop through a different broker nested one.
    expect(claims.act).toEqual({ sub: 'narrow', act: { sub: 'booker', act: { sub: 'planner' } } });
    for (const x of brokers) expect(await active(x, String(h3.body.access_token))).toBe(true);

    const revoked = await post(b, '/revoke', 'planner', {
      token: String(h1.body.access_token),
    });
    expect(revoked.status).toBe(200);
    // No broker may honour any token of the chain on its very next request.
    for (const x of [a, c, b]) {
      expect(await active(x, String(h2.body.access_token))).toBe(false);
      expect(await active(x, String(h3.body.access_token))).toBe(false);
      const again = await exchange(x, 'narrow', {
        subject_token: String(h2.body.access_token),
        audience: API,
      });
      expect(again.status).toBe(400);
      expect(again.body.error).toBe('invalid_request');
    }
  }, 60_000);

  it('publish a key rotated through the CLI within seconds, and all three sign with it', async () => {
    const kids = async (b: BrokerProcess) =>
      ((await (await fetch(`${b.url}/jwks`)).json()) as { keys: Array<{ kid: string }> }).keys.map(
        (k) => k.kid,
      );
    const [oldKid] = await kids(brokers[0]!);
    for (const b of brokers) expect(await kids(b)).toEqual([oldKid]);

    const rotated = await runBatonCli(['rotate-key'], env);
    expect(rotated.code, rotated.stderr).toBe(0);
    const newKid = /^kid: (\S+)$/m.exec(rotated.stdout)?.[1];
    expect(newKid).toBeDefined();
    expect(newKid).not.toBe(oldKid);

    for (const b of brokers)
      await expect.poll(() => kids(b), { timeout: 5_000, interval: 100 }).toEqual([newKid, oldKid]);
    const signingKid = async (b: BrokerProcess) => {
      const res = await post(b, '/token', 'planner', {
        grant_type: 'client_credentials',
        scope: 'trips:read',
        audience: API,
      });
      const body = (await res.json()) as { access_token: string };
      expect(res.status, JSON.stringify(body)).toBe(200);
      return decodeProtectedHeader(body.access_token).kid;
    };
    for (const b of brokers)
      await expect
        .poll(() => signingKid(b), { timeout: (USE_AFTER + 5) * 1000, interval: 250 })
        .toBe(newKid);
  }, 60_000);

  it('lose no token a client received when one broker is killed -9 under load', async () => {
    const [a, b, c] = brokers as [BrokerProcess, BrokerProcess, BrokerProcess];
    const person = await idp.sign({ sub: 'alice', aud: ISSUER });
    const handoff = await exchange(a, 'planner', {
      subject_token: person,
      audience: 'agent:booker',
      scope: 'flights:book',
    });
    expect(handoff.status).toBe(200);
    const subject = String(handoff.body.access_token);
    const parentJti = decodeJwt(subject).jti!;

    // Twelve workers, four on each broker, exchange the hand-off as fast as they can.
    const received = new Map<BrokerProcess, string[]>(brokers.map((x) => [x, []]));
    let stopping = false;
    const worker = async (x: BrokerProcess) => {
      while (!stopping) {
        try {
          const res = await post(x, '/token', 'booker', {
            grant_type: TE,
            subject_token_type: AT,
            subject_token: subject,
            audience: API,
          });
          if (res.status === 200)
            received.get(x)!.push(((await res.json()) as { access_token: string }).access_token);
          else await res.body?.cancel();
        } catch {
          if (x.child.exitCode !== null || x.child.signalCode !== null) return; // killed
        }
      }
    };
    const workers = brokers.flatMap((x) => Array.from({ length: 4 }, () => worker(x)));
    const count = (x: BrokerProcess) => received.get(x)!.length;
    while (count(b) < 100) await new Promise((r) => setTimeout(r, 5));
    await b.stop('SIGKILL');
    // The other two go on serving while their peer is gone.
    const [beforeA, beforeC] = [count(a), count(c)];
    while (count(a) < beforeA + 50 || count(c) < beforeC + 50)
      await new Promise((r) => setTimeout(r, 5));
    stopping = true;
    await Promise.all(workers);

    const store = await openPgStore(url, { maxConnections: 2 });
    try {
      const missing: string[] = [];
      let checked = 0;
      for (const tokens of received.values())
        for (const token of tokens) {
          const jti = decodeJwt(token).jti!;
          const row = await store.getToken(jti);
          if (row?.parentJti !== parentJti) missing.push(jti);
          checked++;
        }
      expect(checked).toBeGreaterThanOrEqual(200);
      expect(missing).toEqual([]);
    } finally {
      await store.close();
    }
    // The killed broker comes back on the same database and serves the same chain.
    brokers[1] = await startBrokerProcess(env);
    const after = await exchange(brokers[1], 'booker', { subject_token: subject, audience: API });
    expect(after.status).toBe(200);
  }, 90_000);
});
