/**
 * `npx baton approvals | approve | deny` (SPEC §6 from a terminal) as a real process
 * against the database of a broker that holds pending requests, then the agent's poll
 * through that broker. The listing layout is checked exactly with a fixed `now` through
 * `renderPending`; the process output, which runs on the real clock, with the time left
 * masked.
 */
import { execFile } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { renderPending, timeLeft } from '../../broker/approvals/cli-commands.js';
import type { ApprovalRecord } from '../../broker/store/store.js';
import { hasHiddenCharacters } from '../../broker/text/show.js';
import {
  API,
  CIBA,
  claimsOf,
  ISSUER,
  makeBroker,
  testPolicy,
  withApprovals,
  type TestBroker,
} from '../helpers.js';

const ROOT = path.resolve(import.meta.dirname, '../..');

interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

function baton(db: string, ...args: string[]): Promise<Run> {
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      ['--import', 'tsx', 'broker/cli.ts', ...args],
      // The test broker's policy (users alice and bob), written next to its database.
      {
        cwd: ROOT,
        env: {
          ...process.env,
          BATON_DB: db,
          BATON_POLICY: path.join(path.dirname(db), 'policy.json'),
          BATON_ISSUER: ISSUER,
        },
      },
      // The `ledger: <file>` line every ledger command starts with is tested in operator-cli.test.ts.
      (error, stdout, stderr) =>
        resolve({
          code: error === null ? 0 : Number(error.code),
          stdout,
          stderr: stderr.replace(`ledger: ${path.resolve(db)}\n`, ''),
        }),
    );
  });
}

const maskTime = (s: string) => s.replace(/expires {3}in \d+m \d\ds/g, 'expires   in <left>');

describe('renderPending', () => {
  const T0 = 1_800_000_000;
  const approval = (id: string, extra: Partial<ApprovalRecord> = {}): ApprovalRecord => ({
    authReqId: id,
    clientId: 'planner',
    username: 'alice',
    scope: 'trips:read trips:book',
    aud: [API, 'agent:booker'],
    bindingMessage: 'Book the Lisbon trip',
    createdAt: T0,
    expiresAt: T0 + 300,
    interval: 5,
    nextPollAt: T0,
    status: 'pending',
    approvedScope: null,
    decidedAt: null,
    decidedBy: null,
    issuedJti: null,
    ...extra,
  });

  it('shows each request with agent, user, scope, audience, reason and time left', () => {
    expect(
      renderPending(
        [
          approval('req-2', { username: 'bob', bindingMessage: null, expiresAt: T0 + 42 }),
          approval('req-1'),
        ],
        T0 + 5,
      ),
    ).toBe(
      [
        '2 pending approval requests, newest first:',
        '',
        'req-2',
        '  agent     planner',
        '  user      bob',
        '  scope     trips:read trips:book',
        `  audience  ${API} agent:booker`,
        '  reason    (none given)',
        '  expires   in 37s',
        '',
        'req-1',
        '  agent     planner',
        '  user      alice',
        '  scope     trips:read trips:book',
        `  audience  ${API} agent:booker`,
        '  reason    Book the Lisbon trip',
        '  expires   in 4m 55s',
        '',
        'Approve with: npx baton approve <id> [--scope "a b"]   Deny with: npx baton deny <id>',
      ].join('\n'),
    );
    expect(renderPending([], T0)).toBe('No pending approval requests.');
    expect([timeLeft(0), timeLeft(59), timeLeft(60), timeLeft(605)]).toEqual([
      '0s',
      '59s',
      '1m 00s',
      '10m 05s',
    ]);
  });
});

