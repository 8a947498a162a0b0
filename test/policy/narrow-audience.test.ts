/** SPEC §4 rule 5: audience/resource required, each on the actor's allow-list, issued exactly. */
import { describe, expect, it } from 'vitest';
import { narrowAudience } from '../../broker/policy/narrow-audience.js';

const API = 'https://api.airline.example';
const HOTEL = 'https://api.hotel.example/v1';
const ALLOWED: ReadonlySet<string> = new Set([API, HOTEL, 'agent:flight-booker']);

describe('narrowAudience', () => {
  it('refuses when neither audience nor resource is given', () => {
    expect(narrowAudience({ audience: [], resource: [], allowed: ALLOWED })).toEqual({
      refused: 'audience_missing',
      message: 'audience or resource is required',
    });
  });

  it('issues a single allowed audience', () => {
    expect(
      narrowAudience({ audience: ['agent:flight-booker'], resource: [], allowed: ALLOWED }),
    ).toEqual({
      ok: ['agent:flight-booker'],
    });
  });

  it('issues a single allowed resource', () => {
    expect(narrowAudience({ audience: [], resource: [API], allowed: ALLOWED })).toEqual({
      ok: [API],
    });
  });

  it('issues audiences then resources, deduped, exactly as requested and nothing added', () => {
    expect(
      narrowAudience({
        audience: ['agent:flight-booker', API, 'agent:flight-booker'],
        resource: [HOTEL, API, HOTEL],
        allowed: ALLOWED,
      }),
    ).toEqual({ ok: ['agent:flight-booker', API, HOTEL] });
  });

  it('refuses a relative resource', () => {
    expect(narrowAudience({ audience: [], resource: ['/v1/flights'], allowed: ALLOWED })).toEqual({
      refused: 'resource_invalid',
      message: 'resource must be an absolute URI without a fragment: /v1/flights',
    });
  });

  it('refuses a resource that is a bare name', () => {
    expect(narrowAudience({ audience: [API], resource: ['airline'], allowed: ALLOWED })).toEqual({
      refused: 'resource_invalid',
      message: 'resource must be an absolute URI without a fragment: airline',
    });
  });

  it('refuses a resource with a fragment, even an empty one', () => {
    expect(
      narrowAudience({
        audience: [],
        resource: [`${API}#flights`],
        allowed: new Set([`${API}#flights`]),
      }),
    ).toEqual({
      refused: 'resource_invalid',
      message: `resource must be an absolute URI without a fragment: ${API}#flights`,
    });
    expect(narrowAudience({ audience: [], resource: [`${API}#`], allowed: ALLOWED })).toEqual({
      refused: 'resource_invalid',
      message: `resource must be an absolute URI without a fragment: ${API}#`,
    });
  });

  it('refuses an audience not on the allow-list, naming it and what may be asked for', () => {
    expect(
      narrowAudience({ audience: ['https://evil.example'], resource: [], allowed: ALLOWED }),
    ).toEqual({
      refused: 'audience_not_allowed',
      message: `audience not allowed: https://evil.example (may ask for: ${API} ${HOTEL} agent:flight-booker)`,
    });
  });

  it('refuses the whole request when one of several values is not allowed', () => {
    expect(
      narrowAudience({
        audience: [API, 'agent:someone-else'],
        resource: ['https://evil.example/x'],
        allowed: ALLOWED,
      }),
    ).toEqual({
      refused: 'audience_not_allowed',
      message: `audience not allowed: agent:someone-else https://evil.example/x (may ask for: ${API} ${HOTEL} agent:flight-booker)`,
    });
  });

  it('refuses a resource that is absolute but not on the allow-list', () => {
    expect(narrowAudience({ audience: [], resource: [`${API}/extra`], allowed: ALLOWED })).toEqual({
      refused: 'audience_not_allowed',
      message: `audience not allowed: ${API}/extra (may ask for: ${API} ${HOTEL} agent:flight-booker)`,
    });
  });

  it('says "nothing" may be asked for when the allow-list is empty', () => {
    expect(narrowAudience({ audience: [API], resource: [], allowed: new Set() })).toEqual({
      refused: 'audience_not_allowed',
      message: `audience not allowed: ${API} (may ask for: nothing)`,
    });
  });

  it('matches audiences exactly, so a trailing slash is a different audience', () => {
    expect(narrowAudience({ audience: [`${API}/`], resource: [], allowed: ALLOWED })).toEqual({
      refused: 'audience_not_allowed',
      message: `audience not allowed: ${API}/ (may ask for: ${API} ${HOTEL} agent:flight-booker)`,
    });
  });
});

describe('narrowAudience messages quote what was asked safely', () => {
  it('shows refused values wire-safe and bounded', () => {
    const audience = ['a\u202E"b', ...Array.from({ length: 9 }, (_, i) => `x${i}`)];
    expect(narrowAudience({ audience, resource: [], allowed: new Set([API]) })).toEqual({
      refused: 'audience_not_allowed',
      message: `audience not allowed: a??b x0 x1 x2 x3 x4 x5 x6 (and 2 more) (may ask for: ${API})`,
    });
    expect(
      narrowAudience({
        audience: [],
        resource: [`not a uri \\${'z'.repeat(100)}`],
        allowed: new Set([API]),
      }),
    ).toEqual({
      refused: 'resource_invalid',
      message: `resource must be an absolute URI without a fragment: not a uri ?${'z'.repeat(50)}...`,
    });
  });
});
