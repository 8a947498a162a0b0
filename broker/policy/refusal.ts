/**
 * Why an exchange is refused, as a tagged union. Policy functions return a `Refusal`
 * instead of throwing; `refusalToError` is the one exhaustive map to wire codes, so a
 * new reason without a mapping fails to compile.
 * @module
 */
import {
  InvalidBindingMessage,
  InvalidRequest,
  InvalidScope,
  InvalidTarget,
  UnauthorizedClient,
  type OAuthError,
} from '../oauth/errors.js';

export type RefusalReason =
  | 'scope_widened'
  | 'scope_empty'
  | 'audience_missing'
  | 'audience_not_allowed'
  | 'resource_invalid'
  | 'lifetime_exhausted'
  | 'depth_exceeded'
  | 'chain_too_long'
  | 'actor_loop'
  | 'subject_not_for_actor'
  | 'subject_token_invalid'
  | 'subject_token_revoked'
  | 'actor_token_invalid'
  | 'token_type_unsupported'
  | 'grant_not_allowed'
  | 'binding_message_invalid';

export interface Refusal {
  readonly refused: RefusalReason;
  /** Safe to send to the client: says what was refused, not how Baton checks it. */
  readonly message: string;
}

export type Checked<T> = { readonly ok: T } | Refusal;

export function refuse(refused: RefusalReason, message: string): Refusal {
  return { refused, message };
}

export function isRefusal<T>(result: Checked<T>): result is Refusal {
  return 'refused' in result;
}

export function refusalToError(refusal: Refusal): OAuthError {
  const error = wireError(refusal);
  error.reason = refusal.refused;
  return error;
}

function wireError(refusal: Refusal): OAuthError {
  switch (refusal.refused) {
    case 'scope_widened':
    case 'scope_empty':
      return new InvalidScope(refusal.message);
    case 'audience_not_allowed':
    case 'resource_invalid':
      return new InvalidTarget(refusal.message);
    case 'grant_not_allowed':
      return new UnauthorizedClient(refusal.message);
    case 'binding_message_invalid':
      return new InvalidBindingMessage(refusal.message);
    case 'audience_missing':
    case 'lifetime_exhausted':
    case 'depth_exceeded':
    case 'chain_too_long':
    case 'actor_loop':
    case 'subject_not_for_actor':
    case 'subject_token_invalid':
    case 'subject_token_revoked':
    case 'actor_token_invalid':
    case 'token_type_unsupported':
      // RFC 8693 §2.2.2: a bad or unacceptable subject/actor token is invalid_request.
      return new InvalidRequest(refusal.message);
    default: {
      const unmapped: never = refusal.refused;
      throw new TypeError(`unmapped refusal ${String(unmapped)}`);
    }
  }
}

/** Returns the checked value, or throws the wire error for a refusal. */
export function must<T>(result: Checked<T>): T {
  if (isRefusal(result)) throw refusalToError(result);
  return result.ok;
}
