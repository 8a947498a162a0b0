/**
 * Tool results a model can act on. Success carries short text plus `structuredContent`
 * (matching the tool's `outputSchema`). Failure is `isError: true` text that says what
 * happened: a policy refusal names what was refused and what the agent may ask for
 * instead; a down broker says so. `guard` wraps every handler so no input, however odd,
 * becomes a crash or a protocol error. A refusal's description is Baton's own wire text
 * (RFC 6749 §5.2 characters, bounded); it is passed through `wireText` again here because
 * over HTTP it arrived from the network.
 * @module
 */
import type { CallToolResult } from '@modelcontextprotocol/sdk/types.js';
import { forTerminal, wireText } from '../broker/text/show.js';
import { BrokerRefused, BrokerUnreachable, type BrokerClient } from './broker-client.js';

/**
 * The agent holds no token for a person: none was configured, the one it had expired,
 * or the broker refused it (revoked). Only stdio agents get here; the tool result tells
 * the model how to get one.
 */
export class NoAgentToken extends Error {
  constructor(
    readonly why: 'none' | 'expired' | 'refused',
    /** The broker's description of a refusal (its own wire text). */
    readonly brokerSaid?: string,
  ) {
    super(`no agent token (${why})`);
    this.name = 'NoAgentToken';
  }
}

const NO_TOKEN_BECAUSE = {
  none: 'You hold no token for a person yet.',
  expired: 'Your token for the person you act for has expired.',
  refused: 'Baton no longer accepts your token for the person you act for',
} as const;

/** What a model must do when it has no token to act with. */
export function noAgentTokenText(error: NoAgentToken): string {
  const because =
    error.why !== 'refused'
      ? NO_TOKEN_BECAUSE[error.why]
      : `${NO_TOKEN_BECAUSE.refused} (${error.brokerSaid === undefined ? 'revoked or expired' : wireText(error.brokerSaid)}).`;
  return [
    because,
    'Call request_approval with the username of the person you work for (user), the scope and audience this task needs, and a one-line reason. ' +
      'Once they approve, call this tool again: it then uses their token.',
    'If another agent handed you a token, pass it as subject_token instead.',
  ].join('\n');
}

export function ok(text: string, structuredContent: Record<string, unknown>): CallToolResult {
  return { content: [{ type: 'text', text }], structuredContent };
}

export function toolError(text: string): CallToolResult {
  return { content: [{ type: 'text', text }], isError: true };
}

/** What an agent can do about each kind of refusal. */
function hint(error: BrokerRefused): string {
  const d = (error.errorDescription ?? '').toLowerCase();
  switch (error.error) {
    case 'invalid_scope':
      return d.includes('share no scope')
        ? 'The token you exchanged and your policy have no scope in common; you need a token that carries a scope you are allowed.'
        : 'Ask again with only scopes from the "may ask for" list; scopes can only narrow along a chain.';
    case 'invalid_target':
      return 'Ask again with an audience from the "may ask for" list.';
    case 'unauthorized_client':
      return 'Your client is not allowed this grant by policy.';
    case 'invalid_client':
      return "The broker did not accept this agent's client credentials (check BATON_CLIENT_ID and its secret or key).";
    case 'access_denied':
      return 'The person said no. Do not ask again for the same thing without a new reason.';
    case 'expired_token':
      return 'The approval request expired before the person answered; start a new one if it is still needed.';
    case 'invalid_binding_message':
      return 'Give a reason of at most 100 characters of plain text, without line breaks or control characters.';
    default:
      break;
  }
  if (d.includes('revoked'))
    return 'That token has been revoked, with everything derived from it; get a fresh token from the person or the agent that handed it to you.';
  if (d.includes('depth'))
    return 'The chain is as long as policy allows; do the work yourself with get_task_token instead of delegating further.';
  if (d.includes('loop'))
    return 'That agent already acts earlier in this chain; a chain may not loop back to it.';
  if (d.includes('handed to'))
    return "That token was handed to another agent; only it (or the token's current actor) may exchange it.";
  if (d.includes('expired') || d.includes('no lifetime left'))
    return 'That token has expired; get a fresh one.';
  return 'Check the request against what your policy allows.';
}

/** The text of a refusal: what was refused, why, and what the agent may ask for instead. */
export function refusalText(action: string, error: BrokerRefused, broker: BrokerClient): string {
  const lines = [
    `Baton refused to ${action}: ${wireText(error.error, 64)}${error.errorDescription ? ` (${wireText(error.errorDescription)})` : ''}.`,
    hint(error),
  ];
  const allowed = broker.allowances();
  if (allowed !== undefined) {
    lines.push(
      `As client "${broker.clientId}" you may ask for scopes: ${allowed.scopes.join(' ') || '(none)'}; audiences: ${allowed.audiences.join(' ') || '(none)'}.`,
    );
  }
  return lines.join('\n');
}

/** Runs a tool body; every failure becomes an `isError` result, never a thrown error. */
export async function guard(
  action: string,
  broker: BrokerClient,
  body: () => Promise<CallToolResult>,
): Promise<CallToolResult> {
  try {
    return await body();
  } catch (error) {
    if (error instanceof NoAgentToken) return toolError(noAgentTokenText(error));
    if (error instanceof BrokerRefused) return toolError(refusalText(action, error, broker));
    if (error instanceof BrokerUnreachable)
      return toolError(`Could not ${action}: ${error.message}`);
    // Unexpected: say what, never a stack (and never a token: messages here come from our code or zod).
    const message = error instanceof Error ? error.message : String(error);
    return toolError(`Could not ${action}: ${forTerminal(message, 500)}`);
  }
}
