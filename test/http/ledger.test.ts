/**
 * The ledger (SPEC §5): every issued token is durable, with its parent and act chain,
 * before the client sees it; a revocation racing an exchange never leaves a live child
 * of a revoked parent; keys, tokens and revocations survive a restart.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import Database from 'better-sqlite3';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import {
  ADMIN_TOKEN,
  API,
  AT,
  ISSUER,
  TE,
  claimsOf,
  makeBroker,
  type TestBroker,
} from '../helpers.js';
import type { RawTokenRow } from '../../broker/store/rows.js';

/** A ledger row as raw SQL returns it (this test reads the file on its own connection). */
type LedgerRow = RawTokenRow;

describe('the ledger', () => {
  let b: TestBroker;
  /** A second, independent connection: it only sees rows that have committed. */
  let reader: Database.Database;
  beforeEach(async () => {
    b = await makeBroker();
    reader = new Database(path.join(b.dir, 'baton.db'), { readonly: true });
  });
  afterEach(async () => {
    reader.close();
    await b.close();
  });

  const committed = (jti: string) =>
    reader.prepare('SELECT * FROM tokens WHERE jti = ?').get(jti) as LedgerRow | undefined;

  const handOff = async () => {
    const res = await b.exchange('planner', {
      subject_token: await b.idp.sign({ sub: 'alice' }),
      audience: 'agent:booker',
    });
    expect(res.status).toBe(200);
    return res.body.access_token as string;
  };

  it('has every issued token committed, with parent_jti and the act chain, when the response arrives', async () => {
    const cc = await b.post(
      '/token',
      { grant_type: 'client_credentials', scope: 'trips:read' },
      'planner',
    );
    const ccToken = ((await cc.json()) as { access_token: string }).access_token;
    const ccClaims = claimsOf(ccToken);
    expect(committed(ccClaims.jti!)).toEqual({
      jti: ccClaims.jti,
      parent_jti: null,
      sub: 'planner',
      act: null,
      client_id: 'planner',
      grant_type: 'client_credentials',
      scope: 'trips:read',
      aud: JSON.stringify([ISSUER]),
      iat: b.clock.now,
      exp: b.clock.now + 300,
      revoked_at: null,
      revoked_via: null,
      root_jti: ccClaims.jti,
      hop: 0,
    });

    const handoff = await handOff();
    const h = claimsOf(handoff);
    expect(committed(h.jti!)).toMatchObject({
      parent_jti: null,
      sub: 'alice',
      act: JSON.stringify({ sub: 'planner' }),
      grant_type: TE,
    });

    const narrowHandoff = (
      await b.exchange('booker', {
        subject_token: handoff,
        audience: 'agent:narrow',
        scope: 'flights:book',
      })
    ).body.access_token as string;
    const n = claimsOf(narrowHandoff);
    expect(committed(n.jti!)).toMatchObject({
      parent_jti: h.jti,
      sub: 'alice',
      client_id: 'booker',
      scope: 'flights:book',
      aud: JSON.stringify(['agent:narrow']),
      exp: n.exp,
    });
    expect(JSON.parse(committed(n.jti!)!.act!)).toEqual({ sub: 'booker', act: { sub: 'planner' } });

    const apiToken = (await b.exchange('narrow', { subject_token: narrowHandoff, audience: API }))
      .body.access_token as string;
    const a = claimsOf(apiToken);
    expect(JSON.parse(committed(a.jti!)!.act!)).toEqual(a.act);
    expect(committed(a.jti!)!.parent_jti).toBe(n.jti);
    // Each row knows its chain's root and its distance from it.
    expect([h, n, a].map((t) => committed(t.jti!)).map((r) => [r!.root_jti, r!.hop])).toEqual([
      [h.jti, 0],
      [h.jti, 1],
      [h.jti, 2],
    ]);

    // The audit API shows the same chain, root first, and the tree below the root.
    const audit = await b.app.request(`/audit/tokens/${a.jti}`, {
      headers: { authorization: `Bearer ${ADMIN_TOKEN}` },
    });
    const report = (await audit.json()) as {
      chain: Array<{ jti: string; parent_jti: string | null; act: unknown }>;
    };
    expect(report.chain.map((t) => [t.jti, t.parent_jti])).toEqual([
      [h.jti, null],
      [n.jti, h.jti],
      [a.jti, n.jti],
    ]);
    expect(report.chain[2]!.act).toEqual({
      sub: 'narrow',
      act: { sub: 'booker', act: { sub: 'planner' } },
    });
  });

  it('has each of many concurrent exchanges committed by the time its own response arrives', async () => {
    const handoff = await handOff();
    const seen: Array<LedgerRow | undefined> = [];
    await Promise.all(
      Array.from({ length: 20 }, async () => {
        const res = await b.exchange('booker', { subject_token: handoff, audience: API });
        expect(res.status).toBe(200);
        // Read synchronously, before anything else runs: no later flush can help.
        seen.push(committed(claimsOf(res.body.access_token).jti!));
      }),
    );
    expect(seen).toHaveLength(20);
    for (const row of seen)
      expect(row).toMatchObject({
        parent_jti: claimsOf(handoff).jti,
        client_id: 'booker',
        revoked_at: null,
      });
  });

  it('never leaves a live child of a parent revoked while the exchange was running', async () => {
    // Start the revocation after 0, 1, 2, ... event-loop turns, so it lands at different
    // stages of the exchange: before the subject is checked, between the check and the
    // commit, and after the commit. Which stage each lands in is up to the scheduler; every
    // outcome must be one of the two allowed ones.
    for (let turns = 0; turns < 12; turns++) {
      const parent = await handOff();
      const parentJti = claimsOf(parent).jti!;
      const exchange = b.exchange('booker', { subject_token: parent, audience: API });
      for (let i = 0; i < turns; i++) await new Promise<void>((resolve) => setImmediate(resolve));
      const revoke = await b.post('/revoke', { token: parent }, 'planner');
      expect(revoke.status).toBe(200);
      const res = await exchange;
      if (res.status === 200) {
        const child = await b.store.getToken(claimsOf(res.body.access_token).jti!);
        expect(child).toMatchObject({ parentJti, revokedVia: parentJti });
        expect(child!.revokedAt).not.toBeNull();
        const introspect = await b.post(
          '/introspect',
          { token: res.body.access_token as string },
          'api',
        );
        expect(await introspect.json()).toEqual({ active: false });
      } else {
        expect(res).toEqual({
          status: 400,
          body: {
            error: 'invalid_request',
            error_description: 'the subject token has been revoked',
          },
        });
        expect(await b.store.refusalsAgainst([parentJti])).toMatchObject([
          {
            clientId: 'booker',
            subjectJti: parentJti,
            error: 'invalid_request',
            errorDescription: 'the subject token has been revoked',
          },
        ]);
      }
      const below = await b.store.descendants(parentJti, { limit: 1000 });
      expect(below.filter((t) => t.revokedAt === null)).toEqual([]);
    }
  });
});

