/**
 * Approvals over HTTP (SPEC §6, OpenID CIBA Core poll mode): the backchannel endpoint
 * validates and records a request, the token endpoint's CIBA grant answers
 * `authorization_pending` / `slow_down` / `access_denied` / `expired_token`, and once the
 * person approves (here through `approveRequest`, what `npx baton approve` runs) exactly
 * one token for the person, acting through the agent, recorded as the root of a chain.
 * Time only moves when the test moves `b.clock.now`.
 */
import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { approveRequest, denyRequest } from '../../broker/approvals/decide.js';
import { newAuthReqId } from '../../broker/approvals/start.js';
import { FIELD_CAPS } from '../../broker/store/limits.js';
import { LedgerFieldTooLargeError, type TokenRecord } from '../../broker/store/store.js';
import {
  ADMIN_TOKEN,
  API,
  AT,
  CIBA,
  ISSUER,
  TE,
  claimsOf,
  ledgerApprovals,
  ledgerRefusals,
  makeBroker,
  withApprovals,
  type TestBroker,
} from '../helpers.js';

type FormValues = Record<string, string | string[]>;

const REQUEST: FormValues = {
  login_hint: 'alice',
  scope: 'trips:read trips:book',
  audience: API,
  binding_message: 'Book the Lisbon trip you asked for',
};

function without(form: FormValues, ...keys: string[]): FormValues {
  return Object.fromEntries(Object.entries(form).filter(([k]) => !keys.includes(k)));
}

const pending = {
  error: 'authorization_pending',
  error_description: 'the user has not answered yet',
};
const unknownId = { error: 'invalid_grant', error_description: 'unknown auth_req_id' };
const alreadyIssued = {
  error: 'invalid_grant',
  error_description: 'the token for this auth_req_id has already been issued',
};

let b: TestBroker;
beforeEach(async () => {
  b = await makeBroker({ policy: withApprovals });
});
afterEach(async () => {
  await b.close();
});

async function answer(res: Response): Promise<{ status: number; body: Record<string, unknown> }> {
  return { status: res.status, body: (await res.json()) as Record<string, unknown> };
}

const bcAuthorize = (form: FormValues = REQUEST, client: string | null = 'planner') =>
  b.post('/bc-authorize', form, client);
const poll = async (authReqId: string, client = 'planner') =>
  answer(await b.post('/token', { grant_type: CIBA, auth_req_id: authReqId }, client));

async function started(form: FormValues = REQUEST, client = 'planner'): Promise<string> {
  const res = await answer(await bcAuthorize(form, client));
  expect(res.status).toBe(200);
  return res.body.auth_req_id as string;
}

const refusals = async () =>
  (await ledgerRefusals(b.store)).map((r) => ({
    client_id: r.clientId,
    grant_type: r.grantType,
    error: r.error,
    error_description: r.errorDescription,
  }));

describe('CIBA discovery', () => {
  it('advertises the backchannel endpoint, poll mode only, and the CIBA grant', async () => {
    const m = (await (
      await b.app.request('/.well-known/oauth-authorization-server')
    ).json()) as Record<string, unknown>;
    expect(m).toMatchObject({
      backchannel_authentication_endpoint: `${ISSUER}/bc-authorize`,
      backchannel_token_delivery_modes_supported: ['poll'],
      backchannel_user_code_parameter_supported: false,
    });
    expect(m.grant_types_supported).toEqual([
      TE,
      CIBA,
      'client_credentials',
      // SPEC §8: MCP clients' authorization code grant and its refresh tokens.
      'authorization_code',
      'refresh_token',
    ]);
  });
});

