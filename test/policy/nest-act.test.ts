/** SPEC §4 rules 3 and 7: RFC 8693 §4.1 act nesting, depth limit, no loops. */
import { describe, expect, it } from 'vitest';
import { nestAct } from '../../broker/policy/nest-act.js';
import { actorsOf, isInvolved } from '../../broker/tokens/act.js';
import type { ActClaim } from '../../broker/tokens/claims.js';

/** Builds an act chain from the current actor (first) down to the oldest (last). */
function chain(...actors: string[]): ActClaim | undefined {
  let act: ActClaim | undefined;
  for (const sub of [...actors].reverse()) act = act === undefined ? { sub } : { sub, act };
  return act;
}

describe('actorsOf', () => {
  it('returns no actors for no act', () => {
    expect(actorsOf(undefined)).toEqual([]);
  });

  it('lists actors outermost (current) first, oldest last', () => {
    expect(actorsOf({ sub: 'c', act: { sub: 'b', act: { sub: 'a' } } })).toEqual(['c', 'b', 'a']);
  });
});

describe('nestAct', () => {
  it('starts a chain of one when the subject token has no act and no current actor', () => {
    expect(
      nestAct({ subjectAct: undefined, currentActor: undefined, actor: 'planner', maxDepth: 4 }),
    ).toEqual({
      ok: { sub: 'planner' },
    });
  });

  it('starts a chain of one on a Baton token issued to another client for itself', () => {
    // A client_credentials token of "planner" handed to booker: current actor is its client_id.
    expect(
      nestAct({ subjectAct: undefined, currentActor: 'planner', actor: 'booker', maxDepth: 4 }),
    ).toEqual({
      ok: { sub: 'booker' },
    });
  });

  it('nests the new actor over one earlier level', () => {
    expect(nestAct({ subjectAct: chain('a'), currentActor: 'a', actor: 'b', maxDepth: 4 })).toEqual(
      {
        ok: { sub: 'b', act: { sub: 'a' } },
      },
    );
  });

  it('nests the new actor over two earlier levels, oldest deepest', () => {
    expect(
      nestAct({ subjectAct: chain('b', 'a'), currentActor: 'b', actor: 'c', maxDepth: 4 }),
    ).toEqual({
      ok: { sub: 'c', act: { sub: 'b', act: { sub: 'a' } } },
    });
  });

  it('reaches exactly the maximum depth from three earlier levels', () => {
    expect(
      nestAct({ subjectAct: chain('c', 'b', 'a'), currentActor: 'c', actor: 'd', maxDepth: 4 }),
    ).toEqual({
      ok: { sub: 'd', act: { sub: 'c', act: { sub: 'b', act: { sub: 'a' } } } },
    });
  });

  it('refuses a fifth level over four earlier levels at max depth 4', () => {
    expect(
      nestAct({
        subjectAct: chain('d', 'c', 'b', 'a'),
        currentActor: 'd',
        actor: 'e',
        maxDepth: 4,
      }),
    ).toEqual({
      refused: 'depth_exceeded',
      message: 'delegation depth 5 exceeds the maximum of 4',
    });
  });

  it('refuses a subject token that already has five levels at max depth 4, even when re-targeted', () => {
    expect(
      nestAct({
        subjectAct: chain('e', 'd', 'c', 'b', 'a'),
        currentActor: 'e',
        actor: 'e',
        maxDepth: 4,
      }),
    ).toEqual({
      refused: 'depth_exceeded',
      message: 'delegation depth 5 exceeds the maximum of 4',
    });
  });

  it('refuses the first level when the maximum depth is zero', () => {
    expect(
      nestAct({ subjectAct: undefined, currentActor: undefined, actor: 'a', maxDepth: 0 }),
    ).toEqual({
      refused: 'depth_exceeded',
      message: 'delegation depth 1 exceeds the maximum of 0',
    });
  });

  it('adds no level when the current actor re-targets its own token', () => {
    expect(
      nestAct({ subjectAct: chain('b', 'a'), currentActor: 'b', actor: 'b', maxDepth: 4 }),
    ).toEqual({
      ok: { sub: 'b', act: { sub: 'a' } },
    });
  });

  it('lets the current actor re-target its own token at exactly the maximum depth', () => {
    expect(
      nestAct({
        subjectAct: chain('d', 'c', 'b', 'a'),
        currentActor: 'd',
        actor: 'd',
        maxDepth: 4,
      }),
    ).toEqual({ ok: { sub: 'd', act: { sub: 'c', act: { sub: 'b', act: { sub: 'a' } } } } });
  });

  it('keeps no act when a client re-targets its own client_credentials token', () => {
    expect(
      nestAct({ subjectAct: undefined, currentActor: 'planner', actor: 'planner', maxDepth: 4 }),
    ).toEqual({
      ok: undefined,
    });
  });

  it('refuses an actor that already acts one level deeper in the chain', () => {
    expect(
      nestAct({ subjectAct: chain('b', 'a'), currentActor: 'b', actor: 'a', maxDepth: 4 }),
    ).toEqual({
      refused: 'actor_loop',
      message: 'a already acts earlier in this chain; a chain may not loop',
    });
  });

  it('refuses an actor that is the oldest of a deep chain', () => {
    expect(
      nestAct({ subjectAct: chain('c', 'b', 'a'), currentActor: 'c', actor: 'a', maxDepth: 32 }),
    ).toEqual({
      refused: 'actor_loop',
      message: 'a already acts earlier in this chain; a chain may not loop',
    });
  });

  it('keeps extra claims of a trusted issuer act and counts its levels toward the depth', () => {
    const subjectAct: ActClaim = {
      sub: 'idp-agent',
      iss: 'https://idp.example',
      act: { sub: 'older' },
    };
    expect(
      nestAct({ subjectAct, currentActor: 'idp-agent', actor: 'planner', maxDepth: 3 }),
    ).toEqual({
      ok: {
        sub: 'planner',
        act: { sub: 'idp-agent', iss: 'https://idp.example', act: { sub: 'older' } },
      },
    });
    expect(
      nestAct({ subjectAct, currentActor: 'idp-agent', actor: 'planner', maxDepth: 2 }),
    ).toEqual({
      refused: 'depth_exceeded',
      message: 'delegation depth 3 exceeds the maximum of 2',
    });
  });
});

describe('isInvolved', () => {
  const token = { clientId: 'booker', act: { sub: 'booker', act: { sub: 'planner' } } };
  it('counts the token client and every actor in the chain as involved, nobody else', () => {
    expect(['booker', 'planner', 'narrow', 'alice'].map((c) => isInvolved(c, token))).toEqual([
      true,
      true,
      false,
      false,
    ]);
    expect(isInvolved('planner', { clientId: 'planner', act: null })).toBe(true);
  });
});
