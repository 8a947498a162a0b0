/**
 * `npx baton export` and `npx baton prune` as real processes against a real SQLite file
 * (issue 9, "the ledger only grows"): the export is JSON Lines, one record per token and
 * refusal with the chain links, filtered by time; prune removes an expired chain and
 * keeps a live one; `npx baton audit` prints a 12,001-token chain without overflowing.
 */
import { randomUUID } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { runBatonCli } from '../e2e/broker-process.js';
import {
  API,
  AT,
  TE,
  claimsOf,
  ledgerTokens,
  makeBroker,
  testPolicy,
  type TestBroker,
} from '../helpers.js';

const DAY = 86_400;

/** The CLI without the caller's BATON_POLICY (the demo policy's retention unless a test sets one). */
const baton = (args: string[], env: Record<string, string>) =>
  runBatonCli(args, { BATON_POLICY: '', ...env });

let b: TestBroker;
let db: string;
beforeEach(async () => {
  b = await makeBroker();
  db = path.join(b.dir, 'baton.db');
});
afterEach(async () => {
  await b.close();
});

/** alice → planner hands off to booker (t0) → booker gets an API token (t0+10); refused at t0+20. */
async function story() {
  const t0 = b.clock.now;
  const handoff = (
    await b.exchange('planner', {
      subject_token: await b.idp.sign({ sub: 'alice' }),
      audience: 'agent:booker',
    })
  ).body.access_token as string;
  b.clock.now = t0 + 10;
  const api = (await b.exchange('booker', { subject_token: handoff, audience: API })).body
    .access_token as string;
  b.clock.now = t0 + 20;
  const refused = await b.exchange('booker', {
    subject_token: handoff,
    audience: 'https://evil.example',
  });
  expect(refused.status).toBe(400);
  return { t0, handoff: claimsOf(handoff), api: claimsOf(api) };
}