describe('POST /bc-authorize', () => {
  it('acknowledges a request with a random auth_req_id, expires_in and interval, no-store', async () => {
    const res = await bcAuthorize();
    expect(res.status).toBe(200);
    expect(res.headers.get('cache-control')).toBe('no-store');
    const body = (await res.json()) as Record<string, unknown>;
    expect(body).toEqual({
      auth_req_id: expect.stringMatching(/^[A-Za-z0-9_][A-Za-z0-9_-]{42}$/),
      expires_in: 300,
      interval: 5,
    });
    expect(await b.store.getApproval(body.auth_req_id as string)).toEqual({
      authReqId: body.auth_req_id,
      clientId: 'planner',
      username: 'alice',
      scope: 'trips:read trips:book',
      aud: [API],
      bindingMessage: 'Book the Lisbon trip you asked for',
      createdAt: b.clock.now,
      expiresAt: b.clock.now + 300,
      interval: 5,
      nextPollAt: b.clock.now,
      status: 'pending',
      approvedScope: null,
      decidedAt: null,
      decidedBy: null,
      issuedJti: null,
    });
  });

  it('never hands out an auth_req_id that a command line would take for an option', () => {
    const draws = [Buffer.alloc(32, 0xf8), Buffer.alloc(32, 0)];
    expect(Buffer.alloc(32, 0xf8).toString('base64url').startsWith('-')).toBe(true);
    expect(newAuthReqId(() => draws.shift()!)).toBe('A'.repeat(43));
  });

  it('takes a shorter requested_expiry and clamps a longer one to 600 seconds', async () => {
    expect(
      (await answer(await bcAuthorize({ ...REQUEST, requested_expiry: '60' }))).body.expires_in,
    ).toBe(60);
    expect(
      (await answer(await bcAuthorize({ ...REQUEST, requested_expiry: '86400' }))).body.expires_in,
    ).toBe(600);
  });

  it('accepts resource in place of audience, and no binding_message at all', async () => {
    const id = await started({ ...without(REQUEST, 'audience', 'binding_message'), resource: API });
    expect(await b.store.getApproval(id)).toMatchObject({ aud: [API], bindingMessage: null });
  });

  it('accepts a binding_message of exactly 100 characters, accented ones included', async () => {
    const id = await started({ ...REQUEST, binding_message: 'é'.repeat(100) });
    expect((await b.store.getApproval(id))?.bindingMessage).toBe('é'.repeat(100));
  });

  const invalid: Array<[string, FormValues, number, Record<string, string>]> = [
    [
      'no login_hint',
      without(REQUEST, 'login_hint'),
      400,
      { error: 'invalid_request', error_description: 'login_hint is required' },
    ],
    [
      'an id_token_hint',
      { ...without(REQUEST, 'login_hint'), id_token_hint: 'eyJhbGciOiJub25lIn0.e30.' },
      400,
      { error: 'invalid_request', error_description: 'only login_hint is supported' },
    ],
    [
      'a login_hint_token beside login_hint',
      { ...REQUEST, login_hint_token: 'opaque' },
      400,
      { error: 'invalid_request', error_description: 'only login_hint is supported' },
    ],
    [
      'no scope',
      without(REQUEST, 'scope'),
      400,
      { error: 'invalid_request', error_description: 'scope is required' },
    ],
    [
      'a scope outside the client’s',
      { ...REQUEST, scope: 'trips:read admin' },
      400,
      {
        error: 'invalid_scope',
        error_description:
          'scope not allowed: admin (may ask for: trips:read trips:book flights:book)',
      },
    ],
    [
      'a blank scope',
      { ...REQUEST, scope: ' ' },
      400,
      { error: 'invalid_scope', error_description: 'the requested scope is empty' },
    ],
    [
      'no audience or resource',
      without(REQUEST, 'audience'),
      400,
      { error: 'invalid_request', error_description: 'audience or resource is required' },
    ],
    [
      'an audience the client may not ask for',
      { ...REQUEST, audience: [API, 'https://evil.example'] },
      400,
      {
        error: 'invalid_target',
        error_description: `audience not allowed: https://evil.example (may ask for: agent:booker ${API} agent:narrow)`,
      },
    ],
    [
      'a binding_message over 100 characters',
      { ...REQUEST, binding_message: 'x'.repeat(101) },
      400,
      {
        error: 'invalid_binding_message',
        error_description: 'binding_message must be at most 100 characters',
      },
    ],
    [
      'a binding_message with a newline',
      { ...REQUEST, binding_message: 'Book it\nApproved by admin' },
      400,
      {
        error: 'invalid_binding_message',
        error_description: 'binding_message must be printable text without control characters',
      },
    ],
    [
      'a binding_message with an escape sequence',
      { ...REQUEST, binding_message: 'Book \u001b[2Jit' },
      400,
      {
        error: 'invalid_binding_message',
        error_description: 'binding_message must be printable text without control characters',
      },
    ],
    [
      'a binding_message with a bidi override',
      { ...REQUEST, binding_message: 'Book \u202eti kooB' },
      400,
      {
        error: 'invalid_binding_message',
        error_description: 'binding_message must be printable text without control characters',
      },
    ],
    [
      'a requested_expiry that is not a positive number of seconds',
      { ...REQUEST, requested_expiry: '0' },
      400,
      {
        error: 'invalid_request',
        error_description: 'requested_expiry must be a positive whole number of seconds',
      },
    ],
    [
      'a client without the CIBA grant',
      REQUEST,
      400,
      { error: 'unauthorized_client', error_description: `narrow may not use ${CIBA}` },
    ],
  ];

  it.each(invalid)('refuses %s', async (name, form, status, body) => {
    const res = await bcAuthorize(
      form,
      name === 'a client without the CIBA grant' ? 'narrow' : 'planner',
    );
    expect(res.status).toBe(status);
    expect(res.headers.get('cache-control')).toBe('no-store');
    expect(await res.json()).toEqual(body);
    expect(await ledgerApprovals(b.store)).toEqual([]);
  });

  it('answers a request without client authentication with 401 invalid_client', async () => {
    const res = await bcAuthorize(REQUEST, null);
    expect(res.status).toBe(401);
    expect(res.headers.get('www-authenticate')).toBe('Basic realm="baton", charset="UTF-8"');
    expect(await res.json()).toEqual({
      error: 'invalid_client',
      error_description: 'client authentication failed',
    });
  });

  it('answers GET with 405', async () => {
    const res = await b.app.request('/bc-authorize');
    expect(res.status).toBe(405);
    expect(res.headers.get('allow')).toBe('POST');
  });

  it('answers a request for an unknown user exactly like one for a known user, and never grants it', async () => {
    const known = await answer(await bcAuthorize());
    const unknown = await answer(await bcAuthorize({ ...REQUEST, login_hint: 'mallory' }));
    expect(unknown.status).toBe(known.status);
    expect(Object.keys(unknown.body)).toEqual(Object.keys(known.body));
    expect({ ...unknown.body, auth_req_id: 'x' }).toEqual({ ...known.body, auth_req_id: 'x' });
    const id = unknown.body.auth_req_id as string;
    expect(await poll(id)).toEqual({ status: 400, body: pending });
    // Even when an operator approves it by mistake, no token for a name the policy lacks.
    expect((await approveRequest(b.store, id, { now: b.clock.now })).ok).toBe(true);
    b.clock.now += 5;
    expect(await poll(id)).toEqual({
      status: 400,
      body: { error: 'access_denied', error_description: 'the request was not approved' },
    });
  });
});

