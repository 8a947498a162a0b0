/** SPEC §4 rules 1 and 8: token types an exchange may name. */
import { describe, expect, it } from 'vitest';
import { checkTokenTypes, type TokenTypesInput } from '../../broker/policy/token-types.js';

const AT = 'urn:ietf:params:oauth:token-type:access_token';
const JWT = 'urn:ietf:params:oauth:token-type:jwt';
const REFRESH = 'urn:ietf:params:oauth:token-type:refresh_token';
const ID_TOKEN = 'urn:ietf:params:oauth:token-type:id_token';

function input(over: Partial<TokenTypesInput>): TokenTypesInput {
  return {
    subjectTokenType: AT,
    actorToken: undefined,
    actorTokenType: undefined,
    requestedTokenType: undefined,
    ...over,
  };
}

const BAD_SUBJECT = {
  refused: 'token_type_unsupported',
  message: 'subject_token_type must be an access_token or jwt token type',
};
const NOT_PAIRED = {
  refused: 'token_type_unsupported',
  message: 'actor_token and actor_token_type go together',
};
const BAD_ACTOR = {
  refused: 'token_type_unsupported',
  message: 'actor_token_type must be an access_token or jwt token type',
};
const BAD_REQUESTED = {
  refused: 'token_type_unsupported',
  message: 'requested_token_type must be an access_token or jwt token type; Baton issues no other',
};

describe('checkTokenTypes', () => {
  it('accepts an access_token subject token', () => {
    expect(checkTokenTypes(input({ subjectTokenType: AT }))).toEqual({ ok: true });
  });

  it('accepts a jwt subject token', () => {
    expect(checkTokenTypes(input({ subjectTokenType: JWT }))).toEqual({ ok: true });
  });

  it('refuses a missing subject_token_type', () => {
    expect(checkTokenTypes(input({ subjectTokenType: undefined }))).toEqual(BAD_SUBJECT);
  });

  it('refuses a refresh_token, id_token or made-up subject_token_type', () => {
    expect(checkTokenTypes(input({ subjectTokenType: REFRESH }))).toEqual(BAD_SUBJECT);
    expect(checkTokenTypes(input({ subjectTokenType: ID_TOKEN }))).toEqual(BAD_SUBJECT);
    expect(checkTokenTypes(input({ subjectTokenType: 'access_token' }))).toEqual(BAD_SUBJECT);
  });

  it('accepts an actor_token with a jwt or access_token type', () => {
    expect(checkTokenTypes(input({ actorToken: 'eyJ.x.y', actorTokenType: JWT }))).toEqual({
      ok: true,
    });
    expect(checkTokenTypes(input({ actorToken: 'eyJ.x.y', actorTokenType: AT }))).toEqual({
      ok: true,
    });
  });

  it('refuses an actor_token without actor_token_type', () => {
    expect(checkTokenTypes(input({ actorToken: 'eyJ.x.y' }))).toEqual(NOT_PAIRED);
  });

  it('refuses an actor_token_type without actor_token', () => {
    expect(checkTokenTypes(input({ actorTokenType: AT }))).toEqual(NOT_PAIRED);
  });

  it('refuses an actor_token_type that is neither access_token nor jwt', () => {
    expect(checkTokenTypes(input({ actorToken: 'eyJ.x.y', actorTokenType: ID_TOKEN }))).toEqual(
      BAD_ACTOR,
    );
  });

  it('accepts a requested access_token or jwt', () => {
    expect(checkTokenTypes(input({ requestedTokenType: AT }))).toEqual({ ok: true });
    expect(checkTokenTypes(input({ requestedTokenType: JWT }))).toEqual({ ok: true });
  });

  it('refuses a requested refresh_token', () => {
    expect(checkTokenTypes(input({ requestedTokenType: REFRESH }))).toEqual(BAD_REQUESTED);
  });

  it('refuses a requested id_token', () => {
    expect(checkTokenTypes(input({ requestedTokenType: ID_TOKEN }))).toEqual(BAD_REQUESTED);
  });

  it('checks the subject type before the actor pairing', () => {
    expect(checkTokenTypes(input({ subjectTokenType: REFRESH, actorToken: 'eyJ.x.y' }))).toEqual(
      BAD_SUBJECT,
    );
  });
});