describe('npx baton export', () => {
  it('writes one JSON line per token and refusal in the range, with the chain links', async () => {
    const s = await story();
    const { code, stdout, stderr } = await baton(['export', '--since', String(s.t0)], {
      BATON_DB: db,
    });
    expect(code).toBe(0);
    expect(stderr).toBe(
      `ledger: ${db}\nexported 2 token(s), 1 refusal(s) and 0 approval request(s)\n`,
    );
    const lines = stdout
      .trimEnd()
      .split('\n')
      .map((l) => JSON.parse(l) as Record<string, unknown>);
    const common = { sub: 'alice', grant_type: TE, revoked_at: null, revoked_via: null };
    expect(lines).toEqual([
      {
        type: 'token',
        jti: s.handoff.jti,
        parent_jti: null,
        root_jti: s.handoff.jti,
        hop: 0,
        act: { sub: 'planner' },
        client_id: 'planner',
        scope: s.handoff.scope,
        aud: ['agent:booker'],
        iat: s.t0,
        exp: s.handoff.exp,
        ...common,
      },
      {
        type: 'token',
        jti: s.api.jti,
        parent_jti: s.handoff.jti,
        root_jti: s.handoff.jti,
        hop: 1,
        act: { sub: 'booker', act: { sub: 'planner' } },
        client_id: 'booker',
        scope: s.api.scope,
        aud: [API],
        iat: s.t0 + 10,
        exp: s.api.exp,
        ...common,
      },
      {
        type: 'refusal',
        id: expect.any(Number),
        at: s.t0 + 20,
        client_id: 'booker',
        grant_type: TE,
        subject_jti: s.handoff.jti,
        error: 'invalid_target',
        reason: 'audience_not_allowed',
        error_description: expect.any(String),
        requested: {
          subject_token_type: AT,
          audience: ['https://evil.example'],
          actor_token: false,
        },
      },
    ]);
  });

  it('writes text that would act on a terminal as JSON escapes, and it parses back the same', async () => {
    const at = b.clock.now;
    const planted = 'clear \u001b[2J reversed \u202e done \u00e9';
    await b.store.recordRefusal({
      at,
      clientId: 'booker',
      grantType: TE,
      subjectJti: null,
      error: 'invalid_scope',
      reason: 'scope_widened',
      errorDescription: planted,
      requested: { scope: planted },
    });
    const { code, stdout } = await baton(['export', '--since', String(at)], { BATON_DB: db });
    expect(code).toBe(0);
    expect(stdout).toMatch(/^[\x20-\x7e\n]*$/);
    expect(stdout).toContain('clear \\u001b[2J reversed \\u202e done \\u00e9');
    expect(JSON.parse(stdout)).toMatchObject({
      type: 'refusal',
      error_description: planted,
      requested: { scope: planted },
    });
  });

  it('writes the approval requests too, so an archived chain keeps who approved it', async () => {
    const now = b.clock.now;
    const root = randomUUID();
    await b.store.createApproval({
      authReqId: 'req-1',
      clientId: 'planner',
      username: 'alice',
      scope: 'trips:read trips:book',
      aud: [API],
      bindingMessage: 'Plan the trip',
      createdAt: now,
      expiresAt: now + 300,
      interval: 5,
    });
    await b.store.decideApproval('req-1', 'approved', 'trips:read', 'alice', now + 5);
    // Its token was issued before --since: the export holds the approval alone.
    await b.store.issueForApproval('req-1', {
      jti: root,
      parentJti: null,
      sub: 'alice',
      act: { sub: 'planner' },
      clientId: 'planner',
      grantType: 'urn:openid:params:grant-type:ciba',
      scope: 'trips:read',
      aud: [API],
      iat: now - 10,
      exp: now + 290,
    });
    const { code, stdout, stderr } = await baton(['export', '--since', String(now)], {
      BATON_DB: db,
    });
    expect(code).toBe(0);
    expect(stderr).toBe(
      `ledger: ${db}\nexported 0 token(s), 0 refusal(s) and 1 approval request(s)\n`,
    );
    expect(JSON.parse(stdout)).toEqual({
      type: 'approval',
      auth_req_id: 'req-1',
      client_id: 'planner',
      user: 'alice',
      scope: 'trips:read trips:book',
      aud: [API],
      binding_message: 'Plan the trip',
      created_at: now,
      expires_at: now + 300,
      status: 'issued',
      approved_scope: 'trips:read',
      decided_at: now + 5,
      decided_by: 'alice',
      issued_jti: root,
    });
  });

  it('keeps to --since and --until, given as Unix seconds or ISO dates', async () => {
    const s = await story();
    const iso = (t: number) => new Date(t * 1000).toISOString();
    const { code, stdout } = await baton(
      ['export', '--since', iso(s.t0 + 5), '--until', String(s.t0 + 15)],
      { BATON_DB: db },
    );
    expect(code).toBe(0);
    expect(
      stdout
        .trimEnd()
        .split('\n')
        .map((l) => (JSON.parse(l) as { type: string; jti?: string }).jti),
    ).toEqual([s.api.jti]);
  });

  it('pages through more rows than one read returns', async () => {
    const t0 = b.clock.now;
    const ids = Array.from({ length: 2500 }, () => randomUUID());
    await Promise.all(
      ids.map((jti) =>
        b.store.recordIssued({
          jti,
          parentJti: null,
          sub: 'alice',
          act: null,
          clientId: 'planner',
          grantType: 'client_credentials',
          scope: 'trips:read',
          aud: [API],
          iat: t0,
          exp: t0 + 300,
        }),
      ),
    );
    const { code, stdout } = await baton(['export', '--since', String(t0)], { BATON_DB: db });
    expect(code).toBe(0);
    expect(
      stdout
        .trimEnd()
        .split('\n')
        .map((l) => (JSON.parse(l) as { jti: string }).jti),
    ).toEqual(ids.slice().sort());
  });

  it.each([
    [
      ['export'],
      'baton: export needs --since <ISO date or Unix seconds>: npx baton export --since 2026-01-01\n',
    ],
    [
      ['export', '--since', 'yesterday'],
      'baton: --since must be Unix seconds or an ISO 8601 date (2026-01-31 or 2026-01-31T12:00:00Z)\n',
    ],
    [
      ['export', '--since', '2000', '--until', '1000'],
      'baton: --until must be later than --since\n',
    ],
  ])('refuses %j with exit code 1', async (args, message) => {
    expect(await baton(args, { BATON_DB: db })).toEqual({ code: 1, stdout: '', stderr: message });
  });

  it('refuses a ledger that does not exist rather than creating one', async () => {
    const missing = path.join(b.dir, 'nope.db');
    const { code, stdout, stderr } = await baton(['export', '--since', '0'], { BATON_DB: missing });
    expect({ code, stdout }).toEqual({ code: 1, stdout: '' });
    expect(stderr).toMatch(/^baton: no ledger at /);
  });
});