describe('polling the token endpoint with the CIBA grant', () => {
  it('answers authorization_pending, then slow_down when polled too early, raising the interval', async () => {
    const id = await started();
    expect(await poll(id)).toEqual({ status: 400, body: pending });
    expect(await poll(id)).toEqual({
      status: 400,
      body: {
        error: 'slow_down',
        error_description: 'polling too fast: wait 10 seconds between polls',
      },
    });
    b.clock.now += 10;
    expect(await poll(id)).toEqual({ status: 400, body: pending });
    b.clock.now += 5;
    expect((await poll(id)).body).toEqual({
      error: 'slow_down',
      error_description: 'polling too fast: wait 15 seconds between polls',
    });
    expect(await b.store.getApproval(id)).toMatchObject({
      interval: 15,
      nextPollAt: b.clock.now + 15,
      status: 'pending',
    });
    // Waiting is not a refusal: nothing goes to the refusal ledger.
    expect(await refusals()).toEqual([]);
  });

  it('issues one token on approval with fewer scopes: the person as sub, the agent as actor, recorded as a root', async () => {
    const id = await started();
    expect(await poll(id)).toEqual({ status: 400, body: pending });
    b.clock.now += 30;
    const decision = await approveRequest(b.store, id, { now: b.clock.now, scope: 'trips:read' });
    expect(decision).toMatchObject({
      ok: true,
      approval: { status: 'approved', approvedScope: 'trips:read', decidedBy: 'alice' },
    });
    b.clock.now += 5;
    const res = await poll(id);
    expect(res).toEqual({
      status: 200,
      body: {
        access_token: expect.any(String),
        token_type: 'Bearer',
        expires_in: 300,
        scope: 'trips:read',
      },
    });
    const claims = claimsOf(res.body.access_token);
    expect(claims).toEqual({
      iss: ISSUER,
      sub: 'alice',
      act: { sub: 'planner' },
      aud: API,
      client_id: 'planner',
      scope: 'trips:read',
      iat: b.clock.now,
      exp: b.clock.now + 300,
      jti: expect.any(String),
    });
    expect(await b.store.getToken(claims.jti!)).toEqual({
      jti: claims.jti,
      parentJti: null,
      sub: 'alice',
      act: { sub: 'planner' },
      clientId: 'planner',
      grantType: CIBA,
      scope: 'trips:read',
      aud: [API],
      iat: b.clock.now,
      exp: b.clock.now + 300,
      revokedAt: null,
      revokedVia: null,
      rootJti: claims.jti,
      hop: 0,
    });
    expect(await b.store.getApproval(id)).toMatchObject({
      status: 'issued',
      approvedScope: 'trips:read',
      decidedBy: 'alice',
      decidedAt: b.clock.now - 5,
      issuedJti: claims.jti,
    });
    expect(await poll(id)).toEqual({ status: 400, body: alreadyIssued });
  });

  it('gives exactly one token to polls racing for one approval', async () => {
    const id = await started();
    await approveRequest(b.store, id, { now: b.clock.now });
    const results = await Promise.all([poll(id), poll(id), poll(id)]);
    expect(results.map((r) => r.status).sort()).toEqual([200, 400, 400]);
    expect(results.filter((r) => r.status === 400).map((r) => r.body)).toEqual([
      alreadyIssued,
      alreadyIssued,
    ]);
    const tokens = await b.store.listTokens({ clientId: 'planner', limit: 10 });
    expect(tokens.map((t) => t.grantType)).toEqual([CIBA]);
    expect((await b.store.getApproval(id))?.issuedJti).toBe(tokens[0]!.jti);
  });

  it('starts a chain the agent can hand on, rooted at the approved token', async () => {
    const id = await started({ ...REQUEST, audience: 'agent:booker', scope: 'flights:book' });
    await approveRequest(b.store, id, { now: b.clock.now });
    const approved = await poll(id);
    expect(claimsOf(approved.body.access_token)).toMatchObject({
      sub: 'alice',
      act: { sub: 'planner' },
      aud: 'agent:booker',
    });
    const handed = await b.exchange('booker', {
      subject_token: approved.body.access_token as string,
      subject_token_type: AT,
      audience: API,
    });
    expect(handed.status).toBe(200);
    const child = claimsOf(handed.body.access_token);
    expect(child).toMatchObject({
      sub: 'alice',
      act: { sub: 'booker', act: { sub: 'planner' } },
      scope: 'flights:book',
    });
    const chain = await b.store.chain(child.jti!);
    expect(chain.map((t) => [t.grantType, t.clientId])).toEqual([
      [CIBA, 'planner'],
      [TE, 'booker'],
    ]);
  });

  it('answers access_denied once the person denies, and records the refusal', async () => {
    const id = await started();
    expect(await denyRequest(b.store, id, { now: b.clock.now, by: 'alice' })).toMatchObject({
      ok: true,
      approval: { status: 'denied' },
    });
    expect(await poll(id)).toEqual({
      status: 400,
      body: { error: 'access_denied', error_description: 'the user denied the request' },
    });
    expect(await refusals()).toEqual([
      {
        client_id: 'planner',
        grant_type: CIBA,
        error: 'access_denied',
        error_description: 'the user denied the request',
      },
    ]);
  });

  it('answers expired_token once the request expires, and then accepts no decision', async () => {
    const id = await started({ ...REQUEST, requested_expiry: '60' });
    b.clock.now += 60;
    expect(await poll(id)).toEqual({
      status: 400,
      body: { error: 'expired_token', error_description: 'the approval request has expired' },
    });
    expect(await approveRequest(b.store, id, { now: b.clock.now })).toEqual({
      ok: false,
      problem: 'expired',
      message: `Approval request ${id} has expired.`,
    });
    expect(await b.store.listPendingApprovals(b.clock.now)).toEqual([]);
  });

  it('answers expired_token for a request approved too late to collect', async () => {
    const id = await started({ ...REQUEST, requested_expiry: '60' });
    await approveRequest(b.store, id, { now: b.clock.now + 59 });
    b.clock.now += 60;
    expect((await poll(id)).body).toEqual({
      error: 'expired_token',
      error_description: 'the approval request has expired',
    });
  });

  it('answers invalid_grant for another client’s auth_req_id or an unknown one', async () => {
    const id = await started();
    await approveRequest(b.store, id, { now: b.clock.now });
    expect(await poll(id, 'booker')).toEqual({ status: 400, body: unknownId });
    expect(await poll('no-such-request', 'planner')).toEqual({ status: 400, body: unknownId });
    // The owner still gets its token.
    expect((await poll(id)).status).toBe(200);
  });

  it('refuses a poll without auth_req_id, or by a client without the grant', async () => {
    expect(await answer(await b.post('/token', { grant_type: CIBA }, 'planner'))).toEqual({
      status: 400,
      body: { error: 'invalid_request', error_description: 'auth_req_id is required' },
    });
    expect(await poll('anything', 'narrow')).toEqual({
      status: 400,
      body: { error: 'unauthorized_client', error_description: `narrow may not use ${CIBA}` },
    });
  });
});

