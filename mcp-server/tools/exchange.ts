/**
 * The exchange behind `get_task_token` and `delegate_to_agent`: the subject token is the
 * one the model passed or else the agent's own; the token cache answers a repeated
 * request; and when the broker refuses the agent's own token (revoked, expired), the
 * agent forgets it and the model is told to get a new one (`NoAgentToken`).
 * @module
 */
import { BrokerRefused, type ExchangeParams, type TokenResponse } from '../broker-client.js';
import { NoAgentToken } from '../results.js';
import type { ToolDeps } from '../tool-deps.js';

/** The broker's refusals that mean the subject token itself is no good any more. */
function subjectTokenDead(error: BrokerRefused): boolean {
  const d = (error.errorDescription ?? '').toLowerCase();
  return d.includes('subject token') && /revoked|expired|not active|not in baton/.test(d);
}

export async function exchangeForTask(
  deps: ToolDeps,
  request: Omit<ExchangeParams, 'subjectToken'> & { subjectToken: string | undefined },
): Promise<TokenResponse> {
  const own = request.subjectToken === undefined;
  const params: ExchangeParams = {
    ...request,
    subjectToken: request.subjectToken ?? (await deps.agentToken()),
  };
  try {
    if (deps.tokens === undefined) return await deps.broker.exchange(params);
    const caller = (await deps.callerKey?.()) ?? deps.broker.clientId;
    return await deps.tokens.exchange(deps.broker, caller, params);
  } catch (error) {
    if (own && deps.agentTokenRefused !== undefined && error instanceof BrokerRefused) {
      if (subjectTokenDead(error)) {
        deps.agentTokenRefused(params.subjectToken);
        throw new NoAgentToken('refused', error.errorDescription);
      }
    }
    throw error;
  }
}

/** After a revocation through the tools: the caller's cached tokens may derive from it. */
export async function forgetCallerTokens(deps: ToolDeps): Promise<void> {
  if (deps.tokens === undefined) return;
  deps.tokens.forgetCaller((await deps.callerKey?.()) ?? deps.broker.clientId);
}
