/**
 * Ledger retention (issue 9, "the ledger only grows"): whole expired chains go with their
 * refusals and approval, a chain with a live token never does, old refusals, expired
 * approvals and spent assertion jtis go, each step in bounded batches that let token
 * requests run in between; the background pruner runs on its own and stops cleanly.
 */
import { randomUUID } from 'node:crypto';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { parsePolicy } from '../../broker/config/policy.js';
import {
  DEFAULT_RETENTION,
  pruneOnce,
  retentionCutoffs,
  startRetention,
  type PruneCounts,
} from '../../broker/ledger/retention.js';
import type { TokenRecord } from '../../broker/store/store.js';
import { GRANT_CIBA } from '../../broker/tokens/claims.js';
import {
  API,
  ISSUER,
  TE,
  ledgerRefusals,
  ledgerTokens,
  makeBroker,
  testPolicy,
  withApprovals,
  type TestBroker,
} from '../helpers.js';

const DAY = 86_400;
let b: TestBroker;
beforeEach(async () => {
  b = await makeBroker({ policy: withApprovals });
});
afterEach(async () => {
  await b.close();
});

const tokenCount = async (): Promise<number> => (await ledgerTokens(b.store)).length;
const jtis = async (): Promise<string[]> => (await ledgerTokens(b.store)).map((t) => t.jti).sort();

function token(
  jti: string,
  parentJti: string | null,
  iat: number,
  ttl = 300,
  over: Partial<TokenRecord> = {},
): TokenRecord {
  return {
    jti,
    parentJti,
    sub: 'alice',
    act: { sub: 'planner' },
    clientId: 'planner',
    grantType: TE,
    scope: 'trips:read',
    aud: [API],
    iat,
    exp: iat + ttl,
    ...over,
  };
}

function refusal(subjectJti: string | null, at: number) {
  return b.store.recordRefusal({
    at,
    clientId: 'booker',
    grantType: TE,
    subjectJti,
    error: 'invalid_scope',
    reason: 'scope_widened',
    errorDescription: 'scope not allowed',
    requested: { scope: 'trips:book' },
  });
}

/** A CIBA request for alice, approved and issued as `root` (its ledger row too); its auth_req_id. */
async function issuedApproval(root: TokenRecord, createdAt: number): Promise<string> {
  const id = randomUUID();
  await b.store.createApproval({
    authReqId: id,
    clientId: 'planner',
    username: 'alice',
    scope: 'trips:read',
    aud: [API],
    bindingMessage: null,
    createdAt,
    expiresAt: createdAt + 300,
    interval: 5,
  });
  await b.store.decideApproval(id, 'approved', 'trips:read', 'alice', createdAt);
  expect(await b.store.issueForApproval(id, root)).toBe(true);
  return id;
}

describe('the retention policy', () => {
  it('defaults to 30 days of tokens and refusals, 7 of approvals, and drops spent assertion jtis at once', () => {
    expect(DEFAULT_RETENTION).toEqual({
      tokensDays: 30,
      refusalsDays: 30,
      approvalsDays: 7,
      assertionJtisDays: 0,
    });
    expect(parsePolicy(testPolicy({ kty: 'EC' }), ISSUER).retention).toEqual(DEFAULT_RETENTION);
    expect(retentionCutoffs(DEFAULT_RETENTION, 100 * DAY)).toEqual({
      chains: 70 * DAY,
      refusals: 70 * DAY,
      approvals: 93 * DAY,
      assertionJtis: 100 * DAY,
      mcpAuth: 70 * DAY,
      mcpRegistrations: (70 - 90) * DAY,
    });
  });

  it('reads the policy file section and refuses a typo or a refusal kept less than a day', () => {
    const policy = {
      ...testPolicy({ kty: 'EC' }),
      retention: { tokens_days: 90, refusals_days: 60 },
    };
    expect(parsePolicy(policy, ISSUER).retention).toEqual({
      tokensDays: 90,
      refusalsDays: 60,
      approvalsDays: 7,
      assertionJtisDays: 0,
    });
    expect(() => parsePolicy({ ...policy, retention: { token_days: 1 } }, ISSUER)).toThrow(
      /retention/,
    );
    expect(() => parsePolicy({ ...policy, retention: { refusals_days: 0 } }, ISSUER)).toThrow(
      /refusals_days/,
    );
  });
});

