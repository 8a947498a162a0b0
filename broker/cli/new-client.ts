/**
 * `npx baton new-client <client_id>`: a client's credentials and its policy entry.
 *
 * The entry is checked by `parsePolicy` itself, appended to the policy file in
 * `BATON_POLICY` when there is one, so an audience, grant or id that the broker would
 * refuse at start is refused here with the same sentence (and `agent:` audiences are
 * checked against that file's clients). Nothing is re-implemented.
 *
 * - `client_secret_basic` / `client_secret_post`: a 256-bit secret, printed once; the
 *   entry holds only its SHA-256 (SPEC §2).
 * - `private_key_jwt` (RFC 7523): an ES256 key pair; the private JWK is printed once, or
 *   written to a new 0600 file with `--key-out`; the entry holds only the public key.
 * @module
 */
import { createHash, randomBytes } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { exportJWK, generateKeyPair } from 'jose';
import { parseEnv } from '../config/env.js';
import { ConfigError } from '../config/format-issues.js';
import { parsePolicy, readPolicyJson, type PolicyFile } from '../config/policy.js';
import { GRANT_CIBA, GRANT_CLIENT_CREDENTIALS, GRANT_TOKEN_EXCHANGE } from '../tokens/claims.js';

export const NEW_CLIENT_USAGE = `new-client <client_id> [--method client_secret_basic|client_secret_post|private_key_jwt]
             [--scope S]... [--audience A]... [--grant G]... [--key-out FILE]`;

/** Short names for the grant URNs, for typing on a command line. */
const GRANT_ALIASES: Record<string, string> = {
  'token-exchange': GRANT_TOKEN_EXCHANGE,
  ciba: GRANT_CIBA,
};

/** Policy fields named as the flags that set them. */
const FLAGS: Record<string, string> = {
  audiences: '--audience',
  scopes: '--scope',
  grant_types: '--grant',
  token_endpoint_auth_method: '--method',
};

/** One policy problem about the new entry (`clients.3.audiences.1: …`) in the operator's terms. */
function asFlagProblem(rest: string, policyFile: string | undefined): string {
  const m = /^([a-z_]+)(?:\.(\d+))?[^:]*: (.*)$/s.exec(rest);
  if (!m) return rest;
  const [, field, index, problem] = m as unknown as [string, string, string | undefined, string];
  const flag = FLAGS[field];
  const where =
    flag === undefined
      ? index === undefined
        ? field
        : `${field}.${index}`
      : index === undefined
        ? flag
        : `${flag} ${Number(index) + 1}`;
  let text = problem;
  if (field === 'grant_types' && problem.startsWith('must be one of:'))
    text += ` (or ${Object.keys(GRANT_ALIASES).join(', ')})`;
  if (policyFile === undefined && problem.endsWith('names no client in this file')) {
    text +=
      ' (set BATON_POLICY to the policy file so agent: audiences are checked against its clients)';
  }
  return `${where}: ${text}`;
}

/** Validates the entry as part of the policy file (or alone); throws the broker's own sentences. */
function checkEntry(
  entry: Record<string, unknown>,
  policyFile: string | undefined,
  issuer: string,
): void {
  const base = policyFile === undefined ? {} : readPolicyJson(policyFile);
  if (typeof base !== 'object' || base === null || Array.isArray(base)) {
    throw new ConfigError(`${policyFile}: the policy must be a JSON object`);
  }
  const others = (base as { clients?: unknown }).clients;
  const clients = Array.isArray(others) ? others : [];
  const at = `clients.${clients.length}.`;
  try {
    parsePolicy({ ...base, clients: [...clients, entry] } as PolicyFile, issuer);
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error;
    const lines = error.message
      .split('\n')
      .map((line) =>
        line.startsWith(at)
          ? asFlagProblem(line.slice(at.length), policyFile)
          : `${policyFile ?? 'policy'}: ${line}`,
      );
    throw new ConfigError(lines.map((line) => `new-client: ${line}`).join('\nbaton: '));
  }
}

/** An ES256 key pair as JWKs, with a fresh `kid`. */
async function keyPair(
  clientId: string,
): Promise<{ privateJwk: Record<string, unknown>; publicJwk: Record<string, unknown> }> {
  const { privateKey } = await generateKeyPair('ES256', { extractable: true });
  const privateJwk = {
    ...(await exportJWK(privateKey)),
    kid: `${clientId}-${randomBytes(6).toString('base64url')}`,
    alg: 'ES256',
    use: 'sig',
  };
  const { d: _d, ...publicJwk } = privateJwk;
  return { privateJwk, publicJwk };
}

/** Writes the private key to a file nobody else can read; never replaces one. */
function writeKey(file: string, jwk: Record<string, unknown>): void {
  try {
    writeFileSync(file, `${JSON.stringify(jwk)}\n`, { flag: 'wx', mode: 0o600 });
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'EEXIST')
      throw new ConfigError(`${file} already exists; new-client never overwrites a key`);
    throw new ConfigError(`cannot write ${file}: ${code ?? 'error'}`);
  }
}

export async function newClient(args: string[]): Promise<number> {
  const { positionals, values } = parseArgs({
    args,
    allowPositionals: true,
    options: {
      method: { type: 'string', default: 'client_secret_basic' },
      scope: { type: 'string', multiple: true, default: [] },
      audience: { type: 'string', multiple: true, default: [] },
      grant: {
        type: 'string',
        multiple: true,
        default: [GRANT_TOKEN_EXCHANGE, GRANT_CLIENT_CREDENTIALS],
      },
      'key-out': { type: 'string' },
    },
  });
  const clientId = positionals[0];
  if (clientId === undefined)
    throw new ConfigError(`new-client needs a client_id: npx baton ${NEW_CLIENT_USAGE}`);
  const env = parseEnv();
  const pkjwt = values.method === 'private_key_jwt';
  if (values['key-out'] !== undefined && !pkjwt)
    throw new ConfigError('--key-out goes with --method private_key_jwt');
  const secret = pkjwt ? undefined : randomBytes(32).toString('base64url');
  const keys = pkjwt ? await keyPair(clientId) : undefined;
  const entry: Record<string, unknown> = {
    client_id: clientId,
    ...(secret !== undefined
      ? { client_secret_sha256: createHash('sha256').update(secret).digest('hex') }
      : {}),
    token_endpoint_auth_method: values.method,
    ...(keys !== undefined ? { jwks: { keys: [keys.publicJwk] } } : {}),
    grant_types: values.grant.map((g) => GRANT_ALIASES[g] ?? g),
    scopes: values.scope,
    audiences: values.audience,
  };
  checkEntry(entry, env.policyFile, env.issuer);

  const out: string[] = [`client_id:     ${clientId}`];
  if (secret !== undefined) {
    out.push(
      `client secret: ${secret}`,
      '(shown once: give it to the agent; the policy keeps only its SHA-256)',
    );
  } else if (values['key-out'] !== undefined) {
    writeKey(values['key-out'], keys!.privateJwk);
    out.push(
      `private key (JWK) written to ${values['key-out']} (mode 0600: give it to the agent; the policy keeps only the public key)`,
    );
  } else {
    out.push(
      `private key (JWK): ${JSON.stringify(keys!.privateJwk)}`,
      '(shown once: give it to the agent, which signs its client assertions with it (RFC 7523); the policy keeps only the public key)',
    );
  }
  process.stdout.write(
    `${out.join('\n')}\n\nPolicy entry for "clients":\n${JSON.stringify(entry, null, 2)}\n`,
  );
  return 0;
}
