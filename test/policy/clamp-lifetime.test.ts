/** SPEC §4 rule 6: lifetime never grows. */
import { describe, expect, it } from 'vitest';
import { clampLifetime } from '../../broker/policy/clamp-lifetime.js';

const NOW = 1_700_000_000;
const EXHAUSTED = {
  refused: 'lifetime_exhausted',
  message: 'the token to exchange has no lifetime left',
};

describe('clampLifetime', () => {
  it('issues now + the default ttl when nothing else is shorter', () => {
    expect(
      clampLifetime({
        now: NOW,
        defaultTtl: 300,
        maxTtl: 900,
        subjectExp: NOW + 3600,
        actorTokenExp: NOW + 3600,
      }),
    ).toEqual({ ok: NOW + 300 });
  });

  it('issues now + the default ttl when there is no subject or actor token exp', () => {
    expect(clampLifetime({ now: NOW, defaultTtl: 300, maxTtl: 900 })).toEqual({ ok: NOW + 300 });
  });

  it('clamps the default ttl to the maximum ttl', () => {
    expect(
      clampLifetime({ now: NOW, defaultTtl: 300, maxTtl: 120, subjectExp: NOW + 3600 }),
    ).toEqual({ ok: NOW + 120 });
  });

  it('issues the requested ttl when it is shorter than the default', () => {
    expect(
      clampLifetime({
        now: NOW,
        defaultTtl: 300,
        maxTtl: 900,
        requestedTtl: 60,
        subjectExp: NOW + 3600,
      }),
    ).toEqual({
      ok: NOW + 60,
    });
  });

  it('issues a requested ttl longer than the default, up to the maximum', () => {
    expect(
      clampLifetime({
        now: NOW,
        defaultTtl: 300,
        maxTtl: 900,
        requestedTtl: 600,
        subjectExp: NOW + 3600,
      }),
    ).toEqual({
      ok: NOW + 600,
    });
  });

  it('clamps a requested ttl above the maximum to the maximum', () => {
    expect(
      clampLifetime({
        now: NOW,
        defaultTtl: 300,
        maxTtl: 900,
        requestedTtl: 86_400,
        subjectExp: NOW + 86_400,
      }),
    ).toEqual({
      ok: NOW + 900,
    });
  });

  it('never outlives the subject token', () => {
    expect(clampLifetime({ now: NOW, defaultTtl: 300, maxTtl: 900, subjectExp: NOW + 42 })).toEqual(
      { ok: NOW + 42 },
    );
  });

  it('never outlives the subject token, even when a longer ttl is requested', () => {
    expect(
      clampLifetime({
        now: NOW,
        defaultTtl: 300,
        maxTtl: 900,
        requestedTtl: 900,
        subjectExp: NOW + 42,
      }),
    ).toEqual({
      ok: NOW + 42,
    });
  });

  it('never outlives the actor token', () => {
    expect(
      clampLifetime({
        now: NOW,
        defaultTtl: 300,
        maxTtl: 900,
        subjectExp: NOW + 3600,
        actorTokenExp: NOW + 17,
      }),
    ).toEqual({ ok: NOW + 17 });
  });

  it('takes the earliest of subject and actor token exp', () => {
    expect(
      clampLifetime({
        now: NOW,
        defaultTtl: 300,
        maxTtl: 900,
        subjectExp: NOW + 30,
        actorTokenExp: NOW + 40,
      }),
    ).toEqual({ ok: NOW + 30 });
  });

  it('issues exp = now + 1 for a subject token that expires in one second', () => {
    expect(clampLifetime({ now: NOW, defaultTtl: 300, maxTtl: 900, subjectExp: NOW + 1 })).toEqual({
      ok: NOW + 1,
    });
  });

  it('refuses a subject token that expires now', () => {
    expect(clampLifetime({ now: NOW, defaultTtl: 300, maxTtl: 900, subjectExp: NOW })).toEqual(
      EXHAUSTED,
    );
  });

  it('refuses a subject token that already expired', () => {
    expect(clampLifetime({ now: NOW, defaultTtl: 300, maxTtl: 900, subjectExp: NOW - 60 })).toEqual(
      EXHAUSTED,
    );
  });

  it('refuses when the actor token already expired', () => {
    expect(
      clampLifetime({
        now: NOW,
        defaultTtl: 300,
        maxTtl: 900,
        subjectExp: NOW + 3600,
        actorTokenExp: NOW - 1,
      }),
    ).toEqual(EXHAUSTED);
  });

  it('refuses a requested ttl of zero rather than issue a token born expired', () => {
    expect(
      clampLifetime({
        now: NOW,
        defaultTtl: 300,
        maxTtl: 900,
        requestedTtl: 0,
        subjectExp: NOW + 3600,
      }),
    ).toEqual(EXHAUSTED);
  });
});
