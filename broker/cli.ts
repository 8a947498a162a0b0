/**
 * `npx baton <command>`: the operator's tools.
 *   start                     run the broker (same as npm start)
 *   init [file]               a starter policy: one person, one agent, an IdP to fill in
 *   new-client <id> [...]     a fresh secret or key pair, and the policy entry (checked by parsePolicy)
 *   hash-password             a scrypt hash for a user's password (read from stdin)
 *   audit <jti> [--json]      the delegation tree around a token, from the ledger
 *   approvals                 pending CIBA approval requests (OpenID CIBA, poll mode)
 *   approve <id> / deny <id>  a person's answer to one, from a terminal
 *   demo-token <username>     a person's token from the demo identity provider
 * @module
 */
import { parseArgs } from 'node:util';
import { approve, deny, listApprovals } from './approvals/cli-commands.js';
import { INIT_USAGE, init } from './cli/init.js';
import { ledgerName, openExistingStore } from './cli/ledger.js';
import { NEW_CLIENT_USAGE, newClient } from './cli/new-client.js';
import { renderAuditTree } from './audit-tree.js';
import { mintDemoUserToken } from './config/demo-policy.js';
import { parseEnv } from './config/env.js';
import { ConfigError } from './config/format-issues.js';
import { hashPassword } from './config/password.js';
import { auditReport } from './services/audit-report.js';
import { forTerminal } from './text/show.js';

const USAGE = `Usage: baton <command>
  start                                  run the broker (same as npm start)
  ${INIT_USAGE}
                                         write a starter policy (default ./baton-policy.json):
                                         one person, one agent, an identity provider to fill in
  ${NEW_CLIENT_USAGE}
                                         print a fresh secret (or, for private_key_jwt, a key pair)
                                         and the policy entry, checked against BATON_POLICY
  hash-password                          read a password from stdin, print its scrypt hash
  audit <jti> [--json]                   print the delegation tree around a token (reads BATON_DB)
  approvals [--user U]                   list pending approval requests, newest first (reads BATON_DB)
  approve <auth_req_id> [--scope "a b"] [--as NAME]
                                         approve a pending request, optionally with fewer scopes;
                                         --as records who approved (default: the requested user)
  deny <auth_req_id> [--as NAME]         deny a pending request
  demo-token <username> [--scope "a b"]  a person's token from the demo identity provider
  export --since <date|unix> [--until <date|unix>]
                                         the ledger's tokens and refusals as JSON Lines (reads BATON_DB)
  prune                                  delete what the policy's retention lets go, now (BATON_DB)
  rotate-key                             add a new signing key; running brokers pick it up (BATON_DB)
  help                                   this text
Environment: as for the broker. BATON_DB (relative to the folder you run in) must exist: only
the broker creates a ledger. BATON_POLICY, when set, is the file new-client checks against.`;

async function readStdin(): Promise<string> {
  if (process.stdin.isTTY) {
    process.stderr.write('Password (input is not hidden; pipe it in to keep it off screen): ');
  }
  const chunks: Buffer[] = [];
  for await (const chunk of process.stdin) {
    chunks.push(chunk as Buffer);
    if (process.stdin.isTTY && chunk.includes(10)) break;
  }
  return Buffer.concat(chunks)
    .toString('utf8')
    .replace(/\r?\n$/, '');
}

async function audit(args: string[]): Promise<number> {
  const { positionals, values } = parseArgs({
    args,
    allowPositionals: true,
    options: { json: { type: 'boolean', default: false } },
  });
  const jti = positionals[0];
  if (jti === undefined) throw new ConfigError('audit needs a jti: npx baton audit <jti>');
  const env = parseEnv();
  const store = await openExistingStore(env);
  try {
    const report = await auditReport({ store }, jti);
    if (report === undefined) {
      process.stderr.write(
        `No token ${forTerminal(jti, 200)} in the ledger at ${forTerminal(ledgerName(env))}\n`,
      );
      return 1;
    }
    process.stdout.write(
      values.json
        ? `${JSON.stringify(report, null, 2)}\n`
        : `${renderAuditTree(report, Math.floor(Date.now() / 1000))}\n`,
    );
    return 0;
  } finally {
    await store.close();
  }
}

async function demoToken(args: string[]): Promise<void> {
  const { positionals, values } = parseArgs({
    args,
    allowPositionals: true,
    options: { scope: { type: 'string' } },
  });
  const username = positionals[0];
  if (username === undefined)
    throw new ConfigError('demo-token needs a username: npx baton demo-token alice');
  const env = parseEnv();
  process.stdout.write(
    `${await mintDemoUserToken(env.dbFile, env.issuer, username, values.scope)}\n`,
  );
}

export async function runCli(argv: string[]): Promise<number> {
  const [command, ...rest] = argv;
  switch (command) {
    case 'start':
      await import('./main.js').then((m) => m.runMain());
      return -1;
    case 'init':
      return init(rest);
    case 'new-client':
      return newClient(rest);
    case 'hash-password': {
      const password = await readStdin();
      if (password.length < 8) throw new ConfigError('the password must be at least 8 characters');
      process.stdout.write(`${await hashPassword(password)}\n`);
      return 0;
    }
    case 'audit':
      return audit(rest);
    case 'approvals':
      return listApprovals(rest);
    case 'approve':
      return approve(rest);
    case 'deny':
      return deny(rest);
    case 'demo-token':
      await demoToken(rest);
      return 0;
    case 'export':
      return import('./cli/export.js').then((m) => m.runExport(rest));
    case 'prune':
      return import('./cli/prune.js').then((m) => m.runPrune());
    case 'rotate-key':
      return import('./cli/rotate-key.js').then((m) => m.runRotateKey());
    case undefined:
    case 'help':
    case '--help':
    case '-h':
      process.stdout.write(`${USAGE}\n`);
      return command === undefined ? 1 : 0;
    default:
      process.stderr.write(`Unknown command "${command}".\n${USAGE}\n`);
      return 1;
  }
}

try {
  const code = await runCli(process.argv.slice(2));
  if (code >= 0) process.exitCode = code;
} catch (error) {
  process.stderr.write(
    `baton: ${error instanceof ConfigError || error instanceof TypeError ? error.message : String((error as Error).message)}\n`,
  );
  process.exitCode = 1;
}
