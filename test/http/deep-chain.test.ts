/**
 * Issue 9 points 7 and 8: deep chains and wide trees. A 12,001-token chain (too slow to
 * build over HTTP, so written through the Store interface, as a ledger from before the
 * chain bound holds it) is audited over HTTP and through the service: no stack overflow,
 * the root and its approval are there, the report is small and says what it left out. A
 * token with 21,000 children gives a small report and pages through every child once.
 * Over HTTP, a chain stops growing at 64 exchanges.
 */
import { randomUUID } from 'node:crypto';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { MAX_CHAIN_HOPS } from '../../broker/policy/chain-length.js';
import {
  auditReport,
  CHAIN_NEAREST,
  DESCENDANTS_SHOWN,
} from '../../broker/services/audit-report.js';
import type { TokenRecord } from '../../broker/store/store.js';
import { GRANT_CIBA } from '../../broker/tokens/claims.js';
import {
  ADMIN_TOKEN,
  API,
  claimsOf,
  makeBroker,
  TE,
  withApprovals,
  type TestBroker,
} from '../helpers.js';

let b: TestBroker;
beforeEach(async () => {
  b = await makeBroker({ policy: withApprovals });
});
afterEach(async () => {
  await b.close();
});

async function audit(
  path: string,
): Promise<{ status: number; text: string; body: Record<string, unknown> }> {
  const res = await b.app.request(path, { headers: { authorization: `Bearer ${ADMIN_TOKEN}` } });
  const text = await res.text();
  return { status: res.status, text, body: JSON.parse(text) as Record<string, unknown> };
}

function row(jti: string, parentJti: string | null, over: Partial<TokenRecord> = {}): TokenRecord {
  const now = b.clock.now;
  return {
    jti,
    parentJti,
    sub: 'alice',
    act: { sub: 'planner' },
    clientId: 'planner',
    grantType: TE,
    scope: 'trips:read',
    aud: [API],
    iat: now,
    exp: now + 300,
    ...over,
  };
}

/** Alice approves planner's request; its token is the root of the chain. */
async function approvedRoot(root: TokenRecord): Promise<void> {
  const now = b.clock.now;
  const authReqId = randomUUID();
  await b.store.createApproval({
    authReqId,
    clientId: 'planner',
    username: 'alice',
    scope: 'trips:read',
    aud: [API],
    bindingMessage: 'plan the trip',
    createdAt: now,
    expiresAt: now + 300,
    interval: 5,
  });
  expect(await b.store.decideApproval(authReqId, 'approved', 'trips:read', 'alice', now)).toBe(
    true,
  );
  expect(await b.store.issueForApproval(authReqId, root)).toBe(true);
}

