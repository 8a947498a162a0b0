/**
 * Issue 9 point 8: refused exchanges with a 62 KB scope grew the database by 109 MB in
 * 10 s. Whatever the edges let through, the store caps every field it writes: a refusal's
 * text is cut and its request record replaced by a marker; a token or approval row over a
 * cap is refused, never cut (the ledger must match the token), and over HTTP that is a
 * clean invalid_request, not a 500.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { FIELD_CAPS } from '../../broker/store/limits.js';
import { LedgerFieldTooLargeError } from '../../broker/store/store.js';
import { API, TE, ledgerRefusals, ledgerTokens, makeBroker, type TestBroker } from '../helpers.js';

let b: TestBroker;
beforeEach(async () => {
  b = await makeBroker();
});
afterEach(async () => {
  await b.close();
});

const BIG = 'x'.repeat(100_000);

describe('a refusal row', () => {
  it('has every text field cut to its cap with a marker, and an oversized request record replaced', async () => {
    await b.store.recordRefusal({
      at: b.clock.now,
      clientId: BIG,
      grantType: BIG,
      subjectJti: BIG,
      error: BIG,
      reason: BIG,
      errorDescription: BIG,
      requested: { scope: BIG },
    });
    const [stored] = await ledgerRefusals(b.store);
    const description = stored!.errorDescription;
    const [, kept, cut] = /^(x*)\.\.\.\[(\d+) more characters cut\]$/.exec(description)!;
    expect(kept!.length + Number(cut)).toBe(BIG.length);
    expect(description.length).toBeLessThanOrEqual(FIELD_CAPS.errorDescription);
    const within = expect.toSatisfy((n: number) => n <= FIELD_CAPS.id && n > FIELD_CAPS.id - 40);
    expect({
      client_id: stored!.clientId.length,
      grant_type: stored!.grantType.length,
      subject_jti: stored!.subjectJti!.length,
      error: stored!.error.length,
      reason: stored!.reason!.length,
      requested: stored!.requested,
    }).toEqual({
      client_id: within,
      grant_type: within,
      subject_jti: within,
      error: within,
      reason: within,
      requested: { truncated: true, original_length: 100_012 },
    });
  });

  it('stays small when a flood of refused exchanges with huge scopes hits one token over HTTP', async () => {
    const handoff = (
      await b.exchange('planner', {
        subject_token: await b.idp.sign({ sub: 'alice' }),
        audience: 'agent:booker',
      })
    ).body.access_token as string;
    for (let i = 0; i < 20; i++) {
      const res = await b.exchange('booker', {
        subject_token: handoff,
        audience: API,
        scope: `${'s'.repeat(30_000)} ${i}`,
      });
      expect(res.status).toBe(400);
    }
    const refusals = await ledgerRefusals(b.store);
    expect(refusals).toHaveLength(20);
    const biggest = Math.max(
      ...refusals.map(
        (r) => JSON.stringify(r.requested).length + r.errorDescription.length + r.clientId.length,
      ),
    );
    expect(biggest).toBeLessThanOrEqual(
      FIELD_CAPS.requested + FIELD_CAPS.errorDescription + FIELD_CAPS.id,
    );
  });
});

describe('a token row', () => {
  const token = (over: Record<string, unknown>) => ({
    jti: 'j',
    parentJti: null,
    sub: 'alice',
    act: null,
    clientId: 'planner',
    grantType: TE,
    scope: 'trips:read',
    aud: [API],
    iat: 1,
    exp: 2,
    ...over,
  });

  it.each([
    ['sub', { sub: 's'.repeat(FIELD_CAPS.sub + 1) }],
    ['scope', { scope: 's'.repeat(FIELD_CAPS.scope + 1) }],
    ['aud', { aud: Array.from({ length: 40 }, () => 'a'.repeat(300)) }],
    ['act', { act: { sub: 'a'.repeat(FIELD_CAPS.act) } }],
    ['jti', { jti: 'j'.repeat(FIELD_CAPS.id + 1) }],
  ])('is refused, not cut, when its %s is over the cap', async (field, over) => {
    await expect(b.store.recordIssued(token(over))).rejects.toEqual(
      new LedgerFieldTooLargeError(field),
    );
    expect(await ledgerTokens(b.store)).toEqual([]);
  });

  it("is refused over HTTP as an unacceptable subject token when a trusted issuer's sub is too large", async () => {
    const res = await b.exchange('planner', {
      subject_token: await b.idp.sign({ sub: 'a'.repeat(2000) }),
      audience: 'agent:booker',
    });
    expect(res).toEqual({
      status: 400,
      body: {
        error: 'invalid_request',
        error_description: 'the subject token has a claim too large to record',
      },
    });
    expect(await ledgerTokens(b.store)).toEqual([]);
  });
});

describe('an approval row', () => {
  it('is refused when its binding message is over the cap', async () => {
    const approval = {
      authReqId: 'a',
      clientId: 'planner',
      username: 'alice',
      scope: 'trips:read',
      aud: [API],
      bindingMessage: 'm'.repeat(FIELD_CAPS.bindingMessage + 1),
      createdAt: 1,
      expiresAt: 2,
      interval: 5,
    };
    await expect(b.store.createApproval(approval)).rejects.toEqual(
      new LedgerFieldTooLargeError('binding_message'),
    );
  });
});
