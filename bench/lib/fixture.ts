/**
 * What the benchmark broker runs with: an identity provider whose ES256 key the bench
 * holds (a trusted issuer with an inline JWKS), and a policy with a hand-off chain
 * agent-a → agent-b → agent-c → API, plus `rs`, a resource server that introspects.
 * Secrets live only here; the policy file holds their SHA-256 (SPEC §2).
 * @module
 */
import { createHash, randomUUID } from 'node:crypto';
import { exportJWK, generateKeyPair, SignJWT } from 'jose';
import type { PolicyFile } from '../../broker/config/policy.js';

export const IDP_ISSUER = 'https://idp.bench.example';
export const API = 'https://api.example.com/calendar';
export const TE = 'urn:ietf:params:oauth:grant-type:token-exchange';
export const JWT_TYPE = 'urn:ietf:params:oauth:token-type:jwt';
export const AT_TYPE = 'urn:ietf:params:oauth:token-type:access_token';

/** Bench-only secrets (≥ 32 characters, as policy requires). Never used anywhere else. */
export const SECRETS = {
  'agent-a': 'bench-agent-a-secret-0123456789abcdef01',
  'agent-b': 'bench-agent-b-secret-0123456789abcdef01',
  'agent-c': 'bench-agent-c-secret-0123456789abcdef01',
  rs: 'bench-resource-server-secret-0123456789ab',
} as const;
export type BenchClient = keyof typeof SECRETS;

const sha256 = (s: string) => createHash('sha256').update(s).digest('hex');

export function basicAuth(client: BenchClient): string {
  return `Basic ${Buffer.from(`${encodeURIComponent(client)}:${encodeURIComponent(SECRETS[client])}`).toString('base64')}`;
}

export function formBody(form: Record<string, string>): string {
  return new URLSearchParams(form).toString();
}

export interface BenchIdp {
  publicJwk: Record<string, unknown>;
  /** A person's access token for Baton (`aud` = the broker's issuer), valid for `ttl` seconds. */
  userToken(audience: string, ttl?: number): Promise<string>;
}

export async function makeIdp(): Promise<BenchIdp> {
  const { privateKey, publicKey } = await generateKeyPair('ES256', { extractable: true });
  const kid = 'bench-idp-1';
  const publicJwk = { ...(await exportJWK(publicKey)), kid, alg: 'ES256', use: 'sig' };
  return {
    publicJwk,
    userToken: (audience, ttl = 3600) =>
      new SignJWT({
        scope: 'calendar.read calendar.events.write',
        client_id: 'bench-assistant-app',
        jti: randomUUID(),
      })
        .setProtectedHeader({ alg: 'ES256', typ: 'JWT', kid })
        .setIssuer(IDP_ISSUER)
        .setSubject('user:alice@example.com')
        .setAudience(audience)
        .setIssuedAt()
        .setExpirationTime(Math.floor(Date.now() / 1000) + ttl)
        .sign(privateKey),
  };
}

/** The policy file for a broker whose issuer is `issuer` (trusted tokens are for it). */
export function benchPolicy(idp: BenchIdp, issuer: string): PolicyFile {
  const both = [TE, 'client_credentials'] as PolicyFile['clients'][number]['grant_types'];
  const scopes = ['calendar.read', 'calendar.events.write'];
  return {
    tokens: { default_ttl_seconds: 300, max_ttl_seconds: 3600 },
    max_delegation_depth: 4,
    // The limiter still runs on every request (its cost is measured); the load generator is
    // one client at thousands of requests a second, far past the default 50/s.
    rate_limits: { requests_per_second: 1_000_000, burst: 1_000_000 },
    trusted_issuers: [
      { issuer: IDP_ISSUER, jwks: { keys: [idp.publicJwk as { kty: string }] }, audience: issuer },
    ],
    users: [],
    clients: [
      {
        client_id: 'agent-a',
        client_secret_sha256: sha256(SECRETS['agent-a']),
        grant_types: both,
        scopes,
        audiences: ['agent:agent-b', API],
      },
      {
        client_id: 'agent-b',
        client_secret_sha256: sha256(SECRETS['agent-b']),
        grant_types: both,
        scopes,
        audiences: ['agent:agent-c', API],
      },
      {
        client_id: 'agent-c',
        client_secret_sha256: sha256(SECRETS['agent-c']),
        grant_types: both,
        scopes,
        audiences: [API],
      },
      {
        client_id: 'rs',
        client_secret_sha256: sha256(SECRETS.rs),
        grant_types: ['client_credentials'],
        scopes: [],
        audiences: [],
      },
    ],
  };
}