describe('a 12,001-token chain', () => {
  const LENGTH = 12_001;
  let jtis: string[];
  beforeEach(async () => {
    jtis = Array.from({ length: LENGTH }, () => randomUUID());
    await approvedRoot(row(jtis[0]!, null, { grantType: GRANT_CIBA }));
    // One event-loop turn: the store commits them in one transaction, parents first.
    await Promise.all(jtis.slice(1).map((jti, i) => b.store.recordIssued(row(jti, jtis[i]!))));
  });

  it('is walked whole by the store, root first, with each row knowing its root and hop', async () => {
    const chain = await b.store.chain(jtis.at(-1)!);
    expect(chain.map((t) => t.jti)).toEqual(jtis);
    expect(chain.at(-1)).toMatchObject({ rootJti: jtis[0], hop: LENGTH - 1 });
  });

  it('audits its last token over HTTP: the root, its approval, the nearest ancestors, and how many were left out', async () => {
    const last = jtis.at(-1)!;
    const { status, text, body } = await audit(`/audit/tokens/${last}`);
    expect(status).toBe(200);
    const chain = body.chain as Array<{ jti: string; parent_jti: string | null }>;
    expect(chain.map((t) => t.jti)).toEqual([jtis[0], ...jtis.slice(-CHAIN_NEAREST)]);
    expect(chain[0]!.parent_jti).toBeNull();
    expect(body).toMatchObject({
      chain_length: LENGTH,
      chain_elided: LENGTH - 1 - CHAIN_NEAREST,
      descendants: { jti: last, children: [] },
      descendants_shown: 0,
      descendants_cursor: null,
      refusals: [],
      refusals_total: 0,
      approval: {
        jti: jtis[0],
        client_id: 'planner',
        user: 'alice',
        requested_scope: 'trips:read',
        approved_scope: 'trips:read',
        reason: 'plan the trip',
        decided_by: 'alice',
      },
    });
    expect(text.length).toBeLessThan(16 * 1024);
  });

  it('audits it through the service as the CLI and MCP do', async () => {
    const report = (await auditReport({ store: b.store }, jtis.at(-1)!))!;
    expect(report.chain[0]!.jti).toBe(jtis[0]);
    expect(report.approval?.jti).toBe(jtis[0]);
    expect(report.chain_length).toBe(LENGTH);
  });

  it('audits its root with a first breadth-first page of descendants and a cursor that pages on', async () => {
    const first = await audit(`/audit/tokens/${jtis[0]}`);
    expect(first.status).toBe(200);
    expect(first.body).toMatchObject({
      chain_length: 1,
      chain_elided: 0,
      descendants_shown: DESCENDANTS_SHOWN,
    });
    // The first page is a path 100 deep; a tree that deep still serialises.
    let node = first.body.descendants as {
      jti: string;
      children: Array<{ jti: string; children: unknown[] }>;
    };
    const shown: string[] = [];
    while (node.children.length > 0) {
      node = node.children[0] as typeof node;
      shown.push(node.jti);
    }
    expect(shown).toEqual(jtis.slice(1, 1 + DESCENDANTS_SHOWN));
    const next = await audit(
      `/audit/tokens/${jtis[0]}/descendants?after=${first.body.descendants_cursor as string}&limit=3`,
    );
    expect(next.status).toBe(200);
    const page = next.body.descendants as Array<{ jti: string; parent_jti: string; depth: number }>;
    expect(page.map((t) => [t.jti, t.parent_jti, t.depth])).toEqual(
      [101, 102, 103].map((i) => [jtis[i], jtis[i - 1], i]),
    );
    expect(next.body.next_cursor).toEqual(expect.any(String));
  });
});

describe('a token with 21,000 children', () => {
  const CHILDREN = 21_000;
  let parent: string;
  let children: string[];
  beforeEach(async () => {
    parent = randomUUID();
    children = Array.from({ length: CHILDREN }, () => randomUUID());
    await Promise.all([
      b.store.recordIssued(row(parent, null)),
      ...children.map((jti) => b.store.recordIssued(row(jti, parent))),
    ]);
  });

  it('gives a small report that says more descendants exist', async () => {
    const { status, text, body } = await audit(`/audit/tokens/${parent}`);
    expect(status).toBe(200);
    expect(text.length).toBeLessThan(64 * 1024);
    expect((body.descendants as { children: unknown[] }).children).toHaveLength(DESCENDANTS_SHOWN);
    expect(body).toMatchObject({
      descendants_shown: DESCENDANTS_SHOWN,
      descendants_cursor: expect.any(String),
    });
  });

  it('pages through every child exactly once, in order, and the last page has no cursor', async () => {
    const report = (await audit(`/audit/tokens/${parent}`)).body;
    const seen = (report.descendants as { children: Array<{ jti: string }> }).children.map(
      (t) => t.jti,
    );
    let cursor = report.descendants_cursor as string | null;
    let pages = 0;
    while (cursor !== null) {
      const { status, body } = await audit(
        `/audit/tokens/${parent}/descendants?after=${cursor}&limit=500`,
      );
      expect(status).toBe(200);
      seen.push(...(body.descendants as Array<{ jti: string }>).map((t) => t.jti));
      cursor = body.next_cursor as string | null;
      pages++;
    }
    expect(pages).toBe(Math.ceil((CHILDREN - DESCENDANTS_SHOWN) / 500));
    expect(seen).toEqual(children.slice().sort());
  });

  it('refuses a cursor it did not give out', async () => {
    for (const after of [
      'nonsense!',
      Buffer.from('[1,2]').toString('base64url'),
      'x'.repeat(2000),
    ]) {
      const { status, body } = await audit(`/audit/tokens/${parent}/descendants?after=${after}`);
      expect({ status, body }).toEqual({
        status: 400,
        body: {
          error: 'invalid_request',
          error_description: 'after is not a cursor this API gave out',
        },
      });
    }
  });
});

