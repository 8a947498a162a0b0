/**
 * `baton/verify`: a Hono middleware for the APIs that Baton's agents call. It accepts a
 * request only when its RFC 6750 bearer token is a Baton access token (RFC 9068
 * `typ: at+jwt`, ES256 under a key from Baton's JWKS, `iss` = Baton, `aud` holding this
 * API, unexpired) whose delegation chain (RFC 8693 §4.1 `act`) and scope fit the API's
 * rules, and hands the handler who the token is for and who acts for them:
 *
 * ```ts
 * import { requireDelegation, type DelegationVariables } from 'baton/verify';
 * const app = new Hono<{ Variables: DelegationVariables }>();
 * app.post('/bookings', requireDelegation({ issuer, audience: 'https://api.airline.example',
 *   scope: 'flights:book', maxDepth: 3, allowActors: ['trip-planner', 'flight-booker'] }),
 *   (c) => c.json({ bookedFor: c.get('delegation').sub, by: c.get('delegation').actors[0] }));
 * ```
 *
 * **Key rotation.** Baton's keys are fetched once and cached; a token naming a `kid` the
 * cache lacks makes the verifier fetch the JWKS again, at most once per
 * `jwksCooldownMs` (30 s, jose's default), so a rotated key is picked up without a
 * restart and a flood of made-up kids costs Baton one fetch per cooldown. Baton
 * publishes a new key `keys.use_after_seconds` (40 s by default) before it signs with
 * it, longer than this cooldown plus its own refresh, so no token with the new key
 * arrives while the verifier is still cooling down from a fetch made before the key
 * existed. Keep `jwksCooldownMs` below that gap if you change either.
 *
 * Refusals follow RFC 6750 §3: no token → 401 with a bare `Bearer realm=` challenge;
 * a token that is invalid, expired, for another audience, from another issuer or key,
 * with a chain too deep or an actor not allowed → 401 `invalid_token`; too little scope →
 * 403 `insufficient_scope` with the needed `scope`; Baton unreachable (keys, metadata,
 * introspection) → 503 `temporarily_unavailable`. Each has a JSON body with `error` and
 * `error_description`. No token is ever logged or echoed.
 *
 * **Revocation: the `introspect` trade-off.** Without it (the default) the check is
 * local: signature and claims against a cached JWKS, no round trip per request, so a
 * token revoked at Baton (RFC 7009, or a cascade from an ancestor) is still honoured
 * here until it expires; Baton's tokens live minutes (`default_ttl_seconds`, 300 by
 * default), which bounds that window. With `introspect`, every request that passes the
 * local checks also pays one RFC 7662 round trip to Baton, and a revocation takes
 * effect at once; if Baton cannot be reached the request is refused (503), never let
 * through. Turn it on for APIs whose actions are costly or irreversible.
 * @module
 */
import { createMiddleware } from 'hono/factory';
import type { Context, MiddlewareHandler } from 'hono';
import type { JWTPayload } from 'jose';
import { IssuerClient } from './issuer.js';
import { challenge, missingToken, Refusal } from './refusal.js';
import { TokenChecker } from './token-checker.js';

export { Refusal, type RefusalCode } from './refusal.js';

export interface RequireDelegationOptions {
  /** Baton's issuer URL, exactly as in its tokens' `iss` and its metadata's `issuer`. */
  issuer: string;
  /** This API's identifier: the token's `aud` must hold it. Also the challenge's `realm`. */
  audience: string;
  /** Scopes the token must all hold: a list, or one space-separated string. */
  scope?: string | readonly string[];
  /** The most `act` levels (agents in the chain) accepted; 0 accepts only tokens with no `act`. */
  maxDepth?: number;
  /**
   * Agents allowed to act here. **Every** actor in the chain (current and earlier ones)
   * must be listed, and so must the token's `client_id` (the agent presenting it, which
   * for a token with no `act`, such as a client_credentials token, is the only agent
   * involved). Unset: any actor.
   */
  allowActors?: readonly string[];
  /** Baton's JWKS URL; discovered from the metadata document when absent. */
  jwksUri?: string;
  /**
   * RFC 7662 introspection after the local checks, so a revoked token is refused at once
   * (see the module header for the trade-off). Off by default. The client authenticates
   * with HTTP Basic; `endpoint` is discovered when absent.
   */
  introspect?: { clientId: string; clientSecret: string; endpoint?: string };
  /** Seconds of clock skew tolerated on `exp`/`nbf`. Default 0. */
  clockTolerance?: number;
  /** Timeout of each call to Baton (metadata, JWKS, introspection), in ms. Default 5000. */
  timeoutMs?: number;
  /**
   * The least time between two JWKS fetches made for an unknown `kid`, in ms (see "Key
   * rotation" above). Default 30000.
   */
  jwksCooldownMs?: number;
}

/** What a handler behind `requireDelegation` learns about the request, via `c.get('delegation')`. */
export interface Delegation {
  /** The principal: the person (or, for a client_credentials token, the client) the token is for. */
  sub: string;
  /** The agents acting for `sub`, current actor first, the oldest last (RFC 8693 §4.1); `[]` when none. */
  actors: string[];
  /** The token's scopes. */
  scope: string[];
  /** The client the token was issued to (the current actor, for a delegated token). */
  clientId: string;
  /** The token's id, as Baton's ledger and audit API know it. */
  jti: string;
  /** Every claim of the verified token. */
  claims: JWTPayload;
}

