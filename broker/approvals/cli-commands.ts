/**
 * `npx baton approvals | approve | deny`: pending CIBA requests from a terminal, for
 * machines without a browser (SPEC §6). They open the broker's database themselves
 * (`cli/ledger.ts`: the SQLite file at `BATON_DB`, or the PostgreSQL server at
 * `BATON_DATABASE_URL`), as `npx baton audit` does, so they work while brokers run or not.
 *
 * Nearly everything shown was written by an agent (its id aside: the user it names, the
 * scope, audience and reason it asked for). The backchannel endpoint checks them, but a
 * row may predate a check or reach the database another way, so every such string is
 * rendered through `forTerminal`: an escape sequence, bidi override or zero-width
 * character shows as `<U+XXXX>` and can never rewrite what the person approves.
 *
 * Decisions are made as a user of the policy (found as the broker finds it: BATON_POLICY,
 * else the demo policy): `--as` must name one, defaulting to the requested user, and a
 * request for a name the policy lacks is shown as such and cannot be approved, so the
 * CLI never says "Approved" for a request that will not yield a token.
 * @module
 */
import { parseArgs } from 'node:util';
import { demoPolicy } from '../config/demo-policy.js';
import { parseEnv, type BrokerEnv } from '../config/env.js';
import { ConfigError } from '../config/format-issues.js';
import { loadPolicyFile, parsePolicy } from '../config/policy.js';
import { openExistingStore } from '../cli/ledger.js';
import type { ApprovalRecord, Store } from '../store/store.js';
import { forTerminal } from '../text/show.js';
import { approveRequest, denyRequest, type Decision } from './decide.js';
import { policyUsername } from './policy-user.js';

/** The policy's users, found as the broker finds its policy (BATON_POLICY, else the demo). */
async function policyUsers(env: BrokerEnv): Promise<ReadonlyMap<string, string>> {
  if (env.policyFile !== undefined) return loadPolicyFile(env.policyFile, env.issuer).users;
  return parsePolicy(await demoPolicy(env.issuer, env.dbFile), env.issuer).users;
}

const nowSeconds = (): number => Math.floor(Date.now() / 1000);

/** "4m 05s", "42s". */
export function timeLeft(seconds: number): string {
  if (seconds < 60) return `${seconds}s`;
  return `${Math.floor(seconds / 60)}m ${String(seconds % 60).padStart(2, '0')}s`;
}

/**
 * The pending requests as a person reads them, newest first. Given the policy's users, a
 * request for a name the policy lacks says so: it can never be approved (decide.ts).
 */
export function renderPending(
  approvals: readonly ApprovalRecord[],
  now: number,
  users?: ReadonlyMap<string, unknown>,
): string {
  if (approvals.length === 0) return 'No pending approval requests.';
  const lines = [
    `${approvals.length} pending approval request${approvals.length === 1 ? '' : 's'}, newest first:`,
  ];
  for (const a of approvals) {
    lines.push(
      '',
      forTerminal(a.authReqId, 200),
      `  agent     ${forTerminal(a.clientId, 200)}`,
      `  user      ${forTerminal(a.username, 200)}` +
        (users === undefined || policyUsername(users, a.username) !== undefined
          ? ''
          : '  (not a user of the policy: this request can never yield a token)'),
      `  scope     ${forTerminal(a.scope)}`,
      `  audience  ${a.aud.map((x) => forTerminal(x, 600)).join(' ')}`,
      `  reason    ${a.bindingMessage === null ? '(none given)' : forTerminal(a.bindingMessage, 200)}`,
      `  expires   in ${timeLeft(a.expiresAt - now)}`,
    );
  }
  lines.push(
    '',
    'Approve with: npx baton approve <id> [--scope "a b"]   Deny with: npx baton deny <id>',
  );
  return lines.join('\n');
}

async function withStore<T>(
  use: (store: Store, users: ReadonlyMap<string, string>) => Promise<T>,
): Promise<T> {
  const env = parseEnv();
  // The ledger first: a missing one is the error to show, before any policy is read.
  const store = await openExistingStore(env);
  try {
    return await use(store, await policyUsers(env));
  } finally {
    await store.close();
  }
}

/** Prints the outcome on one line; the line quotes stored, agent-written text, so it is made inert. */
function report(decision: Decision, success: (a: ApprovalRecord) => string): number {
  if (!decision.ok) {
    process.stderr.write(`${forTerminal(decision.message, 4000)}\n`);
    return 1;
  }
  process.stdout.write(`${forTerminal(success(decision.approval), 4000)}\n`);
  return 0;
}

export async function listApprovals(args: string[]): Promise<number> {
  const { values } = parseArgs({ args, options: { user: { type: 'string' } } });
  const now = nowSeconds();
  const [pending, users] = await withStore(
    async (store, users) => [await store.listPendingApprovals(now, values.user), users] as const,
  );
  process.stdout.write(`${renderPending(pending, now, users)}\n`);
  return 0;
}

export async function approve(args: string[]): Promise<number> {
  const { positionals, values } = parseArgs({
    args,
    allowPositionals: true,
    options: { scope: { type: 'string' }, as: { type: 'string' } },
  });
  const id = positionals[0];
  if (id === undefined)
    throw new ConfigError(
      'approve needs an id: npx baton approve <auth_req_id> [--scope "a b"] [--as <username>]',
    );
  const decision = await withStore((store, users) =>
    approveRequest(store, id, { now: nowSeconds(), scope: values.scope, by: values.as, users }),
  );
  return report(
    decision,
    (a) =>
      `Approved ${a.authReqId}: ${a.clientId} may act for ${a.username} with scope "${a.approvedScope}" ` +
      `for ${a.aud.join(' ')} (approved by ${a.decidedBy}). The agent receives its token at its next poll.`,
  );
}

export async function deny(args: string[]): Promise<number> {
  const { positionals, values } = parseArgs({
    args,
    allowPositionals: true,
    options: { as: { type: 'string' } },
  });
  const id = positionals[0];
  if (id === undefined) throw new ConfigError('deny needs an id: npx baton deny <auth_req_id>');
  const decision = await withStore((store, users) =>
    denyRequest(store, id, { now: nowSeconds(), by: values.as, users }),
  );
  return report(
    decision,
    (a) =>
      `Denied ${a.authReqId}: ${a.clientId} may not act for ${a.username} (denied by ${a.decidedBy}).`,
  );
}
