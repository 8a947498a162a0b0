/**
 * `npx baton rotate-key`: adds a new signing key to the ledger's database (SPEC §9). Safe
 * while brokers run: they share the database, re-read its keys every `refresh_seconds`,
 * publish the new key at once and sign with it once it is `use_after_seconds` old; the
 * key it replaces stays in the JWKS until every token it signed has expired
 * (`tokens/key-rules.ts`). The timing comes from `BATON_POLICY` when set, else the
 * defaults (which the demo policy uses too).
 * @module
 */
import { parseEnv } from '../config/env.js';
import { loadPolicyFile } from '../config/policy.js';
import { DEFAULT_KEY_RULES, leavesJwksAt, newestFirst } from '../tokens/key-rules.js';
import { createSigningKey } from '../tokens/signing-keys.js';
import { openExistingStore } from './ledger.js';

const iso = (unix: number) => new Date(unix * 1000).toISOString();

export async function runRotateKey(): Promise<number> {
  const env = parseEnv();
  const rules =
    env.policyFile === undefined
      ? DEFAULT_KEY_RULES
      : loadPolicyFile(env.policyFile, env.issuer).keys;
  const store = await openExistingStore(env);
  try {
    const previous = newestFirst(await store.signingKeys())[0];
    const now = Math.floor(Date.now() / 1000);
    const key = await createSigningKey(store, now);
    const lines = [
      `kid: ${key.kid}`,
      `signs from: ${iso(key.createdAt + rules.useAfterSeconds)} (brokers publish it within ${rules.refreshSeconds} s and sign with it once it is ${rules.useAfterSeconds} s old)`,
    ];
    if (previous !== undefined) {
      lines.push(
        `old key ${previous.kid} leaves the JWKS at: ${iso(leavesJwksAt(key.createdAt, rules))} (when the last token it can sign, for at most ${rules.maxTtlSeconds} s, has expired)`,
      );
    }
    process.stdout.write(`${lines.join('\n')}\n`);
    return 0;
  } finally {
    await store.close();
  }
}