/** Hono variables set by `requireDelegation`: `new Hono<{ Variables: DelegationVariables }>()`. */
export type DelegationVariables = { delegation: Delegation };

/** RFC 6750 §2.1 `b64token`, after a case-insensitive `Bearer` and one or more spaces. */
const BEARER = /^Bearer +([A-Za-z0-9\-._~+/]+=*) *$/i;

/**
 * The token from `Authorization: Bearer`. No header, or another scheme, is a request
 * without a token; a `Bearer` header whose value is not a token is an invalid token.
 */
function bearerToken(header: string | undefined): string {
  if (header === undefined || !/^Bearer(\s|$)/i.test(header)) throw missingToken();
  const match = BEARER.exec(header);
  if (match === null)
    throw new Refusal(
      'invalid_token',
      401,
      'the Authorization header does not hold a Bearer token',
    );
  return match[1]!;
}

function refuse(c: Context, realm: string, refusal: Refusal): Response {
  const headers: Record<string, string> = { 'Cache-Control': 'no-store' };
  const value = challenge(realm, refusal);
  if (value !== undefined) headers['WWW-Authenticate'] = value;
  return c.json(
    { error: refusal.code, error_description: refusal.description },
    refusal.status,
    headers,
  );
}

function normalizeScope(scope: RequireDelegationOptions['scope']): string[] {
  if (scope === undefined) return [];
  const list = typeof scope === 'string' ? scope.split(' ') : [...scope];
  const scopes = [...new Set(list.filter(Boolean))];
  for (const s of scopes) {
    if (typeof s !== 'string' || !/^[\x21\x23-\x5B\x5D-\x7E]+$/.test(s))
      throw new TypeError(`requireDelegation: "${String(s)}" is not a scope token`);
  }
  return scopes;
}

function checkOptions(o: RequireDelegationOptions): void {
  if (typeof o.issuer !== 'string' || !URL.canParse(o.issuer))
    throw new TypeError('requireDelegation: issuer must be a URL');
  if (typeof o.audience !== 'string' || o.audience === '')
    throw new TypeError('requireDelegation: audience is required');
  if (o.maxDepth !== undefined && (!Number.isInteger(o.maxDepth) || o.maxDepth < 0)) {
    throw new TypeError('requireDelegation: maxDepth must be a non-negative integer');
  }
  if (
    o.allowActors !== undefined &&
    (!Array.isArray(o.allowActors) || !o.allowActors.every((a) => typeof a === 'string'))
  ) {
    throw new TypeError('requireDelegation: allowActors must be a list of client ids');
  }
  for (const [name, url] of [
    ['jwksUri', o.jwksUri],
    ['introspect.endpoint', o.introspect?.endpoint],
  ] as const) {
    if (url !== undefined && !URL.canParse(url))
      throw new TypeError(`requireDelegation: ${name} must be a URL`);
  }
  if (
    o.jwksCooldownMs !== undefined &&
    (!Number.isInteger(o.jwksCooldownMs) || o.jwksCooldownMs < 0)
  )
    throw new TypeError('requireDelegation: jwksCooldownMs must be a non-negative integer');
  if (o.introspect !== undefined && (!o.introspect.clientId || !o.introspect.clientSecret)) {
    throw new TypeError('requireDelegation: introspect needs clientId and clientSecret');
  }
}

/**
 * Middleware that lets a request through only with a Baton access token fit for this
 * API, and sets `c.get('delegation')` for the handler. Create it once, at start: it
 * holds the JWKS cache. Throws `TypeError` for bad options.
 */
export function requireDelegation(
  options: RequireDelegationOptions,
): MiddlewareHandler<{ Variables: DelegationVariables }> {
  checkOptions(options);
  const issuerClient = new IssuerClient({
    issuer: options.issuer,
    jwksUri: options.jwksUri,
    introspectionEndpoint: options.introspect?.endpoint,
    timeoutMs: options.timeoutMs ?? 5_000,
    jwksCooldownMs: options.jwksCooldownMs ?? 30_000,
  });
  const checker = new TokenChecker(issuerClient, {
    issuer: options.issuer,
    audience: options.audience,
    scope: normalizeScope(options.scope),
    maxDepth: options.maxDepth,
    allowActors: options.allowActors === undefined ? undefined : new Set(options.allowActors),
    introspect: options.introspect,
    clockTolerance: options.clockTolerance ?? 0,
  });
  return createMiddleware<{ Variables: DelegationVariables }>(async (c, next) => {
    let delegation: Delegation;
    try {
      delegation = await checker.check(bearerToken(c.req.header('authorization')));
    } catch (error) {
      // TokenChecker turns every failure into a Refusal; this is the last guard against a 500.
      const refusal =
        error instanceof Refusal
          ? error
          : new Refusal('invalid_token', 401, 'the token could not be verified');
      return refuse(c, options.audience, refusal);
    }
    c.set('delegation', delegation);
    await next();
    return undefined;
  });
}
