/**
 * SPEC §5: "Nothing a client received is ever missing from the ledger, crash or not."
 * Load a real broker, kill -9 it while exchanges are in flight, and check that every
 * token any client got a 200 for is in the ledger with its parent link, that the
 * database is intact, and that a restart on it serves the same keys.
 */
import { createHash } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { decodeJwt } from 'jose';
import { afterAll, describe, expect, it } from 'vitest';
import { openSqliteStore } from '../../broker/store/sqlite-store.js';
import { API, AT, makeIdp, SECRETS, TE, basic, toBody } from '../helpers.js';
import { freePort, startBrokerProcess } from './broker-process.js';

const sha = (s: string) => createHash('sha256').update(s).digest('hex');
const dir = mkdtempSync(path.join(tmpdir(), 'baton-crash-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('a broker killed mid-load', () => {
  it('loses no token a client received, keeps parent links, and restarts intact', async () => {
    const port = await freePort();
    const issuer = `http://127.0.0.1:${port}`;
    const idp = await makeIdp(() => Math.floor(Date.now() / 1000));
    const policyFile = path.join(dir, 'policy.json');
    writeFileSync(
      policyFile,
      JSON.stringify({
        // No 429s: the broker must die with as many exchanges in flight as the workers can push.
        rate_limits: { requests_per_second: 1_000_000, burst: 1_000_000 },
        trusted_issuers: [
          { issuer: 'https://idp.test', jwks: { keys: [idp.jwk] }, audience: issuer },
        ],
        clients: [
          {
            client_id: 'planner',
            client_secret_sha256: sha(SECRETS.planner!),
            grant_types: [TE],
            scopes: ['flights:book'],
            audiences: ['agent:booker'],
          },
          {
            client_id: 'booker',
            client_secret_sha256: sha(SECRETS.booker!),
            grant_types: [TE],
            scopes: ['flights:book'],
            audiences: [API],
          },
        ],
      }),
    );
    const env = { BATON_DB: path.join(dir, 'baton.db'), BATON_POLICY: policyFile };
    let broker = await startBrokerProcess(env, port);
    const jwksBefore = await (await fetch(`${issuer}/jwks`)).text();

    const post = (client: string, form: Record<string, string>) =>
      fetch(`${issuer}/token`, {
        method: 'POST',
        headers: {
          'content-type': 'application/x-www-form-urlencoded',
          authorization: basic(client),
        },
        body: toBody({ grant_type: TE, subject_token_type: AT, ...form }),
      });
    const person = await idp.sign({ sub: 'alice', aud: issuer, scope: 'flights:book' });
    const handoffRes = await post('planner', { subject_token: person, audience: 'agent:booker' });
    const handoff = ((await handoffRes.json()) as { access_token: string }).access_token;
    const parentJti = decodeJwt(handoff).jti!;

    // 16 workers exchange the hand-off as fast as they can; the broker dies under them.
    const received: string[] = [];
    let killed = false;
    const worker = async () => {
      while (!killed) {
        try {
          const res = await post('booker', { subject_token: handoff, audience: API });
          if (res.status === 200)
            received.push(((await res.json()) as { access_token: string }).access_token);
          else await res.body?.cancel();
        } catch {
          return; // connection refused or reset: the broker is gone
        }
      }
    };
    const workers = Array.from({ length: 16 }, worker);
    while (received.length < 300) await new Promise((r) => setImmediate(r));
    killed = true;
    await broker.stop('SIGKILL');
    await Promise.all(workers);

    const store = openSqliteStore(env.BATON_DB);
    try {
      expect(store.sqlite.pragma('integrity_check', { simple: true })).toBe('ok');
      const missing: string[] = [];
      for (const token of received) {
        const jti = decodeJwt(token).jti!;
        const row = await store.getToken(jti);
        if (row?.parentJti !== parentJti) missing.push(jti);
      }
      expect(missing).toEqual([]);
    } finally {
      await store.close();
    }

    broker = await startBrokerProcess(env, port);
    try {
      expect(await (await fetch(`${issuer}/jwks`)).text()).toBe(jwksBefore);
      const after = await post('booker', { subject_token: handoff, audience: API });
      expect(after.status).toBe(200);
    } finally {
      await broker.stop();
    }
  }, 60_000);
});
