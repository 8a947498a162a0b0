/**
 * Repeated failed sign-ins slow down (SPEC §3a): a token bucket per username and one per
 * remote address, the same `takeToken`/`waitFor` rule as the failed-client-authentication
 * limiter (`ops/rate-limit.ts`), with limits meant for a person typing a password: a few
 * tries at once, then one every half minute. In memory, like the other limits.
 * @module
 */
import type { RateLimit } from '../config/policy.js';
import { takeToken, waitFor, type Bucket } from '../ops/rate-limit.js';

export const SIGN_IN_PER_USERNAME: RateLimit = { burst: 5, ratePerSecond: 1 / 30 };
export const SIGN_IN_PER_ADDRESS: RateLimit = { burst: 20, ratePerSecond: 1 / 10 };
/** Buckets kept per kind; past this, the oldest is dropped (names and addresses are the caller's). */
const MAX_KEYS = 10_000;

class Buckets {
  readonly #map = new Map<string, Bucket>();
  constructor(readonly limit: RateLimit) {}

  wait(key: string, now: number): number {
    const bucket = this.#map.get(key);
    return bucket === undefined ? 0 : waitFor(bucket, this.limit, now);
  }

  fail(key: string, now: number): void {
    let bucket = this.#map.get(key);
    if (bucket === undefined) {
      if (this.#map.size >= MAX_KEYS) this.#map.delete(this.#map.keys().next().value!);
      bucket = { tokens: this.limit.burst, at: now };
      this.#map.set(key, bucket);
    }
    takeToken(bucket, this.limit, now);
  }
}

export class SignInLimiter {
  readonly #names = new Buckets(SIGN_IN_PER_USERNAME);
  readonly #addresses = new Buckets(SIGN_IN_PER_ADDRESS);

  /** Seconds before this name may try again from this address (0: it may try now). */
  wait(username: string, address: string | undefined, now: number): number {
    const byName = this.#names.wait(username.toLowerCase(), now);
    const byAddress = address === undefined ? 0 : this.#addresses.wait(address, now);
    return Math.max(byName, byAddress);
  }

  failed(username: string, address: string | undefined, now: number): void {
    this.#names.fail(username.toLowerCase(), now);
    if (address !== undefined) this.#addresses.fail(address, now);
  }
}
