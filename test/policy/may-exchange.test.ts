/** SPEC §4 rule 2: who may exchange a subject token. */
import { describe, expect, it } from 'vitest';
import { mayExchange, type MayExchangeInput } from '../../broker/policy/may-exchange.js';

const BATON = 'http://baton.test';

function baton(over: Partial<MayExchangeInput>): MayExchangeInput {
  return {
    actor: 'booker',
    source: 'baton',
    aud: [],
    currentActor: undefined,
    mayAct: undefined,
    batonIssuer: BATON,
    ...over,
  };
}

function trusted(over: Partial<MayExchangeInput>): MayExchangeInput {
  return {
    actor: 'planner',
    source: 'trusted',
    aud: ['baton'],
    currentActor: undefined,
    mayAct: undefined,
    batonIssuer: BATON,
    ...over,
  };
}

describe('mayExchange for one of Baton’s own tokens', () => {
  it('allows the agent the token was handed to (aud holds agent:X)', () => {
    expect(
      mayExchange(baton({ aud: ['https://api.example', 'agent:booker'], currentActor: 'planner' })),
    ).toEqual({ ok: true });
  });

  it('allows the current actor to re-target its own token', () => {
    expect(mayExchange(baton({ aud: ['https://api.example'], currentActor: 'booker' }))).toEqual({
      ok: true,
    });
  });

  it('refuses an actor that is neither the hand-off target nor the current actor', () => {
    expect(
      mayExchange(
        baton({ aud: ['agent:someone-else', 'https://api.example'], currentActor: 'planner' }),
      ),
    ).toEqual({
      refused: 'subject_not_for_actor',
      message: 'the subject token was not handed to booker',
    });
  });

  it('refuses when the token has no current actor and no hand-off', () => {
    expect(mayExchange(baton({ aud: ['https://api.example'], currentActor: undefined }))).toEqual({
      refused: 'subject_not_for_actor',
      message: 'the subject token was not handed to booker',
    });
  });

  it('does not match an audience that merely contains the actor id', () => {
    expect(
      mayExchange(
        baton({ aud: ['agent:booker2', 'booker', 'agent:Booker'], currentActor: 'planner' }),
      ),
    ).toEqual({
      refused: 'subject_not_for_actor',
      message: 'the subject token was not handed to booker',
    });
  });

  it('ignores a may_act on a Baton token, which Baton never issues', () => {
    expect(
      mayExchange(
        baton({ aud: ['https://api.example'], currentActor: 'planner', mayAct: { sub: 'booker' } }),
      ),
    ).toEqual({
      refused: 'subject_not_for_actor',
      message: 'the subject token was not handed to booker',
    });
  });
});

describe('mayExchange for a trusted issuer’s token', () => {
  it('allows any actor when the token carries no may_act', () => {
    expect(mayExchange(trusted({}))).toEqual({ ok: true });
  });

  it('allows the actor that may_act.sub names', () => {
    expect(mayExchange(trusted({ mayAct: { sub: 'planner' } }))).toEqual({ ok: true });
  });

  it('refuses an actor that may_act.sub does not name', () => {
    expect(mayExchange(trusted({ mayAct: { sub: 'booker' } }))).toEqual({
      refused: 'subject_not_for_actor',
      message: "the subject token's may_act does not name planner",
    });
  });

  it('refuses a may_act without a sub', () => {
    expect(mayExchange(trusted({ mayAct: {} }))).toEqual({
      refused: 'subject_not_for_actor',
      message: "the subject token's may_act does not name planner",
    });
  });

  it('refuses a may_act.sub that is not a string', () => {
    expect(mayExchange(trusted({ mayAct: { sub: ['planner'] } }))).toEqual({
      refused: 'subject_not_for_actor',
      message: "the subject token's may_act does not name planner",
    });
  });

  it('allows may_act whose iss is Baton’s issuer', () => {
    expect(mayExchange(trusted({ mayAct: { sub: 'planner', iss: BATON } }))).toEqual({ ok: true });
  });

  it('refuses may_act whose iss is another issuer', () => {
    expect(
      mayExchange(trusted({ mayAct: { sub: 'planner', iss: 'https://idp.example' } })),
    ).toEqual({
      refused: 'subject_not_for_actor',
      message: "the subject token's may_act names another issuer",
    });
  });

  it('does not treat a hand-off audience as permission on a trusted token with may_act', () => {
    expect(
      mayExchange(trusted({ aud: ['baton', 'agent:planner'], mayAct: { sub: 'booker' } })),
    ).toEqual({
      refused: 'subject_not_for_actor',
      message: "the subject token's may_act does not name planner",
    });
  });
});