describe('issuing an approval as one step: the claim and the ledger row commit together', () => {
  /** Alice's approved request, and a CIBA token row for it (`over` changes fields). */
  async function approvedWithRow(over: Partial<TokenRecord> = {}) {
    const id = await started();
    await approveRequest(b.store, id, { now: b.clock.now });
    const row: TokenRecord = {
      jti: randomUUID(),
      parentJti: null,
      sub: 'alice',
      act: { sub: 'planner' },
      clientId: 'planner',
      grantType: CIBA,
      scope: 'trips:read trips:book',
      aud: [API],
      iat: b.clock.now,
      exp: b.clock.now + 300,
      ...over,
    };
    return { id, row };
  }

  it('leaves the request approved, with no token, when its row is too large to record; the next poll collects', async () => {
    const { id, row } = await approvedWithRow({ sub: 's'.repeat(FIELD_CAPS.sub + 1) });
    await expect(b.store.issueForApproval(id, row)).rejects.toEqual(
      new LedgerFieldTooLargeError('sub'),
    );
    expect(await b.store.getApproval(id)).toMatchObject({ status: 'approved', issuedJti: null });
    expect(await b.store.getToken(row.jti)).toBeUndefined();
    const res = await poll(id);
    expect(res.status).toBe(200);
    const jti = claimsOf(res.body.access_token).jti!;
    expect(await b.store.getApproval(id)).toMatchObject({ status: 'issued', issuedJti: jti });
    expect(await b.store.getToken(jti)).toMatchObject({ grantType: CIBA, rootJti: jti });
  });

  it('rolls the claim back when the database refuses the row itself (a jti already in the ledger)', async () => {
    const taken = randomUUID();
    const { id, row } = await approvedWithRow({ jti: taken });
    await b.store.recordIssued({ ...row, grantType: TE, clientId: 'booker' });
    await expect(b.store.issueForApproval(id, row)).rejects.toThrow();
    expect(await b.store.getApproval(id)).toMatchObject({ status: 'approved', issuedJti: null });
    expect(await b.store.getToken(taken)).toMatchObject({ clientId: 'booker', grantType: TE });
    expect(await b.store.issueForApproval(id, { ...row, jti: randomUUID() })).toBe(true);
  });

  it('records nothing for a request that is not approved', async () => {
    const { id, row } = await approvedWithRow();
    expect(await b.store.issueForApproval(id, row)).toBe(true);
    const second = { ...row, jti: randomUUID() };
    expect(await b.store.issueForApproval(id, second)).toBe(false);
    expect(await b.store.getToken(second.jti)).toBeUndefined();
    const pendingId = await started();
    expect(await b.store.issueForApproval(pendingId, { ...row, jti: randomUUID() })).toBe(false);
    expect(await b.store.getApproval(pendingId)).toMatchObject({ status: 'pending' });
    expect(await b.store.issueForApproval('no-such-request', { ...row, jti: randomUUID() })).toBe(
      false,
    );
    expect((await b.store.listTokens({ limit: 10 })).map((t) => t.jti)).toEqual([row.jti]);
  });
});

