/**
 * RFC 7591 dynamic client registration at `POST /register` (SPEC §8), for MCP clients
 * that have no Client ID Metadata Document: the authorization code and refresh token
 * grants, `response_types: ["code"]`, and redirect URIs that `redirect-uri.ts` accepts.
 * A client is public (`token_endpoint_auth_method: none`, the default) unless it asks for
 * credentials: `client_secret_basic` / `client_secret_post` get a secret shown once in
 * the answer and kept only as its SHA-256; `private_key_jwt` registers its public keys
 * inline (`jwks`; a `jwks_uri` is refused, so a registration never makes the broker
 * fetch). The name is stored as sent and only ever shown through `forPage`; nothing else
 * sent is kept (unknown fields are ignored, RFC 7591 §2).
 *
 * Bounded three ways: the 64 KB body limit, a token bucket per remote address (a burst
 * of 10, then one every 6 minutes), and a cap on live registrations (1000 by default):
 * past it, 429. A registration is live while it was used for a consent within
 * `REGISTRATION_IDLE_SECONDS` (90 days); after that it is refused as unknown and no
 * longer counts, so the cap frees itself.
 * @module
 */
import { createHash, createPublicKey, randomBytes, type JsonWebKey } from 'node:crypto';
import type { Context, Hono } from 'hono';
import { z } from 'zod';
import type { RateLimit } from '../config/policy.js';
import type { BrokerDeps } from '../deps.js';
import type { McpClientAuthMethod } from '../store/mcp-auth-store.js';
import { NO_STORE, PATHS } from '../endpoints/urls.js';
import { describeIssue } from '../oauth/params.js';
import { OAuthError } from '../oauth/errors.js';
import { peerAddress } from '../ops/peer.js';
import { takeToken, tooManyRequests, type Bucket } from '../ops/rate-limit.js';
import {
  GRANT_AUTHORIZATION_CODE,
  GRANT_REFRESH_TOKEN,
  REGISTERED_PREFIX,
  REGISTRATION_IDLE_SECONDS,
} from './clients.js';
import { acceptsDynamicRegistration, mcpClientsPolicy } from './mcp-clients-policy.js';
import { MAX_REDIRECT_URIS, redirectUriProblem } from './redirect-uri.js';

export interface RegistrationLimits {
  /** Live registrations at most. */
  cap: number;
  /** Registrations per remote address. */
  perAddress: RateLimit;
}

export const DEFAULT_REGISTRATION_LIMITS: RegistrationLimits = {
  cap: 1000,
  perAddress: { burst: 10, ratePerSecond: 1 / 360 },
};

/** Addresses remembered at most (the oldest is forgotten past this). */
const MAX_ADDRESSES = 10_000;
const MAX_CLIENT_NAME_CHARS = 200;

/** Keys one client may register, and the size of their JSON. */
const MAX_CLIENT_KEYS = 10;
const MAX_JWKS_CHARS = 16_384;
const AUTH_METHODS: readonly McpClientAuthMethod[] = [
  'none',
  'client_secret_basic',
  'client_secret_post',
  'private_key_jwt',
];
/** JWK members that carry private or symmetric key material (RFC 7517, RFC 7518 §6). */
const SECRET_MEMBERS = ['d', 'p', 'q', 'dp', 'dq', 'qi', 'oth', 'k'];

const Metadata = z.object({
  redirect_uris: z.array(z.string().max(2048)).min(1).max(MAX_REDIRECT_URIS),
  client_name: z.string().max(MAX_CLIENT_NAME_CHARS).optional(),
  token_endpoint_auth_method: z.string().max(100).optional(),
  jwks: z.unknown().optional(),
  jwks_uri: z.unknown().optional(),
  grant_types: z.array(z.string().max(200)).max(10).optional(),
  response_types: z.array(z.string().max(200)).max(10).optional(),
});

const metadataError = (description: string) =>
  new OAuthError('invalid_client_metadata', 400, description);

/**
 * The `jwks` a `private_key_jwt` client registers, as JSON to keep: public asymmetric keys
 * (EC, RSA, OKP) that Node can load, at most ten. Throws what is wrong with it.
 */
export function registrableKeys(jwks: unknown): string {
  const keys = (jwks as { keys?: unknown } | null)?.keys;
  if (typeof jwks !== 'object' || jwks === null || !Array.isArray(keys))
    throw metadataError('jwks must be a JWK Set: an object with a keys array');
  if (keys.length === 0 || keys.length > MAX_CLIENT_KEYS)
    throw metadataError(`jwks must hold 1 to ${MAX_CLIENT_KEYS} keys`);
  for (const key of keys as unknown[]) {
    if (typeof key !== 'object' || key === null || Array.isArray(key))
      throw metadataError('each key in jwks must be a JWK object');
    const jwk = key as Record<string, unknown>;
    if (!['EC', 'RSA', 'OKP'].includes(jwk.kty as string))
      throw metadataError('each key in jwks must be a public EC, RSA or OKP key');
    if (SECRET_MEMBERS.some((m) => m in jwk))
      throw metadataError('jwks holds private key material; register public keys only');
    try {
      createPublicKey({ key: jwk as JsonWebKey, format: 'jwk' });
    } catch {
      throw metadataError('a key in jwks is not a usable public key');
    }
  }
  const text = JSON.stringify({ keys });
  if (text.length > MAX_JWKS_CHARS) throw metadataError('jwks is too large');
  return text;
}