describe('npx baton prune', () => {
  it("removes a chain that expired beyond the policy's retention and keeps the rest", async () => {
    const now = b.clock.now;
    const record = (jti: string, parentJti: string | null, iat: number) =>
      b.store.recordIssued({
        jti,
        parentJti,
        sub: 'alice',
        act: { sub: 'planner' },
        clientId: 'planner',
        grantType: TE,
        scope: 'trips:read',
        aud: [API],
        iat,
        exp: iat + 300,
      });
    const [oldRoot, oldChild, weekOld, live] = [
      randomUUID(),
      randomUUID(),
      randomUUID(),
      randomUUID(),
    ];
    await Promise.all([
      record(oldRoot, null, now - 40 * DAY),
      record(oldChild, oldRoot, now - 40 * DAY),
      record(weekOld, null, now - 7 * DAY),
      record(live, null, now),
    ]);
    const left = async () => (await ledgerTokens(b.store)).map((t) => t.jti).sort();

    // With the default (30 days), only the 40-day-old chain goes.
    const first = await baton(['prune'], { BATON_DB: db });
    expect(first).toEqual({
      code: 0,
      stdout:
        'pruned 2 row(s) of expired chains (tokens, their refusals and approvals), 0 old refusal(s), 0 expired approval request(s), 0 spent assertion jti(s), 0 row(s) of ended MCP client consents, old codes and idle registrations\n',
      stderr: `ledger: ${db}\n`,
    });
    expect(await left()).toEqual([weekOld, live].sort());

    // A policy that keeps tokens 5 days lets the week-old one go too; the live one stays.
    const policyFile = path.join(b.dir, 'policy.json');
    writeFileSync(
      policyFile,
      JSON.stringify({
        ...testPolicy({ kty: 'EC', crv: 'P-256', x: 'x', y: 'y' }),
        trusted_issuers: [],
        retention: { tokens_days: 5 },
      }),
    );
    const second = await baton(['prune'], { BATON_DB: db, BATON_POLICY: policyFile });
    expect(second.code).toBe(0);
    expect(second.stdout).toMatch(/^pruned 1 row\(s\) of expired chains/);
    expect(await left()).toEqual([live]);
  });
});

describe('npx baton audit of a 12,001-token chain', () => {
  it('prints the tree, root first, without overflowing the stack', async () => {
    const t0 = b.clock.now;
    const ids = Array.from({ length: 12_001 }, () => randomUUID());
    await Promise.all(
      ids.map((jti, i) =>
        b.store.recordIssued({
          jti,
          parentJti: i === 0 ? null : ids[i - 1]!,
          sub: 'alice',
          act: { sub: 'planner' },
          clientId: 'planner',
          grantType: TE,
          scope: 'trips:read',
          aud: [API],
          iat: t0,
          exp: t0 + 300,
        }),
      ),
    );
    const text = await baton(['audit', ids.at(-1)!], { BATON_DB: db });
    expect(text.code).toBe(0);
    expect(text.stdout).toContain(`jti ${ids[0]}`);
    expect(text.stdout).toContain(`jti ${ids.at(-1)}`);
    const json = await baton(['audit', ids.at(-1)!, '--json'], { BATON_DB: db });
    expect(json.code).toBe(0);
    const report = JSON.parse(json.stdout) as {
      chain_length: number;
      chain: Array<{ jti: string }>;
    };
    expect(report.chain_length).toBe(12_001);
    expect(report.chain.map((t) => t.jti)).toEqual([ids[0], ...ids.slice(-15)]);
  });
});
