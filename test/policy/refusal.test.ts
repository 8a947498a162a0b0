/** The one map from refusal reasons to RFC 6749 §5.2 / RFC 8693 §2.2.2 wire errors. */
import { describe, expect, it } from 'vitest';
import { OAuthError } from '../../broker/oauth/errors.js';
import {
  isRefusal,
  must,
  refusalToError,
  refuse,
  type Checked,
  type RefusalReason,
} from '../../broker/policy/refusal.js';

/** Every reason and the code it must map to; typed as a Record so a new reason fails to compile here too. */
const EXPECTED: Record<RefusalReason, string> = {
  scope_widened: 'invalid_scope',
  scope_empty: 'invalid_scope',
  audience_missing: 'invalid_request',
  audience_not_allowed: 'invalid_target',
  resource_invalid: 'invalid_target',
  lifetime_exhausted: 'invalid_request',
  depth_exceeded: 'invalid_request',
  chain_too_long: 'invalid_request',
  actor_loop: 'invalid_request',
  subject_not_for_actor: 'invalid_request',
  subject_token_invalid: 'invalid_request',
  subject_token_revoked: 'invalid_request',
  actor_token_invalid: 'invalid_request',
  token_type_unsupported: 'invalid_request',
  grant_not_allowed: 'unauthorized_client',
  binding_message_invalid: 'invalid_binding_message',
};

function wire(error: OAuthError) {
  return {
    name: error.constructor.name,
    code: error.code,
    status: error.status,
    description: error.description,
  };
}

describe('refusalToError', () => {
  it.each(Object.entries(EXPECTED) as Array<[RefusalReason, string]>)(
    'maps %s to %s with status 400',
    (reason, code) => {
      const error = refusalToError(refuse(reason, `why ${reason}`));
      expect(error).toBeInstanceOf(OAuthError);
      expect({
        code: error.code,
        status: error.status,
        description: error.description,
        message: error.message,
      }).toEqual({
        code,
        status: 400,
        description: `why ${reason}`,
        message: `why ${reason}`,
      });
    },
  );

  it('uses the typed subclass for each wire code', () => {
    expect(wire(refusalToError(refuse('scope_widened', 'm')))).toEqual({
      name: 'InvalidScope',
      code: 'invalid_scope',
      status: 400,
      description: 'm',
    });
    expect(wire(refusalToError(refuse('audience_not_allowed', 'm')))).toEqual({
      name: 'InvalidTarget',
      code: 'invalid_target',
      status: 400,
      description: 'm',
    });
    expect(wire(refusalToError(refuse('actor_loop', 'm')))).toEqual({
      name: 'InvalidRequest',
      code: 'invalid_request',
      status: 400,
      description: 'm',
    });
    expect(wire(refusalToError(refuse('grant_not_allowed', 'm')))).toEqual({
      name: 'UnauthorizedClient',
      code: 'unauthorized_client',
      status: 400,
      description: 'm',
    });
  });

  it('throws a TypeError for a reason outside the union', () => {
    expect(() => refusalToError({ refused: 'made_up' as RefusalReason, message: 'm' })).toThrow(
      new TypeError('unmapped refusal made_up'),
    );
  });
});

describe('refuse and isRefusal', () => {
  it('builds a refusal from a reason and a message', () => {
    expect(refuse('depth_exceeded', 'too deep')).toEqual({
      refused: 'depth_exceeded',
      message: 'too deep',
    });
  });

  it('tells a refusal from a checked value, including falsy values', () => {
    expect(isRefusal(refuse('scope_empty', 'none'))).toBe(true);
    expect(isRefusal({ ok: 'trips:read' })).toBe(false);
    expect(isRefusal({ ok: undefined })).toBe(false);
    expect(isRefusal({ ok: 0 })).toBe(false);
  });
});

describe('must', () => {
  it('returns the checked value', () => {
    expect(must({ ok: ['https://api.example'] })).toEqual(['https://api.example']);
  });

  it('returns an undefined checked value without throwing', () => {
    const result: Checked<string | undefined> = { ok: undefined };
    expect(must(result)).toBe(undefined);
  });

  it('throws the wire error for a refusal', () => {
    let thrown: unknown;
    try {
      must(refuse('audience_missing', 'audience or resource is required'));
    } catch (error) {
      thrown = error;
    }
    expect(thrown).toBeInstanceOf(OAuthError);
    expect(wire(thrown as OAuthError)).toEqual({
      name: 'InvalidRequest',
      code: 'invalid_request',
      status: 400,
      description: 'audience or resource is required',
    });
  });
});
