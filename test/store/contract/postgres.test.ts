/**
 * The Store contract on PostgreSQL (SPEC §9), on the server the vitest globalSetup started
 * (or `BATON_TEST_DATABASE_URL`'s), and what only several brokers on one database can
 * show: two stores with two pools on one database act as one.
 */
import { randomUUID } from 'node:crypto';
import { afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { openPgStore, type PgStore } from '../../../broker/store/pg-store.js';
import { ParentRevokedError } from '../../../broker/store/store.js';
import { freshPgDatabase } from '../../support/postgres.js';
import { approval, defineStoreContract, token } from './store-contract.js';

const NOW = 1_800_000_000;
let url: string;
beforeAll(async () => {
  url = await freshPgDatabase();
});

async function emptyStore(): Promise<PgStore> {
  const store = await openPgStore(url, { maxConnections: 4 });
  // Each test starts on empty tables: the contract counts rows.
  const { rows } = await store.pool.query<{ tablename: string }>(
    "SELECT tablename FROM pg_tables WHERE schemaname = 'public'",
  );
  await store.pool.query(
    `TRUNCATE ${rows.map((r) => `"${r.tablename}"`).join(', ')} RESTART IDENTITY`,
  );
  return store;
}

defineStoreContract('PostgreSQL', async () => {
  const store = await emptyStore();
  return { store, close: () => store.close() };
});

describe('Two brokers on one PostgreSQL', () => {
  let a: PgStore;
  let b: PgStore;
  beforeEach(async () => {
    a = await emptyStore();
    b = await openPgStore(url, { maxConnections: 4 });
  });
  afterEach(async () => {
    await Promise.all([a.close(), b.close()]);
  });

  it('apply the migrations once when they start together', async () => {
    const more = await Promise.all([openPgStore(url), openPgStore(url), openPgStore(url)]);
    await Promise.all(more.map((s) => s.close()));
    const { rows } = await a.pool.query<{ n: number }>(
      'SELECT count(*) AS n FROM drizzle.__drizzle_migrations',
    );
    expect(rows[0]!.n).toBeGreaterThanOrEqual(2);
    expect(rows[0]!.n).toBe(
      (await a.pool.query('SELECT DISTINCT hash FROM drizzle.__drizzle_migrations')).rowCount,
    );
  });

  it('see a revocation made through the other at once', async () => {
    await a.recordIssued(token('r', null));
    await a.recordIssued(token('c', 'r'));
    expect(await b.revokedAt('c')).toBeNull();
    expect(await a.revokeCascade('r', NOW + 5)).toBe(2);
    expect(await b.revokedAt('c')).toBe(NOW + 5);
    expect(await b.ledgerState('r')).toEqual({ revokedAt: NOW + 5, hop: 0 });
    await expect(b.recordIssued(token('late', 'c'))).rejects.toBeInstanceOf(ParentRevokedError);
  });

  it('issue one token for an approval both poll at once', async () => {
    for (let round = 0; round < 10; round++) {
      const x = approval();
      await a.createApproval(x);
      await b.decideApproval(x.authReqId, 'approved', x.scope, 'alice', NOW);
      const ciba = (jti: string) =>
        token(jti, null, { grantType: 'urn:openid:params:grant-type:ciba' });
      const results = await Promise.all([
        a.issueForApproval(x.authReqId, ciba(`${x.authReqId}-a`)),
        b.issueForApproval(x.authReqId, ciba(`${x.authReqId}-b`)),
        a.issueForApproval(x.authReqId, ciba(`${x.authReqId}-a2`)),
        b.issueForApproval(x.authReqId, ciba(`${x.authReqId}-b2`)),
      ]);
      expect(results.filter(Boolean)).toHaveLength(1);
      const issued = await b.getApproval(x.authReqId);
      expect(issued?.status).toBe('issued');
      expect(await a.getToken(issued!.issuedJti!)).toBeDefined();
      const { rows } = await a.pool.query('SELECT jti FROM tokens WHERE jti LIKE $1', [
        `${x.authReqId}-%`,
      ]);
      expect(rows).toHaveLength(1);
    }
  });

  it('let one decision win when two people decide through two brokers', async () => {
    const x = approval();
    await a.createApproval(x);
    const [ok1, ok2] = await Promise.all([
      a.decideApproval(x.authReqId, 'approved', x.scope, 'alice', NOW),
      b.decideApproval(x.authReqId, 'denied', null, 'alice', NOW),
    ]);
    expect([ok1, ok2].filter(Boolean)).toHaveLength(1);
  });

  it('accept an assertion jti once across both', async () => {
    for (let round = 0; round < 10; round++) {
      const jti = randomUUID();
      const results = await Promise.all([
        a.useAssertionJti('planner', jti, NOW + 60, NOW),
        b.useAssertionJti('planner', jti, NOW + 60, NOW),
        a.useAssertionJti('planner', jti, NOW + 60, NOW),
        b.useAssertionJti('planner', jti, NOW + 60, NOW),
      ]);
      expect(results.filter(Boolean)).toHaveLength(1);
    }
  });

  it('hold the pending-approval caps when both file requests at once', async () => {
    const caps = { perClient: 10, perClientUser: 4 };
    const results = await Promise.all(
      Array.from({ length: 30 }, (_, i) =>
        (i % 2 ? a : b).createApproval(approval({ username: i < 12 ? 'alice' : `u${i}` }), caps),
      ),
    );
    expect(results.filter(Boolean).length).toBe(10);
    expect((await a.listPendingApprovals(NOW, 'alice')).length).toBe(4);
    expect((await b.stats(NOW)).pendingApprovals).toBe(10);
  });

  it('never leave a live child under a parent one revokes while the other records children', async () => {
    for (let round = 0; round < 20; round++) {
      const p = `p${round}`;
      await a.recordIssued(token(p, null));
      await a.recordIssued(token(`${p}-c0`, p));
      // Children of the parent and grandchildren under a standing child, through broker b,
      // while broker a revokes the parent.
      // Spread over several event-loop turns, so they land in several batches.
      const kids = Array.from({ length: 6 }, async (_, i) => {
        for (let t = 0; t < i; t++) await new Promise((r) => setImmediate(r));
        return b.recordIssued(token(`${p}-k${i}`, i % 2 ? p : `${p}-c0`));
      });
      await new Promise((r) => setTimeout(r, round % 4));
      const revoked = a.revokeCascade(p, NOW + round);
      const settled = await Promise.allSettled(kids);
      await revoked;
      for (const s of settled)
        if (s.status === 'rejected') expect(s.reason).toBeInstanceOf(ParentRevokedError);
      const tree = await b.descendants(p, { limit: 100 });
      expect(tree.length).toBe(1 + settled.filter((s) => s.status === 'fulfilled').length);
      for (const t of tree) expect(t.revokedAt).toBe(NOW + round);
    }
  });

  it('revoke a child whose batch held the parent while the revocation waited', async () => {
    await a.recordIssued(token('p', null));
    // Broker b in the middle of a batch, played by hand: the parent locked, a child written,
    // not yet committed.
    const x = await b.pool.connect();
    try {
      await x.query('BEGIN');
      await x.query("SELECT revoked_at FROM tokens WHERE jti = 'p' FOR SHARE");
      await x.query(
        `INSERT INTO tokens (jti, parent_jti, sub, client_id, grant_type, scope, aud, iat, exp, root_jti, hop)
         VALUES ('late-child', 'p', 'alice', 'planner', 'te', 's', '[]', $1, $2, 'p', 1)`,
        [NOW, NOW + 300],
      );
      const revoking = a.revokeCascade('p', NOW + 9);
      await new Promise((r) => setTimeout(r, 200));
      await x.query('COMMIT');
      expect(await revoking).toBe(2);
    } finally {
      x.release();
    }
    expect(await b.revokedAt('late-child')).toBe(NOW + 9);
  });

  it('redeem an MCP code once across both; the replay revokes what it issued', async () => {
    const code = {
      codeHash: randomUUID(),
      clientId: 'mcp-client',
      redirectUri: 'http://127.0.0.1:9/cb',
      codeChallenge: 'x'.repeat(43),
      resource: 'http://baton.test/mcp',
      scope: 'trips:read',
      username: 'alice',
      createdAt: NOW,
      expiresAt: NOW + 60,
    };
    await a.createAuthCode(code);
    const claims = await Promise.all([
      a.claimAuthCode(code.codeHash, NOW),
      b.claimAuthCode(code.codeHash, NOW),
    ]);
    expect(claims.map((c) => c.kind).sort()).toEqual(['claimed', 'replayed']);

    const code2 = { ...code, codeHash: randomUUID() };
    await b.createAuthCode(code2);
    expect((await a.claimAuthCode(code2.codeHash, NOW)).kind).toBe('claimed');
    const family = {
      familyId: randomUUID(),
      clientId: code.clientId,
      username: 'alice',
      resource: code.resource,
      scope: code.scope,
      createdAt: NOW,
      consentExpiresAt: NOW + 3600,
    };
    await a.recordIssued(token('mcp-at', null));
    expect(await a.startRefreshFamily(code2.codeHash, family, 'rt1', 'mcp-at')).toBe(true);
    // Two brokers rotate the same refresh token: one rotates, the other's is a replay.
    await a.recordIssued(token('mcp-at2', null));
    await a.recordIssued(token('mcp-at3', null));
    const rotations = await Promise.all([
      a.rotateRefreshToken('rt1', code.clientId, 'rt2', 'mcp-at2', NOW + 1),
      b.rotateRefreshToken('rt1', code.clientId, 'rt3', 'mcp-at3', NOW + 1),
    ]);
    expect(rotations.map((r) => r.kind).sort()).toEqual(['replayed', 'rotated']);
    expect(await b.revokedAt('mcp-at')).toBe(NOW + 1);
    expect((await b.claimAuthCode(code2.codeHash, NOW + 2)).kind).toBe('replayed');
  });
});