describe('pruneOnce', () => {
  it('deletes a chain that expired before the cutoff, with its refusals and approval, and keeps live and recent chains', async () => {
    const now = b.clock.now;
    const old = now - 40 * DAY;
    const [oldRoot, oldChild, oldGrandchild] = [randomUUID(), randomUUID(), randomUUID()];
    const [liveRoot, liveChild] = [randomUUID(), randomUUID()];
    const recent = randomUUID();
    const approval = await issuedApproval(
      token(oldRoot, null, old, 300, { grantType: GRANT_CIBA }),
      old,
    );
    await Promise.all([
      b.store.recordIssued(token(oldChild, oldRoot, old + 10)),
      b.store.recordIssued(token(oldGrandchild, oldChild, old + 20)),
      // A root issued as long ago whose child lives on: never pruned (not even the root).
      b.store.recordIssued(token(liveRoot, null, old)),
      b.store.recordIssued(token(liveChild, liveRoot, old + 10, 41 * DAY)),
      // Expired 10 days ago: within the 30 days kept.
      b.store.recordIssued(token(recent, null, now - 10 * DAY)),
    ]);
    await Promise.all([
      refusal(oldChild, now - 1),
      refusal(oldGrandchild, now - 2),
      refusal(liveChild, now - 3),
    ]);

    const counts = await pruneOnce(b.store, DEFAULT_RETENTION, now);

    expect(counts).toEqual({
      chains: 3 + 2 + 1,
      refusals: 0,
      approvals: 0,
      assertionJtis: 0,
      mcpAuth: 0,
    });
    expect(await jtis()).toEqual([liveRoot, liveChild, recent].sort());
    expect(await b.store.getApproval(approval)).toBeUndefined();
    expect(
      (await b.store.refusalsAgainst([oldChild, oldGrandchild, liveChild])).map(
        (r) => r.subjectJti,
      ),
    ).toEqual([liveChild]);
  });

  it('deletes refusals older than refusals_days, expired approvals not tied to a kept token, and expired assertion jtis', async () => {
    const now = b.clock.now;
    await Promise.all([refusal(null, now - 31 * DAY), refusal(null, now - 29 * DAY)]);
    const kept = randomUUID();
    const keptApproval = await issuedApproval(
      token(kept, null, now, 300, { grantType: GRANT_CIBA }),
      now - 8 * DAY,
    );
    const stale = randomUUID();
    await b.store.createApproval({
      authReqId: stale,
      clientId: 'planner',
      username: 'bob',
      scope: 'trips:read',
      aud: [API],
      bindingMessage: null,
      createdAt: now - 8 * DAY,
      expiresAt: now - 8 * DAY + 300,
      interval: 5,
    });
    await b.store.useAssertionJti('planner', 'spent', now - 1, now - 60);
    await b.store.useAssertionJti('planner', 'fresh', now + 60, now - 30);

    expect(await pruneOnce(b.store, DEFAULT_RETENTION, now)).toEqual({
      chains: 0,
      refusals: 1,
      approvals: 1,
      assertionJtis: 1,
      mcpAuth: 0,
    });
    expect((await ledgerRefusals(b.store)).map((r) => r.at)).toEqual([now - 29 * DAY]);
    expect(await b.store.getApproval(stale)).toBeUndefined();
    expect(await b.store.getApproval(keptApproval)).toMatchObject({
      status: 'issued',
      issuedJti: kept,
    });
    // 'fresh' is still remembered (a replay), 'spent' is forgotten.
    expect(await b.store.useAssertionJti('planner', 'fresh', now + 60, now)).toBe(false);
    expect(await b.store.useAssertionJti('planner', 'spent', now + 60, now)).toBe(true);
  });

  it('deletes a big chain in batches of at most the batch size, and nothing is left half-walked', async () => {
    const now = b.clock.now;
    const old = now - 40 * DAY;
    const ids = Array.from({ length: 1200 }, () => randomUUID());
    // A wide and deep chain: every token's parent is a random earlier one.
    await Promise.all(
      ids.map((jti, i) =>
        b.store.recordIssued(token(jti, i === 0 ? null : ids[Math.floor(Math.random() * i)]!, old)),
      ),
    );
    const steps: number[] = [];
    for (let n; (n = await b.store.pruneChains(now - 30 * DAY, { limit: 500 })) > 0;) steps.push(n);
    expect(steps).toEqual([500, 500, 200]);
    expect(await tokenCount()).toBe(0);
  });

  it('gives the event loop a turn after every batch, so token requests are served during a pass', async () => {
    const now = b.clock.now;
    const ids = Array.from({ length: 2000 }, () => randomUUID());
    await Promise.all(
      ids.map((jti, i) =>
        b.store.recordIssued(token(jti, i === 0 ? null : ids[0]!, now - 40 * DAY)),
      ),
    );
    // A callback that re-queues itself runs once per turn of the event loop.
    let turns = 0;
    let done = false;
    const tick = () => {
      if (done) return;
      turns++;
      setImmediate(tick);
    };
    setImmediate(tick);
    const [pruned, exchange] = await Promise.all([
      pruneOnce(b.store, DEFAULT_RETENTION, now, { batch: 100 }).finally(() => (done = true)),
      b.idp
        .sign({ sub: 'alice' })
        .then((alice) => b.exchange('planner', { subject_token: alice, audience: API })),
    ]);
    expect(pruned).toEqual({
      chains: 2000,
      refusals: 0,
      approvals: 0,
      assertionJtis: 0,
      mcpAuth: 0,
    });
    // 20 batches of chain rows, then one empty batch per step: at least one turn each.
    expect(turns).toBeGreaterThanOrEqual(20);
    expect(exchange.status).toBe(200);
    expect(await tokenCount()).toBe(1);
  });
});

