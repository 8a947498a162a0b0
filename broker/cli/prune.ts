/**
 * `npx baton prune`: one retention pass now (`ledger/retention.ts`), with the policy's
 * `retention` section when `BATON_POLICY` names a policy file, else the defaults. Safe
 * while the broker runs: each batch is a short transaction of its own.
 * @module
 */
import { parseEnv } from '../config/env.js';
import { loadPolicyFile } from '../config/policy.js';
import { DEFAULT_RETENTION, pruneOnce } from '../ledger/retention.js';
import { openExistingStore } from './ledger.js';

export async function runPrune(): Promise<number> {
  const env = parseEnv();
  const retention =
    env.policyFile === undefined
      ? DEFAULT_RETENTION
      : loadPolicyFile(env.policyFile, env.issuer).retention;
  const store = await openExistingStore(env);
  try {
    const n = await pruneOnce(store, retention, Math.floor(Date.now() / 1000));
    process.stdout.write(
      `pruned ${n.chains} row(s) of expired chains (tokens, their refusals and approvals), ${n.refusals} old refusal(s), ` +
        `${n.approvals} expired approval request(s), ${n.assertionJtis} spent assertion jti(s), ` +
        `${n.mcpAuth} row(s) of ended MCP client consents, old codes and idle registrations\n`,
    );
    return 0;
  } finally {
    await store.close();
  }
}
