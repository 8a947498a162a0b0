/** SPEC §4 rule 4: scopes only narrow (issued ⊆ subject ∩ actor). */
import { describe, expect, it } from 'vitest';
import { narrowScope, splitScope } from '../../broker/policy/narrow-scope.js';

const SUBJECT = ['trips:read', 'trips:book', 'flights:book', 'hotels:book'];
const ACTOR = ['trips:read', 'trips:book', 'flights:book', 'cars:rent'];

describe('splitScope', () => {
  it('returns no scopes for an absent scope', () => {
    expect(splitScope(undefined)).toEqual([]);
  });

  it('returns no scopes for an empty or all-space string', () => {
    expect(splitScope('')).toEqual([]);
    expect(splitScope('   ')).toEqual([]);
  });

  it('splits on spaces, dropping empty pieces and duplicates, keeping first-seen order', () => {
    expect(splitScope('b  a b c a')).toEqual(['b', 'a', 'c']);
  });
});

describe('narrowScope', () => {
  it('issues exactly the requested scopes when they are in subject ∩ actor', () => {
    expect(
      narrowScope({
        requested: 'flights:book trips:read',
        subjectScopes: SUBJECT,
        actorScopes: ACTOR,
      }),
    ).toEqual({
      ok: 'flights:book trips:read',
    });
  });

  it('dedupes a scope requested twice', () => {
    expect(
      narrowScope({
        requested: 'trips:read trips:read  trips:book trips:read',
        subjectScopes: SUBJECT,
        actorScopes: ACTOR,
      }),
    ).toEqual({ ok: 'trips:read trips:book' });
  });

  it('refuses an empty requested scope as scope_empty', () => {
    expect(narrowScope({ requested: '', subjectScopes: SUBJECT, actorScopes: ACTOR })).toEqual({
      refused: 'scope_empty',
      message: 'the requested scope is empty',
    });
  });

  it('refuses a requested scope of only spaces as scope_empty', () => {
    expect(narrowScope({ requested: '   ', subjectScopes: SUBJECT, actorScopes: ACTOR })).toEqual({
      refused: 'scope_empty',
      message: 'the requested scope is empty',
    });
  });

  it('refuses a scope the subject token lacks, even though the actor may hold it', () => {
    expect(
      narrowScope({
        requested: 'trips:read cars:rent',
        subjectScopes: SUBJECT,
        actorScopes: ACTOR,
      }),
    ).toEqual({
      refused: 'scope_widened',
      message: 'scope not allowed: cars:rent (may ask for: trips:read trips:book flights:book)',
    });
  });

  it('refuses a scope the actor may not hold, even though the subject token carries it', () => {
    expect(
      narrowScope({ requested: 'hotels:book', subjectScopes: SUBJECT, actorScopes: ACTOR }),
    ).toEqual({
      refused: 'scope_widened',
      message: 'scope not allowed: hotels:book (may ask for: trips:read trips:book flights:book)',
    });
  });

  it('names every scope outside the allowed set', () => {
    expect(
      narrowScope({
        requested: 'hotels:book trips:read admin cars:rent',
        subjectScopes: SUBJECT,
        actorScopes: ACTOR,
      }),
    ).toEqual({
      refused: 'scope_widened',
      message:
        'scope not allowed: hotels:book admin cars:rent (may ask for: trips:read trips:book flights:book)',
    });
  });

  it('says "nothing" may be asked for when subject and actor share no scope', () => {
    expect(
      narrowScope({ requested: 'trips:read', subjectScopes: ['a'], actorScopes: ['b'] }),
    ).toEqual({
      refused: 'scope_widened',
      message: 'scope not allowed: trips:read (may ask for: nothing)',
    });
  });

  it('issues the intersection, in subject-token order, when no scope is requested', () => {
    expect(
      narrowScope({ requested: undefined, subjectScopes: SUBJECT, actorScopes: ACTOR }),
    ).toEqual({
      ok: 'trips:read trips:book flights:book',
    });
  });

  it('dedupes the intersection when the subject token lists a scope twice', () => {
    expect(
      narrowScope({
        requested: undefined,
        subjectScopes: ['a', 'b', 'a'],
        actorScopes: ['a', 'b', 'b'],
      }),
    ).toEqual({ ok: 'a b' });
  });

  it('refuses an empty intersection as scope_empty when no scope is requested', () => {
    expect(
      narrowScope({ requested: undefined, subjectScopes: ['hotels:book'], actorScopes: ACTOR }),
    ).toEqual({
      refused: 'scope_empty',
      message: 'the subject token and the client share no scope',
    });
  });

  it('refuses when the subject token carries no scope at all and none is requested', () => {
    expect(narrowScope({ requested: undefined, subjectScopes: [], actorScopes: ACTOR })).toEqual({
      refused: 'scope_empty',
      message: 'the subject token and the client share no scope',
    });
  });

  it('refuses when the actor may hold no scope at all', () => {
    expect(
      narrowScope({ requested: 'trips:read', subjectScopes: SUBJECT, actorScopes: [] }),
    ).toEqual({
      refused: 'scope_widened',
      message: 'scope not allowed: trips:read (may ask for: nothing)',
    });
  });

  it('matches scopes exactly, not by prefix or case', () => {
    expect(
      narrowScope({
        requested: 'trips',
        subjectScopes: ['trips:read'],
        actorScopes: ['trips:read'],
      }),
    ).toEqual({
      refused: 'scope_widened',
      message: 'scope not allowed: trips (may ask for: trips:read)',
    });
    expect(
      narrowScope({
        requested: 'TRIPS:READ',
        subjectScopes: ['trips:read'],
        actorScopes: ['trips:read'],
      }),
    ).toEqual({
      refused: 'scope_widened',
      message: 'scope not allowed: TRIPS:READ (may ask for: trips:read)',
    });
  });
});

describe('narrowScope messages quote what was asked safely', () => {
  it('shows at most 8 refused scopes, each wire-safe and cut to 64 characters', () => {
    const asked = [
      'ev"il\u001b[2J',
      'x'.repeat(100),
      ...Array.from({ length: 10 }, (_, i) => `s${i}`),
    ].join(' ');
    expect(
      narrowScope({ requested: asked, subjectScopes: ['trips:read'], actorScopes: ['trips:read'] }),
    ).toEqual({
      refused: 'scope_widened',
      message: `scope not allowed: ev?il?[2J ${'x'.repeat(61)}... s0 s1 s2 s3 s4 s5 (and 4 more) (may ask for: trips:read)`,
    });
  });
});
