/**
 * The Store contract (SPEC §5, §6, §9): one set of tests, written against the `Store`
 * interface only, that every store must pass. `sqlite.test.ts` runs it on a temp-file
 * SQLite, `postgres.test.ts` on a real PostgreSQL (and adds the tests that need two
 * brokers on one database).
 */
import { randomUUID } from 'node:crypto';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { McpRegisteredClient } from '../../../broker/store/mcp-auth-store.js';
import {
  LedgerFieldTooLargeError,
  ParentRevokedError,
  type NewApproval,
  type RefusalRecord,
  type Store,
  type TokenRecord,
} from '../../../broker/store/store.js';

/** Opens a new, empty store; `close` closes it and drops what it made. */
export type StoreFactory = () => Promise<{ store: Store; close(): Promise<void> }>;

const TE = 'urn:ietf:params:oauth:grant-type:token-exchange';
const NOW = 1_800_000_000;

export function token(
  jti: string,
  parentJti: string | null,
  over: Partial<TokenRecord> = {},
): TokenRecord {
  return {
    jti,
    parentJti,
    sub: 'alice',
    act: parentJti === null ? null : { sub: 'planner', act: { sub: 'idp' } },
    clientId: 'planner',
    grantType: TE,
    scope: 'trips:read trips:book',
    aud: ['https://api.example.com', 'agent:booker'],
    iat: NOW,
    exp: NOW + 300,
    ...over,
  };
}

export function refusal(
  subjectJti: string | null,
  over: Partial<RefusalRecord> = {},
): RefusalRecord {
  return {
    at: NOW,
    clientId: 'booker',
    grantType: TE,
    subjectJti,
    error: 'invalid_scope',
    reason: 'scope_widened',
    errorDescription: 'scope not allowed',
    requested: { scope: 'trips:admin', audience: ['x'] },
    ...over,
  };
}

export function approval(over: Partial<NewApproval> = {}): NewApproval {
  return {
    authReqId: randomUUID(),
    clientId: 'planner',
    username: 'alice',
    scope: 'trips:book',
    aud: ['https://api.example.com'],
    bindingMessage: 'Book <b>Paris</b>',
    createdAt: NOW,
    expiresAt: NOW + 120,
    interval: 5,
    ...over,
  };
}

/** Records a chain root → … of `length` tokens, one hop each; their jtis, root first. */
export async function recordChain(store: Store, length: number, prefix: string = randomUUID()) {
  const jtis: string[] = [];
  for (let i = 0; i < length; i++) {
    const jti = `${prefix}-${i}`;
    await store.recordIssued(token(jti, jtis.at(-1) ?? null, { iat: NOW + i }));
    jtis.push(jti);
  }
  return jtis;
}

