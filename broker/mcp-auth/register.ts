/**
 * RFC 7591 dynamic client registration at `POST /register` (SPEC §8), for MCP clients
 * that have no Client ID Metadata Document. Public clients only
 * (`token_endpoint_auth_method: none`), the authorization code and refresh token grants,
 * `response_types: ["code"]`, and redirect URIs that `redirect-uri.ts` accepts. The name
 * is stored as sent and only ever shown through `forPage`; nothing else sent is kept
 * (unknown fields are ignored, RFC 7591 §2).
 *
 * Bounded three ways: the 64 KB body limit, a token bucket per remote address (a burst
 * of 10, then one every 6 minutes), and a cap on live registrations (1000 by default):
 * past it, 429. A registration is live while it was used for a consent within
 * `REGISTRATION_IDLE_SECONDS` (90 days); after that it is refused as unknown and no
 * longer counts, so the cap frees itself.
 * @module
 */
import { randomBytes } from 'node:crypto';
import type { Context, Hono } from 'hono';
import { z } from 'zod';
import type { RateLimit } from '../config/policy.js';
import type { BrokerDeps } from '../deps.js';
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

const Metadata = z.object({
  redirect_uris: z.array(z.string().max(2048)).min(1).max(MAX_REDIRECT_URIS),
  client_name: z.string().max(MAX_CLIENT_NAME_CHARS).optional(),
  token_endpoint_auth_method: z.string().max(100).optional(),
  grant_types: z.array(z.string().max(200)).max(10).optional(),
  response_types: z.array(z.string().max(200)).max(10).optional(),
});

const metadataError = (description: string) =>
  new OAuthError('invalid_client_metadata', 400, description);

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
    if ((m.token_endpoint_auth_method ?? 'none') !== 'none')
      throw metadataError('only public clients (token_endpoint_auth_method none) may register');
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
        token_endpoint_auth_method: 'none',
        grant_types: grantTypes,
        response_types: responseTypes,
      },
      201,
      NO_STORE,
    );
  });
}
