/**
 * Issue 9 point 10: one client filed 11,575 pending requests for alice in 10 s. A client
 * may have at most 20 pending requests for one person and 100 in all; over either cap
 * /bc-authorize answers invalid_request with a fixed description and records nothing;
 * expired and decided requests free their place; the listing of pending requests is
 * bounded; the caps hold under concurrent requests.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { approveRequest } from '../../broker/approvals/decide.js';
import { TOO_MANY_PENDING } from '../../broker/approvals/start.js';
import { DEFAULT_PENDING_CAPS } from '../../broker/store/sqlite-approvals.js';
import { API, ledgerApprovals, makeBroker, withApprovals, type TestBroker } from '../helpers.js';

let b: TestBroker;
beforeEach(async () => {
  b = await makeBroker({ policy: withApprovals });
});
afterEach(async () => {
  await b.close();
});

const TOO_MANY = {
  status: 400,
  body: { error: 'invalid_request', error_description: TOO_MANY_PENDING },
};

async function ask(user: string, client = 'planner', expiry = '300') {
  const res = await b.post(
    '/bc-authorize',
    {
      login_hint: user,
      scope: 'trips:read',
      audience: API,
      binding_message: 'Plan the trip',
      requested_expiry: expiry,
    },
    client,
  );
  return { status: res.status, body: (await res.json()) as Record<string, unknown> };
}

const pendingCount = async () =>
  (await ledgerApprovals(b.store)).filter((a) => a.status === 'pending').length;

describe('the caps on pending approval requests', () => {
  it('are 100 per client and 20 per client and person', () => {
    expect(DEFAULT_PENDING_CAPS).toEqual({ perClient: 100, perClientUser: 20 });
  });

  it('refuse a client its 21st pending request for one person, and nothing is recorded', async () => {
    for (let i = 0; i < 20; i++) expect((await ask('alice')).status).toBe(200);
    expect(await ask('alice')).toEqual(TOO_MANY);
    expect(await pendingCount()).toBe(20);
    // Another person, or another agent asking the same person, is not held up.
    expect((await ask('bob')).status).toBe(200);
    expect((await ask('alice', 'booker')).status).toBe(200);
  });

  it('refuse a client its 101st pending request across people', async () => {
    for (let i = 0; i < 100; i++) expect((await ask(`user${i % 5}`)).status).toBe(200);
    expect(await ask('user9')).toEqual(TOO_MANY);
    expect((await ask('alice', 'booker')).status).toBe(200);
  });

  it('count only pending, unexpired requests: a decided or expired one frees its place', async () => {
    const ids: string[] = [];
    for (let i = 0; i < 20; i++)
      ids.push((await ask('alice', 'planner', i === 0 ? '60' : '300')).body.auth_req_id as string);
    expect(await ask('alice')).toEqual(TOO_MANY);
    await approveRequest(b.store, ids[1]!, { now: b.clock.now });
    expect((await ask('alice')).status).toBe(200);
    expect(await ask('alice')).toEqual(TOO_MANY);
    b.clock.now += 60;
    expect((await ask('alice')).status).toBe(200);
  });

  it('hold when many requests arrive at once', async () => {
    const answers = await Promise.all(Array.from({ length: 60 }, () => ask('alice')));
    expect(answers.filter((a) => a.status === 200)).toHaveLength(20);
    expect(answers.filter((a) => a.status !== 200)).toEqual(
      Array.from({ length: 40 }, () => TOO_MANY),
    );
    expect(await pendingCount()).toBe(20);
  });
});

describe('listPendingApprovals', () => {
  it('returns at most the limit asked for, and at most 200', async () => {
    for (let i = 0; i < 30; i++) await ask(`user${i % 3}`);
    expect(await b.store.listPendingApprovals(b.clock.now, undefined, 5)).toHaveLength(5);
    expect(await b.store.listPendingApprovals(b.clock.now, undefined, 10_000)).toHaveLength(30);
    const now = b.clock.now;
    for (let i = 0; i < 250; i++) {
      await b.store.createApproval({
        authReqId: `bulk-${i}`,
        clientId: `client-${i}`,
        username: 'carol',
        scope: 'trips:read',
        aud: [API],
        bindingMessage: null,
        createdAt: now,
        expiresAt: now + 300,
        interval: 5,
      });
    }
    expect(await b.store.listPendingApprovals(now, 'carol')).toHaveLength(200);
  });
});