describe('deciding', () => {
  it('refuses an approved scope that is not a non-empty subset of the request', async () => {
    const id = await started();
    expect(
      await approveRequest(b.store, id, { now: b.clock.now, scope: 'trips:read flights:book' }),
    ).toEqual({
      ok: false,
      problem: 'scope',
      message:
        'The approved scope must be a non-empty subset of the requested scope (trips:read trips:book); flights:book was not asked for.',
    });
    expect(await approveRequest(b.store, id, { now: b.clock.now, scope: ' ' })).toEqual({
      ok: false,
      problem: 'scope',
      message:
        'The approved scope must be a non-empty subset of the requested scope (trips:read trips:book); it is empty.',
    });
    expect((await b.store.getApproval(id))?.status).toBe('pending');
  });

  it('decides a request once: a second decision changes nothing', async () => {
    const id = await started();
    expect((await denyRequest(b.store, id, { now: b.clock.now })).ok).toBe(true);
    expect(await approveRequest(b.store, id, { now: b.clock.now })).toEqual({
      ok: false,
      problem: 'decided',
      message: `Approval request ${id} was already denied.`,
    });
    expect(await b.store.decideApproval(id, 'approved', 'trips:read', 'alice', b.clock.now)).toBe(
      false,
    );
    expect((await b.store.getApproval(id))?.status).toBe('denied');
  });

  it('lists pending, unexpired requests newest first, for one user when asked', async () => {
    const first = await started();
    b.clock.now += 1;
    const second = await started({ ...REQUEST, login_hint: 'bob' });
    b.clock.now += 1;
    const decided = await started();
    await denyRequest(b.store, decided, { now: b.clock.now });
    expect((await b.store.listPendingApprovals(b.clock.now)).map((a) => a.authReqId)).toEqual([
      second,
      first,
    ]);
    expect(
      (await b.store.listPendingApprovals(b.clock.now, 'alice')).map((a) => a.authReqId),
    ).toEqual([first]);
  });
});

