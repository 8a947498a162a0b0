/**
 * What every tool gets: the broker client it acts through and the agent's own token,
 * the one a tool exchanges when the model gives no `subject_token`. On stdio that is
 * `BATON_SUBJECT_TOKEN` (the token the agent was handed) or else a client_credentials
 * token of its own; at `/mcp` it is the bearer token the caller presented, which is
 * exchanged, never passed on.
 *
 * `/mcp` builds its MCP server once and serves every caller with it, so there the tools
 * get `callerToolDeps()`: a broker client and agent token that are looked up, on each
 * call, in the request's own async context (`asCaller`), never in shared state. One
 * request's identity cannot reach another's, even when they run at the same time.
 * @module
 */
import { AsyncLocalStorage } from 'node:async_hooks';
import { setTimeout as delay } from 'node:timers/promises';
import type { BrokerClient } from './broker-client.js';
import { TokenCache } from './token-cache.js';

export interface ToolDeps {
  readonly broker: BrokerClient;
  /** The agent's own token. */
  agentToken(): Promise<string>;
  /** Waits between approval polls; injectable so tests never sleep. */
  readonly sleep?: (ms: number, signal: AbortSignal) => Promise<void>;
  /** Milliseconds, for approval deadlines. */
  readonly clock?: () => number;
  /** Reuses exchanged tokens (`token-cache.ts`); without it every call exchanges. */
  readonly tokens?: TokenCache;
  /**
   * Who is calling, for the token cache: callers with different keys never share an
   * entry. At `/mcp` the client id and the caller's bearer token; by default the client id.
   */
  callerKey?(): Promise<string>;
  /** stdio: the broker refused the agent's own token (revoked, expired); stop using it. */
  agentTokenRefused?(token: string): void;
  /** stdio: a person approved (`request_approval`); their token becomes the agent's own. */
  adoptAgentToken?(token: string): void;
}

export const defaultSleep = (ms: number, signal: AbortSignal): Promise<void> =>
  delay(ms, undefined, { signal });

/** A fixed token (BATON_SUBJECT_TOKEN, or the `/mcp` bearer). */
export function fixedAgentToken(token: string): () => Promise<string> {
  return () => Promise.resolve(token);
}

/**
 * A client_credentials token of the client itself (SPEC §4 rule 10), fetched on first use
 * and again when less than 30 seconds of it are left.
 */
export function clientCredentialsAgentToken(
  broker: BrokerClient,
  nowSeconds = () => Math.floor(Date.now() / 1000),
): () => Promise<string> {
  let cached: { token: string; exp: number } | undefined;
  return async () => {
    const now = nowSeconds();
    if (cached === undefined || cached.exp - now < 30) {
      const issued = await broker.clientCredentials();
      cached = { token: issued.access_token, exp: now + issued.expires_in };
    }
    return cached.token;
  };
}

/** Who one `/mcp` request acts as: the broker client of its token's actor, and the token. */
export interface ToolCaller {
  readonly broker: BrokerClient;
  agentToken(): Promise<string>;
}

const callers = new AsyncLocalStorage<ToolCaller>();

/** Runs `run` (and everything it starts) as `caller`: what `callerToolDeps()` resolves to. */
export function asCaller<T>(caller: ToolCaller, run: () => T): T {
  return callers.run(caller, run);
}

function currentCaller(): ToolCaller {
  const caller = callers.getStore();
  // A tool reached outside `asCaller` is a wiring bug; acting as nobody is the safe answer.
  if (caller === undefined) throw new Error('no MCP caller in this context');
  return caller;
}

/** A `BrokerClient` that forwards each call to the current request's caller. */
class CallerBroker implements BrokerClient {
  get clientId() {
    return currentCaller().broker.clientId;
  }
  get brokerUrl() {
    return currentCaller().broker.brokerUrl;
  }
  metadata: BrokerClient['metadata'] = () => currentCaller().broker.metadata();
  exchange: BrokerClient['exchange'] = (p) => currentCaller().broker.exchange(p);
  clientCredentials: BrokerClient['clientCredentials'] = (p) =>
    currentCaller().broker.clientCredentials(p);
  introspect: BrokerClient['introspect'] = (t) => currentCaller().broker.introspect(t);
  revoke: BrokerClient['revoke'] = (t) => currentCaller().broker.revoke(t);
  audit: BrokerClient['audit'] = (jti) => currentCaller().broker.audit(jti);
  allowances: BrokerClient['allowances'] = () => currentCaller().broker.allowances();
  approvals: BrokerClient['approvals'] = () => currentCaller().broker.approvals();
  get revokedAt(): BrokerClient['revokedAt'] {
    const broker = currentCaller().broker;
    return broker.revokedAt?.bind(broker);
  }
}

/** Tool deps for a server shared by many callers: each call acts as the caller of its request. */
export function callerToolDeps(): ToolDeps {
  const broker = new CallerBroker();
  return {
    broker,
    agentToken: () => currentCaller().agentToken(),
    // One cache for every caller, keyed by the caller's own bearer token (hashed there).
    tokens: new TokenCache(),
    callerKey: async () => `${broker.clientId}\n${await currentCaller().agentToken()}`,
  };
}
