/**
 * Per-client rate limits (SPEC §10): a token bucket per authenticated client, and one per
 * remote address for failed client authentications, so neither an agent in a loop nor an
 * unauthenticated flood can fill the ledger or starve other clients.
 *
 * `takeToken` is the pure rule (no clock: `now` is passed in, in the broker's Unix
 * seconds). `RateLimiter` keeps the buckets in memory: with several brokers behind one
 * address, each enforces its own share, so a client gets up to N × its limit across N
 * brokers. That is deliberate: a shared counter would add a database round trip to every
 * request on the hot path.
 *
 * Over the limit, the answer is 429 with `Retry-After` (RFC 6585 §4, RFC 9110 §10.2.3)
 * and RFC 6749 §5.2 JSON with `temporarily_unavailable` (RFC 6749 §4.1.2.1: "unable to
 * handle the request due to a temporary overloading"), a registered code that every
 * OAuth client library treats as an error it can show. It is not a refusal of the grant,
 * so nothing is written to the ledger.
 * @module
 */
import type { Context } from 'hono';
import type { RateLimit, RateLimitPolicy } from '../config/policy.js';
import { NO_STORE } from '../endpoints/urls.js';

/** One bucket: tokens left and when it was last refilled (Unix seconds). */
export interface Bucket {
  tokens: number;
  at: number;
}

/**
 * Takes one request's token from `bucket` (refilled for the time since its last use) and
 * returns 0, or leaves it untouched and returns how many whole seconds until a token is
 * back (at least 1). Mutates `bucket` in place: this runs on every authenticated request,
 * so it allocates nothing.
 */
export function takeToken(bucket: Bucket, limit: RateLimit, now: number): number {
  const tokens = refilled(bucket, limit, now);
  if (tokens < 1) return secondsUntilOne(tokens, limit);
  bucket.tokens = tokens - 1;
  bucket.at = Math.max(bucket.at, now);
  return 0;
}

function secondsUntilOne(tokens: number, limit: RateLimit): number {
  return Math.max(1, Math.ceil((1 - tokens) / limit.ratePerSecond));
}

/** Tokens in `bucket` at `now`, refilled for the time since its last use, at most a burst. */
function refilled(bucket: Bucket, limit: RateLimit, now: number): number {
  return Math.min(limit.burst, bucket.tokens + Math.max(0, now - bucket.at) * limit.ratePerSecond);
}

/** Seconds until a token is back, without taking one (0: a request may go ahead). */
export function waitFor(bucket: Bucket, limit: RateLimit, now: number): number {
  const tokens = refilled(bucket, limit, now);
  return tokens >= 1 ? 0 : secondsUntilOne(tokens, limit);
}

/**
 * Remote addresses are not bounded the way client ids are (an attacker has many, IPv6 a
 * great many), so the address buckets are capped: past this many, the oldest is dropped.
 */
const MAX_ADDRESSES = 10_000;

export class RateLimiter {
  readonly #clients = new Map<string, Bucket>();
  readonly #addresses = new Map<string, Bucket>();

  constructor(readonly policy: RateLimitPolicy) {}

  /** 0 when `clientId` may make this request (and it is counted), else seconds to wait. */
  takeForClient(clientId: string, now: number): number {
    const limit = this.policy.clients.get(clientId) ?? this.policy.perClient;
    let bucket = this.#clients.get(clientId);
    if (bucket === undefined) {
      // Client ids come from the policy (authenticated callers only), so this map is bounded.
      bucket = { tokens: limit.burst, at: now };
      this.#clients.set(clientId, bucket);
    }
    return takeToken(bucket, limit, now);
  }

  /**
   * Seconds this address must wait before trying to authenticate again (0: it may try).
   * An unknown address (a request made in-process, with no socket) is never held back.
   */
  authenticationWait(address: string | undefined, now: number): number {
    if (address === undefined) return 0;
    const bucket = this.#addresses.get(address);
    return bucket === undefined ? 0 : waitFor(bucket, this.policy.failedAuthentication, now);
  }

  /** Counts a failed client authentication against `address`. */
  authenticationFailed(address: string | undefined, now: number): void {
    if (address === undefined) return;
    const limit = this.policy.failedAuthentication;
    let bucket = this.#addresses.get(address);
    if (bucket === undefined) {
      if (this.#addresses.size >= MAX_ADDRESSES) this.#dropOldestAddress(now);
      bucket = { tokens: limit.burst, at: now };
      this.#addresses.set(address, bucket);
    }
    takeToken(bucket, limit, now);
  }

  /** Drops a bucket that has filled up again (it remembers nothing) among the oldest, else the oldest. */
  #dropOldestAddress(now: number): void {
    let scanned = 0;
    let oldest: string | undefined;
    for (const [address, bucket] of this.#addresses) {
      oldest ??= address;
      const limit = this.policy.failedAuthentication;
      if (bucket.tokens + Math.max(0, now - bucket.at) * limit.ratePerSecond >= limit.burst) {
        this.#addresses.delete(address);
        return;
      }
      if (++scanned >= 64) break;
    }
    if (oldest !== undefined) this.#addresses.delete(oldest);
  }
}

/**
 * Counts one request by an authenticated client: `undefined` when it may go ahead, else
 * the 429 to send. Notes the client (and a refusal) for the request's log line.
 */
export function limitClient(
  c: Context,
  limiter: RateLimiter,
  clientId: string,
  now: number,
): Response | undefined {
  const info = c.get('requestInfo');
  info.clientId = clientId;
  const wait = limiter.takeForClient(clientId, now);
  if (wait === 0) return undefined;
  info.refusal = { error: 'temporarily_unavailable', reason: 'rate_limited' };
  return tooManyRequests(c, wait);
}

/** The wire answer for a request over its limit. */
export function tooManyRequests(c: Context, retryAfterSeconds: number): Response {
  return c.json(
    {
      error: 'temporarily_unavailable',
      error_description: 'too many requests; retry after the number of seconds in Retry-After',
    },
    429,
    { ...NO_STORE, 'Retry-After': String(retryAfterSeconds) },
  );
}
