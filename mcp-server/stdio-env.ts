/**
 * `baton-mcp`'s environment, parsed once with zod: where the broker is and who this agent
 * is. A bad value is reported as `NAME: what is wrong`, never with the value itself
 * (it may be a secret).
 * @module
 */
import { readFileSync } from 'node:fs';
import type { JWK } from 'jose';
import { z } from 'zod';
import type { ClientCredentials } from './client-credentials.js';

const Env = z.object({
  BATON_URL: z
    .url({ protocol: /^https?$/, error: 'must be the http(s) URL of the Baton broker' })
    .default('http://127.0.0.1:8787'),
  BATON_CLIENT_ID: z
    .string({ error: 'is required: the client id this agent is registered as' })
    .min(1, 'must not be empty'),
  BATON_CLIENT_SECRET: z.string().min(1, 'must not be empty').optional(),
  BATON_PRIVATE_KEY_FILE: z.string().min(1, 'must not be empty').optional(),
  BATON_SUBJECT_TOKEN: z.string().min(1, 'must not be empty').optional(),
  BATON_TOKEN_FILE: z.string().min(1, 'must not be empty').optional(),
  BATON_OWN_TOKEN: z
    .enum(['person', 'client_credentials'], {
      error:
        'must be "person" (act for a person: BATON_SUBJECT_TOKEN, BATON_TOKEN_FILE or request_approval) or "client_credentials" (act for itself)',
    })
    .default('person'),
  BATON_TOKEN_CACHE: z
    .enum(['on', 'off'], { error: 'must be "on" (reuse exchanged tokens, the default) or "off"' })
    .default('on'),
});

/** Checked on the raw environment so it is reported together with every other problem. */
function credentialProblem(env: NodeJS.ProcessEnv): string | undefined {
  if ((env.BATON_CLIENT_SECRET === undefined) === (env.BATON_PRIVATE_KEY_FILE === undefined)) {
    return 'BATON_CLIENT_SECRET: set exactly one of BATON_CLIENT_SECRET (client_secret_basic) or BATON_PRIVATE_KEY_FILE (private_key_jwt, a private JWK in JSON)';
  }
  return undefined;
}

/** An agent acting for itself has no person's token to start from or keep. */
function ownTokenProblem(env: NodeJS.ProcessEnv): string | undefined {
  if (
    env.BATON_OWN_TOKEN === 'client_credentials' &&
    (env.BATON_SUBJECT_TOKEN !== undefined || env.BATON_TOKEN_FILE !== undefined)
  ) {
    return 'BATON_OWN_TOKEN: client_credentials acts for the agent itself; unset BATON_SUBJECT_TOKEN and BATON_TOKEN_FILE, or use "person"';
  }
  return undefined;
}

export interface StdioConfig {
  readonly url: string;
  readonly credentials: ClientCredentials;
  /** The person's token the agent starts with, if configured. */
  readonly subjectToken: string | undefined;
  /** Where the agent keeps the person's token across restarts (mode 0600). */
  readonly tokenFile: string | undefined;
  /** `person`: act for a person (the default); `client_credentials`: act for itself. */
  readonly ownToken: 'person' | 'client_credentials';
  /** Whether tools reuse exchanged tokens (`token-cache.ts`); off to measure or debug. */
  readonly tokenCache: boolean;
}

export class EnvError extends Error {
  override name = 'EnvError';
}

function readJwk(file: string): JWK {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (error) {
    throw new EnvError(
      `BATON_PRIVATE_KEY_FILE: cannot read ${file}: ${(error as NodeJS.ErrnoException).code ?? 'error'}`,
    );
  }
  let jwk: unknown;
  try {
    jwk = JSON.parse(text);
  } catch {
    throw new EnvError(
      `BATON_PRIVATE_KEY_FILE: ${file} is not JSON (it must hold one private JWK)`,
    );
  }
  if (
    typeof jwk !== 'object' ||
    jwk === null ||
    typeof (jwk as JWK).kty !== 'string' ||
    !('d' in jwk)
  ) {
    throw new EnvError(
      `BATON_PRIVATE_KEY_FILE: ${file} is not a private JWK (needs "kty" and "d")`,
    );
  }
  return jwk as JWK;
}

/** Parses the environment; throws `EnvError` listing every problem. */
export function parseStdioEnv(env: NodeJS.ProcessEnv): StdioConfig {
  const parsed = Env.safeParse(env);
  const problems = parsed.success
    ? []
    : parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`);
  const credentials = credentialProblem(env);
  if (credentials !== undefined) problems.push(credentials);
  const ownToken = ownTokenProblem(env);
  if (ownToken !== undefined) problems.push(ownToken);
  if (!parsed.success || problems.length > 0) throw new EnvError(problems.join('\n'));
  const e = parsed.data;
  const creds: ClientCredentials =
    e.BATON_CLIENT_SECRET !== undefined
      ? {
          method: 'client_secret_basic',
          clientId: e.BATON_CLIENT_ID,
          secret: e.BATON_CLIENT_SECRET,
        }
      : {
          method: 'private_key_jwt',
          clientId: e.BATON_CLIENT_ID,
          jwk: readJwk(e.BATON_PRIVATE_KEY_FILE!),
        };
  return {
    url: e.BATON_URL,
    credentials: creds,
    subjectToken: e.BATON_SUBJECT_TOKEN,
    tokenFile: e.BATON_TOKEN_FILE,
    ownToken: e.BATON_OWN_TOKEN,
    tokenCache: e.BATON_TOKEN_CACHE === 'on',
  };
}
