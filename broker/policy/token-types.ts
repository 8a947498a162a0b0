/**
 * SPEC §4 rules 1 and 8 — which token types an exchange may name.
 * `subject_token_type` and `actor_token_type` are an access token or a JWT;
 * `requested_token_type`, when given, is one of those two (never a refresh or ID token);
 * `actor_token` and `actor_token_type` come together or not at all.
 * @module
 */
import { TOKEN_TYPE_ACCESS_TOKEN, TOKEN_TYPE_JWT } from '../tokens/claims.js';
import { refuse, type Checked } from './refusal.js';

const ACCEPTED = new Set([TOKEN_TYPE_ACCESS_TOKEN, TOKEN_TYPE_JWT]);

export interface TokenTypesInput {
  subjectTokenType: string | undefined;
  actorToken: string | undefined;
  actorTokenType: string | undefined;
  requestedTokenType: string | undefined;
}

export function checkTokenTypes(input: TokenTypesInput): Checked<true> {
  const { subjectTokenType, actorToken, actorTokenType, requestedTokenType } = input;
  if (subjectTokenType === undefined || !ACCEPTED.has(subjectTokenType)) {
    return refuse(
      'token_type_unsupported',
      'subject_token_type must be an access_token or jwt token type',
    );
  }
  if ((actorToken === undefined) !== (actorTokenType === undefined)) {
    return refuse('token_type_unsupported', 'actor_token and actor_token_type go together');
  }
  if (actorTokenType !== undefined && !ACCEPTED.has(actorTokenType)) {
    return refuse(
      'token_type_unsupported',
      'actor_token_type must be an access_token or jwt token type',
    );
  }
  if (requestedTokenType !== undefined && !ACCEPTED.has(requestedTokenType)) {
    return refuse(
      'token_type_unsupported',
      'requested_token_type must be an access_token or jwt token type; Baton issues no other',
    );
  }
  return { ok: true };
}