/** What a registration keeps to authenticate the client later, and the secret to show once. */
function credentialsFor(
  method: McpClientAuthMethod,
  m: { jwks?: unknown; jwks_uri?: unknown },
): { secret?: string; secretSha256: string | null; jwks: string | null } {
  if (m.jwks_uri !== undefined)
    throw metadataError('register keys inline as jwks; jwks_uri is not supported');
  if (method === 'private_key_jwt') {
    if (m.jwks === undefined) throw metadataError('private_key_jwt needs jwks');
    return { secretSha256: null, jwks: registrableKeys(m.jwks) };
  }
  if (m.jwks !== undefined) throw metadataError('jwks goes only with private_key_jwt');
  if (method === 'none') return { secretSha256: null, jwks: null };
  const secret = randomBytes(32).toString('base64url');
  return { secret, secretSha256: createHash('sha256').update(secret).digest('hex'), jwks: null };
}

export function mountRegister(
  app: Hono,
  deps: BrokerDeps,
  limits: RegistrationLimits = DEFAULT_REGISTRATION_LIMITS,
): void {
  const buckets = new Map<string, Bucket>();

  /** 0 when this address may register now (and it is counted), else seconds to wait. */
  const take = (address: string, now: number): number => {
    let bucket = buckets.get(address);
    if (bucket === undefined) {
      if (buckets.size >= MAX_ADDRESSES) buckets.delete(buckets.keys().next().value!);
      bucket = { tokens: limits.perAddress.burst, at: now };
      buckets.set(address, bucket);
    }
    return takeToken(bucket, limits.perAddress, now);
  };

  app.post(PATHS.registration, async (c: Context) => {
    const now = deps.now();
    if (!acceptsDynamicRegistration(mcpClientsPolicy(deps.policy)))
      throw new OAuthError('access_denied', 403, 'this broker does not accept registrations');
    const wait = take(peerAddress(c) ?? 'in-process', now);
    if (wait > 0) return tooManyRequests(c, wait);
    const type = (c.req.header('content-type') ?? '').split(';')[0]!.trim().toLowerCase();
    if (type !== 'application/json') throw metadataError('send the metadata as application/json');
    let body: unknown;
    try {
      body = JSON.parse(await c.req.text());
    } catch {
      throw metadataError('the body is not JSON');
    }
    const parsed = Metadata.safeParse(body);
    if (!parsed.success) throw metadataError(describeIssue(parsed.error.issues[0]!));
    const m = parsed.data;
    for (const uri of m.redirect_uris) {
      const problem = redirectUriProblem(uri);
      if (problem !== undefined)
        throw new OAuthError('invalid_redirect_uri', 400, `each redirect_uri ${problem}`);
    }
    const authMethod = (m.token_endpoint_auth_method ?? 'none') as McpClientAuthMethod;
    if (!AUTH_METHODS.includes(authMethod))
      throw metadataError(`token_endpoint_auth_method may be ${AUTH_METHODS.join(', ')}`);
    const credentials = credentialsFor(authMethod, m);
    const grantTypes = m.grant_types ?? [GRANT_AUTHORIZATION_CODE, GRANT_REFRESH_TOKEN];
    if (grantTypes.some((g) => g !== GRANT_AUTHORIZATION_CODE && g !== GRANT_REFRESH_TOKEN))
      throw metadataError('grant_types may hold only authorization_code and refresh_token');
    const responseTypes = m.response_types ?? ['code'];
    if (responseTypes.some((r) => r !== 'code'))
      throw metadataError('response_types may hold only code');

    const clientId = REGISTERED_PREFIX + randomBytes(16).toString('base64url');
    const registered = await deps.store.registerMcpClient(
      {
        clientId,
        clientName: m.client_name ?? null,
        redirectUris: m.redirect_uris,
        createdAt: now,
        lastUsedAt: now,
        authMethod,
        secretSha256: credentials.secretSha256,
        jwks: credentials.jwks,
      },
      limits.cap,
      now - REGISTRATION_IDLE_SECONDS,
    );
    if (!registered) return tooManyRequests(c, 3600);
    return c.json(
      {
        client_id: clientId,
        client_id_issued_at: now,
        ...(m.client_name === undefined ? {} : { client_name: m.client_name }),
        redirect_uris: m.redirect_uris,
        token_endpoint_auth_method: authMethod,
        ...(credentials.secret === undefined
          ? {}
          : { client_secret: credentials.secret, client_secret_expires_at: 0 }),
        ...(credentials.jwks === null ? {} : { jwks: JSON.parse(credentials.jwks) as unknown }),
        grant_types: grantTypes,
        response_types: responseTypes,
      },
      201,
      NO_STORE,
    );
  });
}