describe('a restart', () => {
  it('keeps a pending request, which can then be approved and collected', async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'baton-ciba-restart-'));
    try {
      const before = await makeBroker({ policy: withApprovals, dir });
      const res = await answer(await before.post('/bc-authorize', REQUEST, 'planner'));
      const id = res.body.auth_req_id as string;
      await before.close();

      const after = await makeBroker({ policy: withApprovals, dir });
      try {
        after.clock.now = before.clock.now + 30;
        expect(
          (await after.store.listPendingApprovals(after.clock.now)).map((a) => a.authReqId),
        ).toEqual([id]);
        expect((await approveRequest(after.store, id, { now: after.clock.now })).ok).toBe(true);
        const polled = await answer(
          await after.post('/token', { grant_type: CIBA, auth_req_id: id }, 'planner'),
        );
        expect(polled.status).toBe(200);
        expect(claimsOf(polled.body.access_token)).toMatchObject({
          sub: 'alice',
          act: { sub: 'planner' },
          scope: 'trips:read trips:book',
        });
      } finally {
        await after.close();
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('CIBA in the audit trail', () => {
  it("shows who approved a chain's root, and what was asked and granted, from any token in the chain", async () => {
    const id = await started({ ...REQUEST, audience: 'agent:booker' });
    b.clock.now += 10;
    await approveRequest(b.store, id, { now: b.clock.now, scope: 'trips:read' });
    const root = (await poll(id)).body.access_token as string;
    const handoff = await b.exchange('booker', { subject_token: root, audience: API });
    expect(handoff.status).toBe(200);
    const res = await b.app.request(`/audit/tokens/${claimsOf(handoff.body.access_token).jti}`, {
      headers: { authorization: `Bearer ${ADMIN_TOKEN}` },
    });
    const report = (await res.json()) as { approval: unknown; chain: Array<{ jti: string }> };
    expect(report.chain.map((t) => t.jti)).toEqual([
      claimsOf(root).jti,
      claimsOf(handoff.body.access_token).jti,
    ]);
    expect(report.approval).toEqual({
      jti: claimsOf(root).jti,
      client_id: 'planner',
      user: 'alice',
      requested_scope: 'trips:read trips:book',
      approved_scope: 'trips:read',
      aud: ['agent:booker'],
      reason: 'Book the Lisbon trip you asked for',
      requested_at: b.clock.now - 10,
      decided_at: b.clock.now,
      decided_by: 'alice',
    });
  });
});

describe('usernames in any letter case (issue 10 point 7)', () => {
  it("records a login_hint of 'Alice' as the policy's alice, lists it for alice, and issues to alice", async () => {
    const id = await started({ ...REQUEST, login_hint: 'Alice' });
    expect(await b.store.getApproval(id)).toMatchObject({ username: 'alice' });
    expect(
      (await b.store.listPendingApprovals(b.clock.now, 'ALICE')).map((a) => a.authReqId),
    ).toEqual([id]);
    const users = b.deps.policy.users;
    expect(
      await approveRequest(b.store, id, { now: b.clock.now, users, by: 'ALICE' }),
    ).toMatchObject({
      ok: true,
      approval: { status: 'approved', decidedBy: 'alice' },
    });
    b.clock.now += 5;
    const res = await poll(id);
    expect(res.status).toBe(200);
    expect(claimsOf(res.body.access_token)).toMatchObject({
      sub: 'alice',
      act: { sub: 'planner' },
    });
  });

  it('issues to the policy spelling for a row stored in another case before names were normalised', async () => {
    const id = newAuthReqId();
    await b.store.createApproval({
      authReqId: id,
      clientId: 'planner',
      username: 'ALICE',
      scope: 'trips:read',
      aud: [API],
      bindingMessage: null,
      createdAt: b.clock.now,
      expiresAt: b.clock.now + 300,
      interval: 5,
    });
    expect(
      (await approveRequest(b.store, id, { now: b.clock.now, users: b.deps.policy.users })).ok,
    ).toBe(true);
    b.clock.now += 5;
    expect(claimsOf((await poll(id)).body.access_token)).toMatchObject({ sub: 'alice' });
  });

  it('decides only as a user of the policy, and never approves a request for a name the policy lacks', async () => {
    const users = b.deps.policy.users;
    const id = await started();
    expect(await approveRequest(b.store, id, { now: b.clock.now, users, by: 'mallory' })).toEqual({
      ok: false,
      problem: 'who',
      message: '"mallory" is not a user of the policy; --as must name one.',
    });
    const nobody = await started({ ...REQUEST, login_hint: 'mallory' });
    expect(await approveRequest(b.store, nobody, { now: b.clock.now, users, by: 'alice' })).toEqual(
      {
        ok: false,
        problem: 'nobody',
        message:
          `Approval request ${nobody} is for "mallory", who is not a user of the policy: ` +
          'it can never yield a token, so it cannot be approved (deny it, or let it expire).',
      },
    );
    expect(await denyRequest(b.store, nobody, { now: b.clock.now, users })).toMatchObject({
      ok: false,
      problem: 'who',
    });
    expect(
      await denyRequest(b.store, nobody, { now: b.clock.now, users, by: 'Bob' }),
    ).toMatchObject({
      ok: true,
      approval: { status: 'denied', decidedBy: 'bob' },
    });
  });
});

describe('an agent cancelling its request (issue 10 point 7)', () => {
  const revoke = (token: string, client = 'planner') => b.post('/revoke', { token }, client);

  it('takes the auth_req_id at /revoke: off the pending list, no late decision, the poll says expired_token', async () => {
    const id = await started();
    // Another client cannot cancel it; the answer is the same 200 either way.
    expect((await revoke(id, 'booker')).status).toBe(200);
    expect((await b.store.getApproval(id))?.status).toBe('pending');
    expect((await revoke(id)).status).toBe(200);
    expect(await b.store.getApproval(id)).toMatchObject({
      status: 'cancelled',
      decidedAt: b.clock.now,
    });
    expect(await b.store.listPendingApprovals(b.clock.now)).toEqual([]);
    expect(
      await approveRequest(b.store, id, { now: b.clock.now, users: b.deps.policy.users }),
    ).toEqual({
      ok: false,
      problem: 'cancelled',
      message: `Approval request ${id} was cancelled: the agent stopped waiting for an answer.`,
    });
    expect(await b.store.decideApproval(id, 'approved', null, 'alice', b.clock.now)).toBe(false);
    expect(await poll(id)).toEqual({
      status: 400,
      body: {
        error: 'expired_token',
        error_description: 'the request was cancelled: make a new one',
      },
    });
  });

  it('cancels nothing once decided', async () => {
    const id = await started();
    await denyRequest(b.store, id, { now: b.clock.now });
    expect((await revoke(id)).status).toBe(200);
    expect((await b.store.getApproval(id))?.status).toBe('denied');
  });
});