describe('npx baton approvals / approve / deny', () => {
  let b: TestBroker;
  let db: string;
  beforeEach(async () => {
    b = await makeBroker({ policy: withApprovals });
    db = path.join(b.dir, 'baton.db');
    writeFileSync(
      path.join(b.dir, 'policy.json'),
      JSON.stringify(withApprovals(testPolicy(b.idp.jwk))),
    );
    // The CLI runs on the real clock; so does this broker's until a test moves it.
    b.clock.now = Math.floor(Date.now() / 1000);
  });
  afterEach(async () => {
    await b.close();
  });

  async function request(form: Record<string, string>, client = 'planner'): Promise<string> {
    const res = await b.post(
      '/bc-authorize',
      { scope: 'trips:read trips:book', audience: API, ...form },
      client,
    );
    expect(res.status).toBe(200);
    return ((await res.json()) as { auth_req_id: string }).auth_req_id;
  }

  async function poll(id: string): Promise<{ status: number; body: Record<string, unknown> }> {
    const res = await b.post('/token', { grant_type: CIBA, auth_req_id: id }, 'planner');
    return { status: res.status, body: (await res.json()) as Record<string, unknown> };
  }

  it('lists pending requests newest first, and says so when there are none', async () => {
    expect(await baton(db, 'approvals')).toEqual({
      code: 0,
      stdout: 'No pending approval requests.\n',
      stderr: '',
    });
    const first = await request({ login_hint: 'alice', binding_message: 'Book the Lisbon trip' });
    b.clock.now += 1;
    const second = await request({ login_hint: 'bob', scope: 'flights:book' }, 'booker');
    const run = await baton(db, 'approvals');
    expect({ ...run, stdout: maskTime(run.stdout) }).toEqual({
      code: 0,
      stderr: '',
      stdout: [
        '2 pending approval requests, newest first:',
        '',
        second,
        '  agent     booker',
        '  user      bob',
        '  scope     flights:book',
        `  audience  ${API}`,
        '  reason    (none given)',
        '  expires   in <left>',
        '',
        first,
        '  agent     planner',
        '  user      alice',
        '  scope     trips:read trips:book',
        `  audience  ${API}`,
        '  reason    Book the Lisbon trip',
        '  expires   in <left>',
        '',
        'Approve with: npx baton approve <id> [--scope "a b"]   Deny with: npx baton deny <id>',
        '',
      ].join('\n'),
    });
    const alice = await baton(db, 'approvals', '--user', 'alice');
    expect(alice.stdout).toContain(first);
    expect(alice.stdout).not.toContain(second);
  });

  it('approves with fewer scopes, and the agent collects a token with exactly those', async () => {
    const id = await request({ login_hint: 'alice' });
    expect(await baton(db, 'approve', id, '--scope', 'trips:book flights:book')).toEqual({
      code: 1,
      stdout: '',
      stderr:
        'The approved scope must be a non-empty subset of the requested scope (trips:read trips:book); flights:book was not asked for.\n',
    });
    expect(await baton(db, 'approve', id, '--scope', 'trips:read')).toEqual({
      code: 0,
      stdout: `Approved ${id}: planner may act for alice with scope "trips:read" for ${API} (approved by alice). The agent receives its token at its next poll.\n`,
      stderr: '',
    });
    const res = await poll(id);
    expect(res.status).toBe(200);
    expect(claimsOf(res.body.access_token)).toMatchObject({
      sub: 'alice',
      act: { sub: 'planner' },
      scope: 'trips:read',
      aud: API,
    });
    expect(await baton(db, 'approve', id)).toEqual({
      code: 1,
      stdout: '',
      stderr: `Approval request ${id} was already issued.\n`,
    });
  });

  it('denies, recording who did', async () => {
    const id = await request({ login_hint: 'alice' });
    expect(await baton(db, 'deny', id, '--as', 'Bob')).toEqual({
      code: 0,
      stdout: `Denied ${id}: planner may not act for alice (denied by bob).\n`,
      stderr: '',
    });
    expect(await poll(id)).toEqual({
      status: 400,
      body: { error: 'access_denied', error_description: 'the user denied the request' },
    });
    expect(await b.store.getApproval(id)).toMatchObject({ status: 'denied', decidedBy: 'bob' });
  });

  it('shows hostile stored rows inert: escapes, bidi and zero-width characters cannot rewrite what the person approves', async () => {
    // The attack of issue 9 point 5: a second request whose text, printed raw, clears the
    // screen and redraws the first request as asking for less. Written straight into the
    // database through the Store (which checks sizes only), as a row from before
    // validation (or from another writer) would be.
    const honest = await request({ login_hint: 'alice' });
    const now = Math.floor(Date.now() / 1000);
    const ESC = '\u001b';
    expect(
      await b.store.createApproval({
        authReqId: `evil${ESC}[2J`,
        clientId: `planner${ESC}[1A`,
        username: `bob${ESC}[2J${ESC}[H${honest}\n  agent     planner\n  user      alice\n  scope     trips:read`,
        scope: `trips:book\u202E daer:spirt`,
        aud: [`${API}\u200B`, `agent:booker${ESC}]0;title\u0007`],
        bindingMessage: `fine\u2028${ESC}[31mApproved by admin\u2066`,
        createdAt: now + 1,
        expiresAt: now + 300,
        interval: 5,
      }),
    ).toBe(true);
    const run = await baton(db, 'approvals');
    expect(run.code).toBe(0);
    // Nothing that acts on a terminal or reorders text reaches it.
    expect(run.stdout.split('\n').filter(hasHiddenCharacters)).toEqual([]);
    const block = maskTime(run.stdout).split('\n\n')[1];
    expect(block).toBe(
      [
        'evil<U+001B>[2J',
        '  agent     planner<U+001B>[1A',
        `  user      bob<U+001B>[2J<U+001B>[H${honest}<U+000A>  agent     planner<U+000A>  user      alice<U+000A>  scope     trips:read` +
          '  (not a user of the policy: this request can never yield a token)',
        '  scope     trips:book<U+202E> daer:spirt',
        `  audience  ${API}<U+200B> agent:booker<U+001B>]0;title<U+0007>`,
        '  reason    fine<U+2028><U+001B>[31mApproved by admin<U+2066>',
        '  expires   in <left>',
      ].join('\n'),
    );
    // The honest request is still shown, once, on its own.
    expect(run.stdout.split('\n').filter((l) => l === honest)).toHaveLength(1);
  });

  it('exits 1 with a message for an unknown or expired id, or none at all', async () => {
    b.clock.now -= 1000;
    const expired = await request({ login_hint: 'alice' });
    expect(await baton(db, 'approve', 'no-such-id')).toEqual({
      code: 1,
      stdout: '',
      stderr: 'No approval request no-such-id.\n',
    });
    expect(await baton(db, 'deny', expired)).toEqual({
      code: 1,
      stdout: '',
      stderr: `Approval request ${expired} has expired.\n`,
    });
    const none = await baton(db, 'approve');
    expect(none).toEqual({
      code: 1,
      stdout: '',
      stderr:
        'baton: approve needs an id: npx baton approve <auth_req_id> [--scope "a b"] [--as <username>]\n',
    });
  });
  it('decides only as a user of the policy: --as anyone else is refused, and nothing changes', async () => {
    const id = await request({ login_hint: 'alice' });
    expect(await baton(db, 'approve', id, '--as', 'mallory')).toEqual({
      code: 1,
      stdout: '',
      stderr: '"mallory" is not a user of the policy; --as must name one.\n',
    });
    expect(await baton(db, 'deny', id, '--as', 'ops')).toEqual({
      code: 1,
      stdout: '',
      stderr: '"ops" is not a user of the policy; --as must name one.\n',
    });
    expect((await b.store.getApproval(id))?.status).toBe('pending');
  });

  it("never says Approved for a request the policy's users cannot answer, and shows why in the list", async () => {
    const nobody = await request({ login_hint: 'mallory' });
    const list = await baton(db, 'approvals');
    expect(list.stdout).toContain(
      '  user      mallory  (not a user of the policy: this request can never yield a token)\n',
    );
    expect(await baton(db, 'approve', nobody, '--as', 'alice')).toEqual({
      code: 1,
      stdout: '',
      stderr:
        `Approval request ${nobody} is for "mallory", who is not a user of the policy: ` +
        'it can never yield a token, so it cannot be approved (deny it, or let it expire).\n',
    });
    expect(await baton(db, 'deny', nobody)).toEqual({
      code: 1,
      stdout: '',
      stderr: 'Say who decides: --as <username>, a user of the policy.\n',
    });
  });

  it("takes a login_hint of 'Alice' as alice: listed for alice, approved, and the agent gets its token", async () => {
    const id = await request({ login_hint: 'Alice' });
    const list = await baton(db, 'approvals', '--user', 'ALICE');
    expect(list.stdout).toContain(`${id}\n  agent     planner\n  user      alice\n`);
    expect(await baton(db, 'approve', id)).toEqual({
      code: 0,
      stdout: `Approved ${id}: planner may act for alice with scope "trips:read trips:book" for ${API} (approved by alice). The agent receives its token at its next poll.\n`,
      stderr: '',
    });
    const res = await poll(id);
    expect(res.status).toBe(200);
    expect(claimsOf(res.body.access_token)).toMatchObject({
      sub: 'alice',
      act: { sub: 'planner' },
    });
  });

  it('refuses a late approval of a request the agent cancelled, and no longer lists it', async () => {
    const id = await request({ login_hint: 'alice' });
    expect((await b.post('/revoke', { token: id }, 'planner')).status).toBe(200);
    expect(await baton(db, 'approvals')).toMatchObject({
      code: 0,
      stdout: 'No pending approval requests.\n',
    });
    expect(await baton(db, 'approve', id)).toEqual({
      code: 1,
      stdout: '',
      stderr: `Approval request ${id} was cancelled: the agent stopped waiting for an answer.\n`,
    });
  });
});
