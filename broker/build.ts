/**
 * Wires the broker's dependencies once: keys loaded, verifiers and authenticators built
 * from the policy. Shared by `main.ts`, the CLI and the tests, so all run the same code.
 * @module
 */
import type { Policy } from './config/policy.js';
import type { BrokerDeps } from './deps.js';
import { PATHS } from './endpoints/urls.js';
import { McpClientDirectory } from './mcp-auth/clients.js';
import { ClientAuthenticator } from './oauth/client-auth.js';
import { silentLogger, type Logger } from './ops/log.js';
import { Metrics } from './ops/metrics.js';
import { RateLimiter } from './ops/rate-limit.js';
import type { Store } from './store/store.js';
import { TokenIssuer } from './tokens/issue.js';
import { loadKeyRing } from './tokens/signing-keys.js';
import { TokenVerifier } from './tokens/verify.js';

export interface BuildOptions {
  issuer: string;
  policy: Policy;
  store: Store;
  adminToken?: string | undefined;
  now?: () => number;
  /** Where request logs go; none by default (tests, the CLI). */
  log?: Logger;
}

export const systemNow = (): number => Math.floor(Date.now() / 1000);

export async function buildDeps(options: BuildOptions): Promise<BrokerDeps> {
  const { issuer, policy, store } = options;
  const now = options.now ?? systemNow;
  const keyRing = await loadKeyRing(store, now, policy.keys);
  return Object.freeze({
    issuer,
    policy,
    store,
    keyRing,
    verifier: new TokenVerifier(issuer, keyRing, policy.trustedIssuers.values(), {
      allowInsecureKeyUrls: policy.allowInsecureKeyUrls,
    }),
    clients: new ClientAuthenticator({
      policy,
      store,
      issuer,
      tokenEndpoint: `${issuer}${PATHS.token}`,
      publicClients: new McpClientDirectory({ policy, store, now }),
      publicEndpoints: new Set([`${issuer}${PATHS.token}`, `${issuer}${PATHS.revocation}`]),
    }),
    tokens: new TokenIssuer(issuer, keyRing, store),
    adminToken: options.adminToken,
    now,
    log: options.log ?? silentLogger,
    metrics: new Metrics(store, now),
    rateLimiter: new RateLimiter(policy.rateLimits),
  });
}
