/**
 * The exchange behind `get_task_token` and `delegate_to_agent`: the subject token is the
 * one the model passed or else the agent's own; the token cache answers a repeated
 * request; and when the broker refuses the agent's own token (revoked, expired), the
 * agent forgets it and the model is told to get a new one (`NoAgentToken`).
 *
 * Also how a tool input names a token: the token itself, or the jti of one these tools
 * gave the same caller (the model reads jtis, never tokens).
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

const callerOf = async (deps: ToolDeps) => (await deps.callerKey?.()) ?? deps.broker.clientId;

/** Remembers a token the tools hand out, so the model can name it by jti later. */
export async function rememberIssued(deps: ToolDeps, token: string): Promise<void> {
  deps.tokens?.remember(await callerOf(deps), token);
}

/** Thrown (and shown as a tool error) when a jti names no token this caller was given. */
export class UnknownJti extends Error {
  constructor(jti: string) {
    super(
      `no token with jti ${jti} was issued to you through these tools (or it has expired); pass the token itself instead`,
    );
    this.name = 'UnknownJti';
  }
}

/** The token an input names: given as is, or by the jti of one this caller was issued. */
export async function namedToken(
  deps: ToolDeps,
  token: string | undefined,
  jti: string | undefined,
): Promise<string | undefined> {
  if (token !== undefined || jti === undefined) return token;
  const found = deps.tokens?.recall(await callerOf(deps), jti);
  if (found === undefined) throw new UnknownJti(jti);
  return found;
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
    const caller = await callerOf(deps);
    const issued = await deps.tokens.exchange(deps.broker, caller, params);
    deps.tokens.remember(caller, issued.access_token);
    return issued;
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
  deps.tokens.forgetCaller(await callerOf(deps));
}