describe('refusals against one token', () => {
  it('shows the newest 20, oldest first, and counts them all', async () => {
    const parent = randomUUID();
    await b.store.recordIssued(row(parent, null));
    const t0 = b.clock.now;
    await Promise.all(
      Array.from({ length: 300 }, (_, i) =>
        b.store.recordRefusal({
          at: t0 + i,
          clientId: 'narrow',
          grantType: TE,
          subjectJti: parent,
          error: 'invalid_scope',
          reason: 'scope_widened',
          errorDescription: `refusal ${i}`,
          requested: { scope: 'x'.repeat(100_000) },
        }),
      ),
    );
    const { status, text, body } = await audit(`/audit/tokens/${parent}`);
    expect(status).toBe(200);
    expect(
      (body.refusals as Array<{ error_description: string }>).map((r) => r.error_description),
    ).toEqual(Array.from({ length: 20 }, (_, i) => `refusal ${280 + i}`));
    expect(body.refusals_total).toBe(300);
    // Each 100 KB request record was stored as a marker.
    expect((body.refusals as Array<{ requested: unknown }>)[0]!.requested).toEqual({
      truncated: true,
      original_length: 100_012,
    });
    expect(text.length).toBeLessThan(16 * 1024);
  });
});

describe('the chain bound over HTTP', () => {
  it(`lets an agent re-target its own token ${MAX_CHAIN_HOPS} times, then refuses with invalid_request and records why`, async () => {
    let token = (
      await b.exchange('planner', {
        subject_token: await b.idp.sign({ sub: 'alice' }),
        audience: API,
      })
    ).body.access_token as string;
    for (let hop = 1; hop <= MAX_CHAIN_HOPS; hop++) {
      const res = await b.exchange('planner', { subject_token: token, audience: API });
      expect(res.status).toBe(200);
      token = res.body.access_token as string;
    }
    expect((await b.store.getToken(claimsOf(token).jti!))!.hop).toBe(MAX_CHAIN_HOPS);
    const refused = await b.exchange('planner', { subject_token: token, audience: API });
    expect(refused).toEqual({
      status: 400,
      body: {
        error: 'invalid_request',
        error_description:
          'the subject token ends a chain of 64 exchanges; start a new chain from the original token',
      },
    });
    expect(await b.store.refusalsAgainst([claimsOf(token).jti!])).toMatchObject([
      { error: 'invalid_request', reason: 'chain_too_long' },
    ]);
  });
});

describe('a corrupt ledger', () => {
  it('with two tokens naming each other as parent still audits, each walk ending', async () => {
    const [a, c] = [randomUUID(), randomUUID()];
    // a names a parent the ledger lacks (so a starts a chain); c, recorded next, names a.
    await b.store.recordIssued(row(a, c));
    await b.store.recordIssued(row(c, a));
    expect((await b.store.chain(c)).map((t) => t.jti)).toEqual([a, c]);
    expect((await b.store.chain(a)).map((t) => t.jti)).toEqual([a]);
    const report = await audit(`/audit/tokens/${a}`);
    expect(report.status).toBe(200);
    expect(report.body).toMatchObject({
      chain_length: 1,
      descendants: { jti: a, children: [{ jti: c, children: [] }] },
    });
    expect((await audit(`/audit/tokens/${c}`)).body).toMatchObject({
      chain_length: 2,
      descendants: { jti: c, children: [] },
    });
  });
});
