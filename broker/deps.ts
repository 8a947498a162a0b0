/**
 * Everything the HTTP layer needs, built once at start (`buildDeps`) so no request pays
 * for parsing policy, importing keys or preparing statements.
 * @module
 */
import type { Policy } from './config/policy.js';
import type { ClientAuthenticator } from './oauth/client-auth.js';
import type { Logger } from './ops/log.js';
import type { Metrics } from './ops/metrics.js';
import type { RateLimiter } from './ops/rate-limit.js';
import type { Store } from './store/store.js';
import type { TokenIssuer } from './tokens/issue.js';
import type { KeyRing } from './tokens/signing-keys.js';
import type { TokenVerifier } from './tokens/verify.js';

export interface BrokerDeps {
  readonly issuer: string;
  readonly policy: Policy;
  readonly store: Store;
  readonly keyRing: KeyRing;
  readonly verifier: TokenVerifier;
  readonly clients: ClientAuthenticator;
  readonly tokens: TokenIssuer;
  /** Bearer for the audit API; the API answers 401 to everyone when unset. */
  readonly adminToken: string | undefined;
  /** Unix seconds. Injected so tests can move time. */
  readonly now: () => number;
  /** SPEC §10: one log line per request; silent unless the caller passes a logger. */
  readonly log: Logger;
  /** SPEC §10: this broker's own Prometheus registry. */
  readonly metrics: Metrics;
  /** SPEC §10: per-client and per-address buckets, in memory (each broker its own). */
  readonly rateLimiter: RateLimiter;
}
