/**
 * The documented demo policy `npm start` loads when `BATON_POLICY` is unset: a trip
 * planner that hands off to a flight booker, which calls an airline API. Its secrets are
 * public (they are in the README), so it is for trying Baton on a laptop, never for a
 * deployment.
 *
 * It also trusts a "demo identity provider" whose private key is created next to the
 * database on first start, so `npx baton demo-token alice` can mint alice's first token
 * the way a real IdP would; agents can also ask her over CIBA (`npx baton approvals`).
 * @module
 */
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { exportJWK, generateKeyPair, importJWK, SignJWT, type JWK } from 'jose';
import { GRANT_CIBA, GRANT_CLIENT_CREDENTIALS, GRANT_TOKEN_EXCHANGE } from '../tokens/claims.js';
import type { PolicyFile } from './policy.js';

export const DEMO_IDP_ISSUER = 'https://idp.demo.baton.invalid';
export const AIRLINE_API = 'https://api.airline.example';

/** The demo clients and their public secrets, as documented in the README. */
export const DEMO_CLIENTS = {
  'trip-planner': 'trip-planner-demo-secret-change-me-0001',
  'flight-booker': 'flight-booker-demo-secret-change-me-0002',
  'airline-api': 'airline-api-demo-secret-change-me-00003',
} as const;

export const DEMO_USERS = { alice: 'alice-demo-password' } as const;
const ALICE_HASH =
  'scrypt$32768$8$1$DcadO1QLDwRQ1N90bHCF5Q$uON62YlXAeJkXMDqD_o-TU8j4N-wfNG25ZT2Z8Cmck4';

const sha256 = (s: string) => createHash('sha256').update(s).digest('hex');

/** Where the demo IdP keeps its key: beside the database. */
export function demoIdpKeyFile(dbFile: string): string {
  return path.join(path.dirname(path.resolve(dbFile)), 'demo-idp-key.json');
}

/** Loads the demo IdP's private JWK, creating it on first use. */
export async function demoIdpKey(dbFile: string): Promise<JWK> {
  const file = demoIdpKeyFile(dbFile);
  if (!existsSync(file)) {
    mkdirSync(path.dirname(file), { recursive: true });
    const { privateKey } = await generateKeyPair('ES256', { extractable: true });
    const jwk = { ...(await exportJWK(privateKey)), alg: 'ES256', kid: 'demo-idp-1', use: 'sig' };
    try {
      writeFileSync(file, JSON.stringify(jwk), { flag: 'wx', mode: 0o600 });
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
    }
  }
  return JSON.parse(readFileSync(file, 'utf8')) as JWK;
}

export async function demoPolicy(issuer: string, dbFile: string): Promise<PolicyFile> {
  const { d: _d, ...idpPublic } = await demoIdpKey(dbFile);
  const mcp = `${issuer}/mcp`;
  return {
    tokens: { default_ttl_seconds: 300, max_ttl_seconds: 3600 },
    max_delegation_depth: 4,
    trusted_issuers: [
      { issuer: DEMO_IDP_ISSUER, jwks: { keys: [idpPublic as { kty: string }] }, audience: issuer },
    ],
    users: [{ username: 'alice', password_hash: ALICE_HASH }],
    clients: [
      {
        client_id: 'trip-planner',
        client_secret_sha256: sha256(DEMO_CLIENTS['trip-planner']),
        token_endpoint_auth_method: 'client_secret_basic',
        grant_types: [GRANT_TOKEN_EXCHANGE, GRANT_CIBA, GRANT_CLIENT_CREDENTIALS],
        scopes: ['trips:read', 'trips:book', 'flights:read', 'flights:book'],
        audiences: ['agent:flight-booker', AIRLINE_API, mcp],
        max_ttl_seconds: 900,
      },
      {
        client_id: 'flight-booker',
        client_secret_sha256: sha256(DEMO_CLIENTS['flight-booker']),
        token_endpoint_auth_method: 'client_secret_basic',
        grant_types: [GRANT_TOKEN_EXCHANGE, GRANT_CLIENT_CREDENTIALS],
        scopes: ['flights:read', 'flights:book'],
        audiences: [AIRLINE_API, mcp],
        max_ttl_seconds: 600,
      },
      {
        client_id: 'airline-api',
        client_secret_sha256: sha256(DEMO_CLIENTS['airline-api']),
        token_endpoint_auth_method: 'client_secret_basic',
        grant_types: [GRANT_CLIENT_CREDENTIALS],
        scopes: [],
        audiences: [],
      },
    ],
  };
}

/** Mints a person's token as the demo IdP would after they signed in. */
export async function mintDemoUserToken(
  dbFile: string,
  issuer: string,
  username: string,
  scope = 'trips:read trips:book flights:read flights:book',
  ttlSeconds = 3600,
): Promise<string> {
  const jwk = await demoIdpKey(dbFile);
  const now = Math.floor(Date.now() / 1000);
  return new SignJWT({ scope })
    .setProtectedHeader({ alg: 'ES256', kid: jwk.kid!, typ: 'JWT' })
    .setIssuer(DEMO_IDP_ISSUER)
    .setSubject(username)
    .setAudience(issuer)
    .setIssuedAt(now)
    .setExpirationTime(now + ttlSeconds)
    .setJti(crypto.randomUUID())
    .sign(await importJWK(jwk, 'ES256'));
}
