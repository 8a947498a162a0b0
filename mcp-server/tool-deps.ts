/**
 * What every tool gets: the broker client it acts through and the agent's own token,
 * the one a tool exchanges when the model gives no `subject_token`. On stdio that is
 * `BATON_SUBJECT_TOKEN` (the token the agent was handed) or else a client_credentials
 * token of its own; at `/mcp` it is the bearer token the caller presented, which is
 * exchanged, never passed on.
 * @module
 */
import { setTimeout as delay } from 'node:timers/promises';
import type { BrokerClient } from './broker-client.js';

export interface ToolDeps {
  readonly broker: BrokerClient;
  /** The agent's own token. */
  agentToken(): Promise<string>;
  /** Waits between approval polls; injectable so tests never sleep. */
  readonly sleep?: (ms: number, signal: AbortSignal) => Promise<void>;
  /** Milliseconds, for approval deadlines. */
  readonly clock?: () => number;
}

export const defaultSleep = (ms: number, signal: AbortSignal): Promise<void> => delay(ms, undefined, { signal });

/** A fixed token (BATON_SUBJECT_TOKEN, or the `/mcp` bearer). */
export function fixedAgentToken(token: string): () => Promise<string> {
  return () => Promise.resolve(token);
}

/**
 * A client_credentials token of the client itself (SPEC §4 rule 10), fetched on first use
 * and again when less than 30 seconds of it are left.
 */
export function clientCredentialsAgentToken(broker: BrokerClient, nowSeconds = () => Math.floor(Date.now() / 1000)): () => Promise<string> {
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