describe('spent client-assertion jtis', () => {
  it('are swept at most 100 at a time on the request path; retention removes the rest', async () => {
    const now = b.clock.now;
    // Used 100 s ago (one sweep then, with nothing to sweep), expired 10 s ago.
    for (let i = 0; i < 300; i++)
      expect(await b.store.useAssertionJti('planner', `old-${i}`, now - 10, now - 100)).toBe(true);
    // A minute later the request path sweeps 100 of them, no more: retention finds 200.
    expect(await b.store.useAssertionJti('planner', 'new', now + 60, now)).toBe(true);
    expect(await pruneOnce(b.store, DEFAULT_RETENTION, now)).toMatchObject({ assertionJtis: 200 });
    expect(await b.store.pruneAssertionJtis(now, { limit: 1000 })).toBe(0);
    // The unexpired one is still remembered; the expired ones are forgotten.
    expect(await b.store.useAssertionJti('planner', 'new', now + 60, now)).toBe(false);
    expect(await b.store.useAssertionJti('planner', 'old-0', now + 60, now)).toBe(true);
  });
});

describe('MCP client registrations and consents', () => {
  it('go once ended longer ago than the policy keeps tokens (registrations after their idle time too)', async () => {
    const now = b.clock.now;
    const registration = (clientId: string, lastUsedAt: number) => ({
      clientId,
      clientName: null,
      redirectUris: ['http://127.0.0.1:9/cb'],
      createdAt: lastUsedAt,
      lastUsedAt,
      authMethod: 'none' as const,
      secretSha256: null,
      jwks: null,
    });
    // Idle 90 + 31 days: past the idle time and the 30 days kept after it.
    await b.store.registerMcpClient(registration('mcp_gone', now - 121 * DAY), 10, 0);
    // Idle 90 + 29 days: refused as unknown already, but still kept.
    await b.store.registerMcpClient(registration('mcp_kept', now - 119 * DAY), 10, 0);
    expect(await pruneOnce(b.store, DEFAULT_RETENTION, now)).toMatchObject({ mcpAuth: 1 });
    expect(await b.store.getMcpClient('mcp_gone', 0)).toBeUndefined();
    expect(await b.store.getMcpClient('mcp_kept', 0)).toBeDefined();
  });
});

describe('startRetention', () => {
  it('prunes in the background and stops cleanly', async () => {
    const now = b.clock.now;
    await b.store.recordIssued(token(randomUUID(), null, now - 40 * DAY));
    const passes: PruneCounts[] = [];
    const firstPass = new Promise<void>((resolve) => {
      const running = startRetention(
        { store: b.store, policy: { retention: DEFAULT_RETENTION }, now: () => b.clock.now },
        {
          firstAfterSeconds: 0,
          onPass: (c) => {
            passes.push(c);
            void running.stop().then(resolve);
          },
        },
      );
    });
    await firstPass;
    expect(passes).toEqual([
      { chains: 1, refusals: 0, approvals: 0, assertionJtis: 0, mcpAuth: 0 },
    ]);
    expect(await tokenCount()).toBe(0);
  });
});
