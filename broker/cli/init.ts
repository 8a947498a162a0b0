/**
 * `npx baton init [file]`: a starter policy for an operator's first hour (SPEC §2): one
 * person, one agent and an identity provider to fill in. JSON has no comments, so the
 * guidance sits in `"$comment"` keys, which the policy schema accepts and ignores.
 *
 * The person's password and the agent's secret are generated, shown once on stdout, and
 * only their hashes (scrypt; SHA-256 of a 256-bit secret) are written. The file is
 * checked with `parsePolicy` before it is written, so what init writes, the broker loads;
 * an existing file is never overwritten.
 * @module
 */
import { createHash, randomBytes } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { parseEnv } from '../config/env.js';
import { ConfigError } from '../config/format-issues.js';
import { hashPassword } from '../config/password.js';
import { parsePolicy, type PolicyFile } from '../config/policy.js';
import { GRANT_CIBA, GRANT_CLIENT_CREDENTIALS, GRANT_TOKEN_EXCHANGE } from '../tokens/claims.js';

export const INIT_USAGE = 'init [file] [--user NAME] [--agent CLIENT_ID]';
const DEFAULT_FILE = 'baton-policy.json';

/** The starter policy, with notes where the operator decides something. */
export function starterPolicy(o: {
  issuer: string;
  username: string;
  passwordHash: string;
  clientId: string;
  secretSha256: string;
}): PolicyFile {
  return {
    $comment: [
      'A Baton policy written by `npx baton init`. JSON has no comments, so notes live in "$comment" keys, which Baton ignores.',
      'The contract for every field: docs/SPEC.md section 2, and "The policy file" in the README.',
      'Run the broker on it from the Baton clone: BATON_POLICY=<this file> npm start',
    ],
    tokens: { default_ttl_seconds: 300, max_ttl_seconds: 3600 },
    max_delegation_depth: 4,
    trusted_issuers: [
      {
        $comment: [
          'FILL IN your identity provider: "issuer" is the iss of the tokens it gives people,',
          '"jwks_uri" its public key set (or "jwks" inline), "audience" the aud those tokens carry for Baton.',
          'Until then no person token can be exchanged (idp.example is a placeholder).',
        ],
        issuer: 'https://idp.example',
        jwks_uri: 'https://idp.example/.well-known/jwks.json',
        audience: o.issuer,
      },
    ],
    users: [
      {
        $comment:
          'A person who approves agents (CIBA login_hint, the console). New hash: npx baton hash-password',
        username: o.username,
        password_hash: o.passwordHash,
      },
    ],
    clients: [
      {
        $comment: [
          'An agent. Its secret was shown once by init; only the SHA-256 is kept. More agents: npx baton new-client <id>',
          'scopes: what it may ever hold; audiences: what it may ask for (a logical name, an absolute URI, or agent:<client_id>).',
        ],
        client_id: o.clientId,
        client_secret_sha256: o.secretSha256,
        token_endpoint_auth_method: 'client_secret_basic',
        grant_types: [GRANT_TOKEN_EXCHANGE, GRANT_CIBA, GRANT_CLIENT_CREDENTIALS],
        scopes: ['example:read', 'example:write'],
        audiences: ['example-api'],
        max_ttl_seconds: 900,
      },
    ],
    mcp_clients: {
      $comment: [
        'Standard MCP clients (Claude, VS Code, the MCP Inspector) that sign a person in at /mcp (SPEC section 8).',
        'accept: "all", "none", or a list of their client metadata document URLs; dynamic_registration: RFC 7591 at /register.',
        'Without "scopes" / "audiences" they may ask for what the clients above hold; consent_ttl_seconds: how long a consent lasts.',
      ],
      accept: 'all',
      dynamic_registration: true,
      consent_ttl_seconds: 2_592_000,
    },
  };
}

export async function init(args: string[]): Promise<number> {
  const { positionals, values } = parseArgs({
    args,
    allowPositionals: true,
    options: {
      user: { type: 'string', default: 'alice' },
      agent: { type: 'string', default: 'my-agent' },
    },
  });
  const file = path.resolve(positionals[0] ?? DEFAULT_FILE);
  const env = parseEnv();
  const password = randomBytes(18).toString('base64url');
  const secret = randomBytes(32).toString('base64url');
  const policy = starterPolicy({
    issuer: env.issuer,
    username: values.user,
    passwordHash: await hashPassword(password),
    clientId: values.agent,
    secretSha256: createHash('sha256').update(secret).digest('hex'),
  });
  try {
    parsePolicy(policy, env.issuer);
  } catch (error) {
    if (error instanceof ConfigError)
      throw new ConfigError(
        error.message
          .split('\n')
          .map((l) => `init: ${l}`)
          .join('\nbaton: '),
      );
    throw error;
  }
  try {
    writeFileSync(file, `${JSON.stringify(policy, null, 2)}\n`, { flag: 'wx', mode: 0o600 });
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'EEXIST')
      throw new ConfigError(
        `${file} already exists; init never overwrites a policy (give another file name)`,
      );
    throw new ConfigError(`cannot write ${file}: ${code ?? 'error'}`);
  }
  process.stdout.write(
    [
      `Wrote ${file}: a starter policy (only hashes in it; mode 0600).`,
      '',
      'Shown once; keep them now:',
      `user:          ${values.user}`,
      `password:      ${password}`,
      `client_id:     ${values.agent}`,
      `client secret: ${secret}`,
      '',
      'Next:',
      '  1. Fill in trusted_issuers[0] with your identity provider (see its "$comment").',
      `  2. From the Baton clone: BATON_POLICY=${file} npm start`,
      '',
    ].join('\n'),
  );
  return 0;
}