export function defineStoreContract(name: string, factory: StoreFactory): void {
  describe(`Store contract: ${name}`, () => {
    let store: Store;
    let close: () => Promise<void>;
    beforeEach(async () => {
      ({ store, close } = await factory());
    });
    afterEach(async () => {
      await close();
    });

    describe('ledger', () => {
      it('records a token and reads it back whole, with its chain root and hop', async () => {
        await store.recordIssued(token('root', null));
        await store.recordIssued(token('child', 'root', { iat: NOW + 1 }));
        expect(await store.getToken('child')).toEqual({
          ...token('child', 'root', { iat: NOW + 1 }),
          revokedAt: null,
          revokedVia: null,
          rootJti: 'root',
          hop: 1,
        });
        expect((await store.getToken('root'))?.hop).toBe(0);
        expect(await store.getToken('nobody')).toBeUndefined();
        expect(await store.ledgerState('child')).toEqual({ revokedAt: null, hop: 1 });
        expect(await store.ledgerState('nobody')).toBeUndefined();
        expect(await store.revokedAt('child')).toBeNull();
        expect(await store.revokedAt('nobody')).toBeUndefined();
      });

      it('commits each of many concurrent rows of one turn by the time its promise resolves', async () => {
        const jtis = Array.from({ length: 200 }, (_, i) => `c-${i}`);
        await Promise.all(jtis.map((jti) => store.recordIssued(token(jti, null))));
        for (const jti of jtis) expect((await store.getToken(jti))?.jti).toBe(jti);
        expect((await store.stats(NOW)).tokens).toBe(200);
      });

      it('fails only the bad row of a batch: an oversized field and a duplicate jti', async () => {
        await store.recordIssued(token('dup', null));
        const results = await Promise.allSettled([
          store.recordIssued(token('ok-1', null)),
          store.recordIssued(token('big', null, { scope: 'x'.repeat(5000) })),
          store.recordIssued(token('dup', null)),
          store.recordIssued(token('ok-2', null)),
        ]);
        expect(results.map((r) => r.status)).toEqual([
          'fulfilled',
          'rejected',
          'rejected',
          'fulfilled',
        ]);
        expect((results[1] as PromiseRejectedResult).reason).toBeInstanceOf(
          LedgerFieldTooLargeError,
        );
        expect(await store.getToken('big')).toBeUndefined();
        expect((await store.stats(NOW)).tokens).toBe(3);
      });

      it('starts a new chain for a parent the ledger lacks', async () => {
        await store.recordIssued(token('orphan', 'foreign-jti'));
        expect(await store.getToken('orphan')).toMatchObject({ rootJti: 'orphan', hop: 0 });
      });

      it('walks the chain root first, and only the nearest tokens plus the root when asked', async () => {
        const jtis = await recordChain(store, 6);
        expect((await store.chain(jtis[5]!)).map((t) => t.jti)).toEqual(jtis);
        expect((await store.chain(jtis[5]!, 2)).map((t) => t.jti)).toEqual([
          jtis[0],
          jtis[4],
          jtis[5],
        ]);
        expect((await store.chain(jtis[0]!)).map((t) => t.jti)).toEqual([jtis[0]]);
        expect(await store.chain('nobody')).toEqual([]);
      });

      it('pages descendants breadth-first by (depth, iat, jti), rows only', async () => {
        await store.recordIssued(token('r', null));
        for (const [jti, parent, iat] of [
          ['a', 'r', 3],
          ['b', 'r', 1],
          ['c', 'r', 2],
          ['a1', 'a', 4],
          ['b1', 'b', 5],
          ['a11', 'a1', 6],
        ] as const)
          await store.recordIssued(token(jti, parent, { iat: NOW + iat }));
        const all = await store.descendants('r', { limit: 100 });
        expect(all.map((d) => [d.jti, d.depth])).toEqual([
          ['b', 1],
          ['c', 1],
          ['a', 1],
          ['a1', 2],
          ['b1', 2],
          ['a11', 3],
        ]);
        const pages: string[] = [];
        let after;
        for (;;) {
          const page = await store.descendants('r', { limit: 4, after });
          if (page.length === 0) break;
          pages.push(...page.map((d) => d.jti));
          const last = page.at(-1)!;
          after = { hop: last.hop, iat: last.iat, jti: last.jti };
        }
        expect(pages).toEqual(all.map((d) => d.jti));
        expect((await store.descendants('a', { limit: 10 })).map((d) => [d.jti, d.depth])).toEqual([
          ['a1', 1],
          ['a11', 2],
        ]);
        expect(await store.descendants('nobody', { limit: 10 })).toEqual([]);
      });

      it('lists tokens newest first by person and client, with a cursor, and roots for a person', async () => {
        for (let i = 0; i < 5; i++)
          await store.recordIssued(
            token(`t${i}`, null, { iat: NOW + i, sub: i % 2 ? 'bob' : 'alice' }),
          );
        await store.recordIssued(token('t0-child', 't0', { iat: NOW + 10, clientId: 'booker' }));
        const alice = await store.listTokens({ sub: 'alice', limit: 10 });
        expect(alice.map((t) => t.jti)).toEqual(['t0-child', 't4', 't2', 't0']);
        const page2 = await store.listTokens({
          sub: 'alice',
          limit: 2,
          cursor: { iat: NOW + 4, jti: 't4' },
        });
        expect(page2.map((t) => t.jti)).toEqual(['t2', 't0']);
        expect(
          (await store.listTokens({ clientId: 'booker', limit: 10 })).map((t) => t.jti),
        ).toEqual(['t0-child']);
        expect((await store.listTokens({ since: NOW + 3, limit: 10 })).map((t) => t.jti)).toEqual([
          't0-child',
          't4',
          't3',
        ]);
        expect((await store.rootTokensFor('alice', 2)).map((t) => t.jti)).toEqual(['t4', 't2']);
      });
    });

    describe('revocation', () => {
      it('revokes a token and every token exchanged from it, however deep, once', async () => {
        const jtis = await recordChain(store, 5);
        await store.recordIssued(token('side', jtis[1]!));
        expect(await store.revokeCascade(jtis[1]!, NOW + 50)).toBe(5);
        expect(await store.revokedAt(jtis[0]!)).toBeNull();
        for (const jti of [...jtis.slice(1), 'side']) {
          expect(await store.revokedAt(jti)).toBe(NOW + 50);
          expect((await store.getToken(jti))?.revokedVia).toBe(jtis[1]);
        }
        expect(await store.revokeCascade(jtis[1]!, NOW + 60)).toBe(0);
        expect(await store.revokedAt(jtis[2]!)).toBe(NOW + 50);
        expect(await store.revokeCascade('nobody', NOW)).toBe(0);
      });

      it('refuses a child of a revoked parent with ParentRevokedError, recording nothing', async () => {
        await store.recordIssued(token('p', null));
        await store.revokeCascade('p', NOW + 1);
        await expect(store.recordIssued(token('kid', 'p'))).rejects.toBeInstanceOf(
          ParentRevokedError,
        );
        expect(await store.getToken('kid')).toBeUndefined();
      });

      it('never leaves a live child when a revocation races exchanges in the same turn', async () => {
        await store.recordIssued(token('p', null));
        const kids = Array.from({ length: 20 }, (_, i) => store.recordIssued(token(`k${i}`, 'p')));
        const revoked = store.revokeCascade('p', NOW + 1);
        const settled = await Promise.allSettled(kids);
        await revoked;
        for (let i = 0; i < 20; i++) {
          const state = await store.revokedAt(`k${i}`);
          if (settled[i]!.status === 'fulfilled') expect(state).toBe(NOW + 1);
          else expect(state).toBeUndefined();
        }
      });
    });

    describe('refusals', () => {
      it('records refusals, capped, and finds them against jtis and in a tree', async () => {
        const jtis = await recordChain(store, 3);
        await store.recordRefusal(refusal(jtis[0]!, { at: NOW + 1 }));
        await store.recordRefusal(
          refusal(jtis[2]!, { at: NOW + 2, errorDescription: 'd'.repeat(5000) }),
        );
        await store.recordRefusal(refusal(null, { at: NOW + 3 }));
        await store.recordRefusal(
          refusal(jtis[1]!, { at: NOW + 4, requested: { scope: 's'.repeat(4000) } }),
        );
        const against = await store.refusalsAgainst([jtis[0]!, jtis[2]!]);
        expect(against.map((r) => r.at)).toEqual([NOW + 1, NOW + 2]);
        expect(against[0]).toMatchObject({
          ...refusal(jtis[0]!, { at: NOW + 1 }),
          id: expect.any(Number),
        });
        expect(against[1]!.errorDescription.length).toBeLessThanOrEqual(1024);
        expect(against[1]!.errorDescription).toContain('more characters cut');
        const tree = await store.refusalsInTree(jtis[0]!, 2);
        expect(tree.total).toBe(3);
        expect(tree.refusals.map((r) => r.at)).toEqual([NOW + 2, NOW + 4]);
        expect(tree.refusals[1]!.requested).toEqual({
          truncated: true,
          original_length: expect.any(Number),
        });
        expect(await store.refusalsInTree(jtis[2]!, 10)).toMatchObject({ total: 1 });
        expect(await store.refusalsAgainst([])).toEqual([]);
        expect((await store.stats(NOW)).refusals).toBe(4);
      });
    });

    describe('approvals', () => {
      it('goes pending → approved → issued once, the claim and the token row in one step', async () => {
        const a = approval();
        expect(await store.createApproval(a)).toBe(true);
        expect(await store.getApproval(a.authReqId)).toEqual({
          ...a,
          nextPollAt: a.createdAt,
          status: 'pending',
          approvedScope: null,
          decidedAt: null,
          decidedBy: null,
          issuedJti: null,
        });
        await store.schedulePoll(a.authReqId, 10, NOW + 10);
        expect(await store.getApproval(a.authReqId)).toMatchObject({
          interval: 10,
          nextPollAt: NOW + 10,
        });
        const ciba = (jti: string, over: Partial<TokenRecord> = {}) =>
          token(jti, null, { grantType: 'urn:openid:params:grant-type:ciba', ...over });
        expect(await store.issueForApproval(a.authReqId, ciba('j0'))).toBe(false);
        expect(await store.getToken('j0')).toBeUndefined();
        expect(
          await store.decideApproval(a.authReqId, 'approved', 'trips:book', 'alice', NOW + 1),
        ).toBe(true);
        expect(await store.decideApproval(a.authReqId, 'denied', null, 'alice', NOW + 2)).toBe(
          false,
        );
        // A row that cannot be recorded leaves the request approved and nothing written.
        await expect(
          store.issueForApproval(a.authReqId, ciba('too-big', { scope: 'x'.repeat(5000) })),
        ).rejects.toBeInstanceOf(LedgerFieldTooLargeError);
        expect(await store.getApproval(a.authReqId)).toMatchObject({
          status: 'approved',
          issuedJti: null,
        });
        const polls = await Promise.all(
          ['j1', 'j2', 'j3'].map((jti) => store.issueForApproval(a.authReqId, ciba(jti))),
        );
        expect(polls.filter(Boolean)).toHaveLength(1);
        const winner = ['j1', 'j2', 'j3'][polls.indexOf(true)]!;
        expect(await store.getApproval(a.authReqId)).toMatchObject({
          status: 'issued',
          issuedJti: winner,
        });
        expect((await store.stats(NOW)).tokens).toBe(1);
        expect((await store.getToken(winner))?.grantType).toBe('urn:openid:params:grant-type:ciba');
        expect((await store.approvalForToken(winner))?.authReqId).toBe(a.authReqId);
        expect(await store.approvalForToken('j0')).toBeUndefined();
      });

      it('does not decide an expired request, and cancels only the asking client’s pending one', async () => {
        const a = approval();
        const b = approval();
        await store.createApproval(a);
        await store.createApproval(b);
        expect(await store.decideApproval(a.authReqId, 'approved', 'x', 'alice', a.expiresAt)).toBe(
          false,
        );
        expect(await store.cancelApproval(b.authReqId, 'someone-else', NOW)).toBe(false);
        expect(await store.cancelApproval(b.authReqId, 'planner', NOW + 1)).toBe(true);
        expect(await store.getApproval(b.authReqId)).toMatchObject({
          status: 'cancelled',
          decidedAt: NOW + 1,
        });
        expect(await store.decideApproval(b.authReqId, 'approved', 'x', 'alice', NOW + 2)).toBe(
          false,
        );
        expect(await store.cancelApproval(b.authReqId, 'planner', NOW + 3)).toBe(false);
        const denied = approval();
        await store.createApproval(denied);
        expect(
          await store.decideApproval(denied.authReqId, 'denied', 'ignored', 'alice', NOW + 1),
        ).toBe(true);
        expect(await store.getApproval(denied.authReqId)).toMatchObject({
          status: 'denied',
          approvedScope: null,
          decidedBy: 'alice',
        });
      });

      it('lists pending, unexpired requests newest first, by name in any letter case', async () => {
        const old = approval({ createdAt: NOW - 10 });
        const fresh = approval({ username: 'Alice' });
        const bob = approval({ username: 'bob', createdAt: NOW + 1 });
        const expired = approval({ expiresAt: NOW - 1, createdAt: NOW - 200 });
        for (const a of [old, fresh, bob, expired]) await store.createApproval(a);
        expect((await store.listPendingApprovals(NOW)).map((a) => a.authReqId)).toEqual([
          bob.authReqId,
          fresh.authReqId,
          old.authReqId,
        ]);
        expect((await store.listPendingApprovals(NOW, 'ALICE')).map((a) => a.authReqId)).toEqual([
          fresh.authReqId,
          old.authReqId,
        ]);
        expect(await store.listPendingApprovals(NOW, undefined, 1)).toHaveLength(1);
        expect(
          (await store.listPendingApprovalsAnyCase(NOW, 'alice', 10)).map((a) => a.username),
        ).toEqual(['Alice', 'alice']);
        expect((await store.stats(NOW)).pendingApprovals).toBe(3);
      });

      it('caps pending requests per client and per client and person, even when they race', async () => {
        const caps = { perClient: 6, perClientUser: 3 };
        const alice = await Promise.all(
          Array.from({ length: 10 }, () => store.createApproval(approval(), caps)),
        );
        expect(alice.filter(Boolean)).toHaveLength(3);
        const others = await Promise.all(
          Array.from({ length: 10 }, (_, i) =>
            store.createApproval(approval({ username: `u${i}` }), caps),
          ),
        );
        expect(others.filter(Boolean)).toHaveLength(3);
        expect(await store.createApproval(approval({ clientId: 'other' }), caps)).toBe(true);
        // Expired or decided requests no longer count.
        const first = (await store.listPendingApprovals(NOW, 'alice')).find(
          (x) => x.clientId === 'planner',
        );
        await store.decideApproval(first!.authReqId, 'denied', null, 'alice', NOW);
        expect(await store.createApproval(approval(), caps)).toBe(true);
        expect(await store.createApproval(approval({ username: 'zed' }), caps)).toBe(false);
        expect(
          await store.createApproval(
            approval({ username: 'zed', createdAt: NOW + 500, expiresAt: NOW + 600 }),
            caps,
          ),
        ).toBe(true);
      });

      it('refuses an oversized binding message', async () => {
        await expect(
          store.createApproval(approval({ bindingMessage: 'm'.repeat(2000) })),
        ).rejects.toBeInstanceOf(LedgerFieldTooLargeError);
      });
    });

    describe('client assertion jtis', () => {
      it('accepts a jti once per client, also when the same one races', async () => {
        const results = await Promise.all(
          Array.from({ length: 5 }, () => store.useAssertionJti('planner', 'as-1', NOW + 60, NOW)),
        );
        expect(results.filter(Boolean)).toHaveLength(1);
        expect(await store.useAssertionJti('booker', 'as-1', NOW + 60, NOW)).toBe(true);
        expect(await store.useAssertionJti('planner', 'as-1', NOW + 60, NOW + 1)).toBe(false);
      });
    });

    describe('console sessions', () => {
      const session = (idHash: string, createdAt: number, ttl = 3600) => ({
        idHash,
        username: 'alice',
        role: 'user' as const,
        csrfSecret: `csrf-${idHash}`,
        createdAt,
        expiresAt: createdAt + ttl,
      });

      it('keeps a session until it expires or is deleted, and sweeps expired ones on create', async () => {
        await store.createConsoleSession(session('s1', NOW, 10));
        await store.createConsoleSession({
          ...session('op', NOW),
          role: 'operator',
          username: 'operator',
        });
        expect(await store.getConsoleSession('s1', NOW + 9)).toEqual(session('s1', NOW, 10));
        expect(await store.getConsoleSession('s1', NOW + 10)).toBeUndefined();
        expect((await store.getConsoleSession('op', NOW))?.role).toBe('operator');
        await store.deleteConsoleSession('op');
        expect(await store.getConsoleSession('op', NOW)).toBeUndefined();
        await store.createConsoleSession(session('s2', NOW + 20));
        // s1 expired before s2 was made, so it was swept: even a clock set back finds nothing.
        expect(await store.getConsoleSession('s1', NOW)).toBeUndefined();
        expect(await store.getConsoleSession('nobody', NOW)).toBeUndefined();
      });
    });

    describe('signing keys', () => {
      it('keeps keys, newest first', async () => {
        const key = (kid: string, createdAt: number) => ({
          kid,
          alg: 'ES256',
          privateJwk: `{"kid":"${kid}","d":"secret"}`,
          publicJwk: `{"kid":"${kid}"}`,
          createdAt,
          retiredAt: null,
        });
        await store.addSigningKey(key('k1', NOW));
        await store.addSigningKey({ ...key('k2', NOW + 10), retiredAt: null });
        expect(await store.signingKeys()).toEqual([key('k2', NOW + 10), key('k1', NOW)]);
      });
    });

    describe('retention', () => {
      it('prunes whole expired chains with their refusals and approval, in bounded batches', async () => {
        // A chain started by a CIBA approval: its root is issued on the approval.
        const a = approval();
        await store.createApproval(a);
        await store.decideApproval(a.authReqId, 'approved', 'trips:book', 'alice', NOW);
        expect(await store.issueForApproval(a.authReqId, token('dead-root', null))).toBe(true);
        const dead = ['dead-root'];
        for (let i = 1; i < 8; i++) {
          await store.recordIssued(token(`dead-${i}`, dead.at(-1)!, { iat: NOW + i }));
          dead.push(`dead-${i}`);
        }
        await store.recordRefusal(refusal(dead[3]!));
        // A chain with a token alive past the cutoff stays whole.
        const live = await recordChain(store, 2, 'live');
        await store.recordIssued(token('live-late', live[1]!, { exp: NOW + 100_000 }));
        const cutoff = NOW + 10_000;
        // 8 tokens, a refusal and an approval (10 rows), at most about 3 a step.
        let steps = 0;
        while ((await store.pruneChains(cutoff, { limit: 3 })) > 0) steps++;
        expect(steps).toBeGreaterThanOrEqual(3);
        for (const jti of dead) expect(await store.getToken(jti)).toBeUndefined();
        expect(await store.getApproval(a.authReqId)).toBeUndefined();
        for (const jti of [...live, 'live-late']) expect(await store.getToken(jti)).toBeDefined();
        expect((await store.stats(NOW)).refusals).toBe(0);
      });

      it('prunes old refusals, expired approvals without a kept token, and spent jtis', async () => {
        for (let i = 0; i < 5; i++) await store.recordRefusal(refusal(null, { at: NOW + i }));
        expect(await store.pruneRefusals(NOW + 3, { limit: 2 })).toBe(2);
        expect(await store.pruneRefusals(NOW + 3, { limit: 2 })).toBe(1);
        expect(await store.pruneRefusals(NOW + 3, { limit: 2 })).toBe(0);
        expect((await store.stats(NOW)).refusals).toBe(2);

        const kept = approval({ expiresAt: NOW + 1 });
        const gone = approval({ expiresAt: NOW + 1 });
        const fresh = approval({ expiresAt: NOW + 5000 });
        for (const x of [kept, gone, fresh]) await store.createApproval(x);
        await store.decideApproval(kept.authReqId, 'approved', 'x', 'alice', NOW);
        await store.issueForApproval(
          kept.authReqId,
          token('kept-ciba', null, { exp: NOW + 100_000 }),
        );
        expect(await store.pruneApprovals(NOW + 10, { limit: 10 })).toBe(1);
        expect(await store.getApproval(gone.authReqId)).toBeUndefined();
        expect(await store.getApproval(kept.authReqId)).toBeDefined();
        expect(await store.getApproval(fresh.authReqId)).toBeDefined();

        for (let i = 0; i < 4; i++) await store.useAssertionJti('c', `j${i}`, NOW + i, NOW - 1000);
        expect(await store.pruneAssertionJtis(NOW + 2, { limit: 1 })).toBe(1);
        expect(await store.pruneAssertionJtis(NOW + 2, { limit: 10 })).toBe(1);
        expect(await store.useAssertionJti('c', 'j0', NOW + 60, NOW - 1000)).toBe(true);
        expect(await store.useAssertionJti('c', 'j3', NOW + 60, NOW - 1000)).toBe(false);
      });
    });

    describe('export', () => {
      it('pages tokens, refusals and approvals oldest first within [since, until)', async () => {
        for (let i = 0; i < 5; i++) {
          await store.recordIssued(token(`e${i}`, null, { iat: NOW + i }));
          await store.recordRefusal(refusal(null, { at: NOW + i }));
          await store.createApproval(
            approval({ authReqId: `a${i}`, createdAt: NOW + i, clientId: `c${i}` }),
          );
        }
        const q = { since: NOW + 1, until: NOW + 4, limit: 2 };
        const t1 = await store.exportTokens(q);
        const last = t1.at(-1)!;
        const t2 = await store.exportTokens(q, { iat: last.iat, jti: last.jti });
        expect([...t1, ...t2].map((t) => t.jti)).toEqual(['e1', 'e2', 'e3']);
        const r1 = await store.exportRefusals(q);
        const r2 = await store.exportRefusals(q, { at: r1[1]!.at, id: r1[1]!.id });
        expect([...r1, ...r2].map((r) => r.at)).toEqual([NOW + 1, NOW + 2, NOW + 3]);
        const a1 = await store.exportApprovals(q);
        const a2 = await store.exportApprovals(q, {
          createdAt: a1[1]!.createdAt,
          authReqId: a1[1]!.authReqId,
        });
        expect([...a1, ...a2].map((a) => a.authReqId)).toEqual(['a1', 'a2', 'a3']);
        expect(a1[0]!.aud).toEqual(['https://api.example.com']);
      });
    });

    describe('MCP authorization', () => {
      const code = (codeHash: string) => ({
        codeHash,
        clientId: 'mcp-client',
        redirectUri: 'http://127.0.0.1:9/cb',
        codeChallenge: 'c'.repeat(43),
        resource: 'http://baton.test/mcp',
        scope: 'trips:read',
        username: 'alice',
        createdAt: NOW,
        expiresAt: NOW + 60,
      });
      const family = (familyId: string, consentExpiresAt = NOW + 3600) => ({
        familyId,
        clientId: 'mcp-client',
        username: 'alice',
        resource: 'http://baton.test/mcp',
        scope: 'trips:read',
        createdAt: NOW,
        consentExpiresAt,
      });
      const client = (clientId: string, createdAt = NOW): McpRegisteredClient => ({
        clientId,
        clientName: `<b>${clientId}</b>`,
        redirectUris: ['http://127.0.0.1:9/cb'],
        createdAt,
        lastUsedAt: createdAt,
        authMethod: 'none',
        secretSha256: null,
        jwks: null,
      });
      /** A redeemed code whose family issued `jti` (recorded) with refresh token `rt`. */
      async function started(id: string, consentExpiresAt?: number) {
        await store.createAuthCode(code(`code-${id}`));
        expect((await store.claimAuthCode(`code-${id}`, NOW)).kind).toBe('claimed');
        await store.recordIssued(token(`at-${id}`, null));
        expect(
          await store.startRefreshFamily(
            `code-${id}`,
            family(`fam-${id}`, consentExpiresAt),
            `rt-${id}`,
            `at-${id}`,
          ),
        ).toBe(true);
      }

      it('registers clients up to a cap of live ones; a stale one counts for nothing', async () => {
        expect(await store.registerMcpClient(client('stale', NOW - 1000), 2, NOW - 500)).toBe(true);
        expect(await store.registerMcpClient(client('c1'), 2, NOW - 500)).toBe(true);
        expect(await store.registerMcpClient(client('c2'), 2, NOW - 500)).toBe(true);
        expect(await store.registerMcpClient(client('c3'), 2, NOW - 500)).toBe(false);
        expect(await store.getMcpClient('c1', NOW - 500)).toEqual(client('c1'));
        expect(await store.getMcpClient('stale', NOW - 500)).toBeUndefined();
        expect(await store.getMcpClient('c3', NOW - 500)).toBeUndefined();
        await store.touchMcpClient('stale', NOW);
        await store.touchMcpClient('stale', NOW - 2000);
        expect((await store.getMcpClient('stale', NOW - 500))?.lastUsedAt).toBe(NOW);
      });

      it('prunes ended consents with their refresh tokens, old codes and idle registrations, in batches', async () => {
        await started('old', NOW + 100); // consent over at NOW + 100
        await started('gone'); // revoked at NOW + 5 below
        await started('live', NOW + 100_000);
        expect(await store.revokeRefreshFamily('rt-gone', 'mcp-client', NOW + 5)).toBe(true);
        await store.createAuthCode({ ...code('stale'), expiresAt: NOW + 50 });
        await store.createAuthCode({ ...code('fresh'), expiresAt: NOW + 500 });
        expect(await store.registerMcpClient(client('idle', NOW - 10), 10, 0)).toBe(true);
        expect(await store.registerMcpClient(client('used', NOW + 400), 10, 0)).toBe(true);

        // Nothing has ended before NOW: nothing goes.
        expect(await store.pruneMcpAuth(NOW, NOW - 20, { limit: 10 })).toBe(0);
        // One family, one code and one registration per call at most.
        const cutoff = NOW + 200;
        let deleted = await store.pruneMcpAuth(cutoff, NOW, { limit: 1 });
        expect(deleted).toBeGreaterThan(0);
        for (let more = deleted; more > 0; deleted += more)
          more = await store.pruneMcpAuth(cutoff, NOW, { limit: 1 });
        // Two families (each with a refresh token and an access-token link), the code
        // redeemed for each of the three families and the stale one, and 'idle'.
        expect(deleted).toBe(2 * 3 + 4 + 1);
        expect((await store.rotateRefreshToken('rt-old', 'mcp-client', 'n1', 'j1', NOW)).kind).toBe(
          'unknown',
        );
        expect(
          (await store.rotateRefreshToken('rt-live', 'mcp-client', 'n2', 'j2', NOW + 1)).kind,
        ).toBe('rotated');
        expect((await store.claimAuthCode('fresh', NOW)).kind).toBe('claimed');
        expect(await store.getMcpClient('idle', 0)).toBeUndefined();
        expect(await store.getMcpClient('used', 0)).toBeDefined();
      });

      it('keeps how a registered client authenticates: the secret digest, the public keys', async () => {
        const withSecret: McpRegisteredClient = {
          ...client('s1'),
          authMethod: 'client_secret_basic',
          secretSha256: 'ab'.repeat(32),
        };
        const withKeys: McpRegisteredClient = {
          ...client('k1'),
          authMethod: 'private_key_jwt',
          jwks: JSON.stringify({ keys: [{ kty: 'EC', crv: 'P-256', x: 'x', y: 'y' }] }),
        };
        expect(await store.registerMcpClient(withSecret, 10, NOW - 500)).toBe(true);
        expect(await store.registerMcpClient(withKeys, 10, NOW - 500)).toBe(true);
        expect(await store.getMcpClient('s1', NOW - 500)).toEqual(withSecret);
        expect(await store.getMcpClient('k1', NOW - 500)).toEqual(withKeys);
      });

      it('redeems a code once; a replay revokes what the code issued', async () => {
        await store.createAuthCode(code('k'));
        expect(await store.claimAuthCode('k', NOW)).toEqual({ kind: 'claimed', code: code('k') });
        expect(await store.claimAuthCode('k', NOW + 1)).toEqual({ kind: 'replayed' });
        expect(await store.claimAuthCode('nobody', NOW)).toEqual({ kind: 'unknown' });
        // A replay before the family started: it never starts.
        expect(await store.startRefreshFamily('k', family('f-k'), 'rt-k', 'at-k')).toBe(false);

        await started('x');
        await store.recordIssued(token('at-x-child', 'at-x'));
        expect(await store.claimAuthCode('code-x', NOW + 2)).toEqual({ kind: 'replayed' });
        expect(await store.revokedAt('at-x')).toBe(NOW + 2);
        expect(await store.revokedAt('at-x-child')).toBe(NOW + 2);
        expect(
          await store.rotateRefreshToken('rt-x', 'mcp-client', 'rt-x2', 'at-x2', NOW + 3),
        ).toEqual({
          kind: 'ended',
        });
      });

      it('rotates a refresh token once; the spent one coming back revokes the family', async () => {
        await started('r');
        expect(await store.rotateRefreshToken('rt-r', 'other-client', 'n', 'j', NOW)).toEqual({
          kind: 'unknown',
        });
        await store.recordIssued(token('at-r2', null));
        expect(
          await store.rotateRefreshToken('rt-r', 'mcp-client', 'rt-r2', 'at-r2', NOW + 1),
        ).toEqual({
          kind: 'rotated',
          family: family('fam-r'),
        });
        expect(
          await store.rotateRefreshToken('rt-r', 'mcp-client', 'rt-r3', 'at-r3', NOW + 2),
        ).toEqual({
          kind: 'replayed',
        });
        expect(await store.revokedAt('at-r')).toBe(NOW + 2);
        expect(await store.revokedAt('at-r2')).toBe(NOW + 2);
        expect(
          (await store.rotateRefreshToken('rt-r2', 'mcp-client', 'x', 'y', NOW + 3)).kind,
        ).toBe('ended');
        expect((await store.rotateRefreshToken('nope', 'mcp-client', 'x', 'y', NOW)).kind).toBe(
          'unknown',
        );
      });

      it('ends a family whose consent ran out or one of whose tokens was revoked', async () => {
        await started('e', NOW + 10);
        expect(
          (await store.rotateRefreshToken('rt-e', 'mcp-client', 'n', 'j', NOW + 10)).kind,
        ).toBe('ended');
        expect(await store.revokedAt('at-e')).toBe(NOW + 10);
        await started('v');
        await store.revokeCascade('at-v', NOW + 1);
        expect((await store.rotateRefreshToken('rt-v', 'mcp-client', 'n', 'j', NOW + 2)).kind).toBe(
          'ended',
        );
      });

      it('says whether a client holds a consent: an unused live code, or a standing family', async () => {
        expect(await store.mcpClientHasConsent('mcp-client', NOW)).toBe(false);
        await store.createAuthCode(code('h'));
        expect(await store.mcpClientHasConsent('mcp-client', NOW)).toBe(true);
        expect(await store.mcpClientHasConsent('mcp-client', NOW + 60)).toBe(false);
        expect(await store.mcpClientHasConsent('someone-else', NOW)).toBe(false);
        await store.claimAuthCode('h', NOW);
        expect(await store.mcpClientHasConsent('mcp-client', NOW)).toBe(false);
        await started('h2', NOW + 100);
        expect(await store.mcpClientHasConsent('mcp-client', NOW + 99)).toBe(true);
        expect(await store.mcpClientHasConsent('mcp-client', NOW + 100)).toBe(false);
        await store.revokeRefreshFamily('rt-h2', 'mcp-client', NOW + 1);
        expect(await store.mcpClientHasConsent('mcp-client', NOW + 2)).toBe(false);
      });

      it('revokes a family on its own client’s request only', async () => {
        await started('f');
        expect(await store.revokeRefreshFamily('rt-f', 'other-client', NOW + 1)).toBe(false);
        expect(await store.revokedAt('at-f')).toBeNull();
        expect(await store.revokeRefreshFamily('rt-f', 'mcp-client', NOW + 1)).toBe(true);
        expect(await store.revokedAt('at-f')).toBe(NOW + 1);
        expect(await store.revokeRefreshFamily('nobody', 'mcp-client', NOW + 1)).toBe(false);
      });
    });

    describe('operations', () => {
      it('answers a ping and counts what it holds', async () => {
        await store.ping();
        expect(await store.stats(NOW)).toEqual({ tokens: 0, refusals: 0, pendingApprovals: 0 });
        await store.recordIssued(token('s', null));
        await store.recordRefusal(refusal('s'));
        await store.createApproval(approval());
        expect(await store.stats(NOW)).toEqual({ tokens: 1, refusals: 1, pendingApprovals: 1 });
        expect((await store.stats(NOW + 1000)).pendingApprovals).toBe(0);
      });
    });
  });
}