describe('a restart', () => {
  it('keeps the signing key, the tokens and the revocations', async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'baton-restart-'));
    try {
      const first = await makeBroker({ dir });
      const jwks = await (await first.app.request('/jwks')).json();
      const exchange = async (client: string, form: Record<string, string>) => {
        const res = await first.exchange(client, form);
        expect(res.status).toBe(200);
        return res.body.access_token as string;
      };
      const live = await exchange('planner', {
        subject_token: await first.idp.sign({ sub: 'alice' }),
        audience: 'agent:booker',
      });
      const revoked = await exchange('planner', {
        subject_token: await first.idp.sign({ sub: 'bob' }),
        audience: 'agent:booker',
      });
      const revokedChild = await exchange('booker', { subject_token: revoked, audience: API });
      expect((await first.post('/revoke', { token: revoked }, 'planner')).status).toBe(200);
      await first.close();

      const second = await makeBroker({ dir });
      try {
        expect(await (await second.app.request('/jwks')).json()).toEqual(jwks);
        expect(second.deps.keyRing.kid).toBe(first.deps.keyRing.kid);
        const introspect = async (token: string) =>
          (await second.post('/introspect', { token }, 'api')).json();
        expect(await introspect(live)).toEqual({
          active: true,
          iss: ISSUER,
          sub: 'alice',
          aud: 'agent:booker',
          exp: claimsOf(live).exp,
          iat: claimsOf(live).iat,
          jti: claimsOf(live).jti,
          client_id: 'planner',
          scope: 'trips:read trips:book flights:book',
          token_type: 'Bearer',
          act: { sub: 'planner' },
        });
        expect(await introspect(revoked)).toEqual({ active: false });
        expect(await introspect(revokedChild)).toEqual({ active: false });
        // The old hand-off is still exchangeable, and its child links to it.
        const next = await second.exchange('booker', {
          subject_token: live,
          subject_token_type: AT,
          audience: API,
        });
        expect(next.status).toBe(200);
        expect(await second.store.getToken(claimsOf(next.body.access_token).jti!)).toMatchObject({
          parentJti: claimsOf(live).jti,
        });
        expect(await second.exchange('booker', { subject_token: revoked, audience: API })).toEqual({
          status: 400,
          body: {
            error: 'invalid_request',
            error_description: 'the subject token has been revoked',
          },
        });
      } finally {
        await second.close();
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
