/**
 * SPEC §4 rule 2 — who may exchange a subject token.
 * - One of Baton's own: actor X only if its `aud` holds `agent:X` (a hand-off to X) or X
 *   already is its current actor.
 * - A trusted issuer's: when it carries `may_act` (RFC 8693 §4.4), only the client that
 *   `may_act.sub` names, and `may_act.iss`, when present, must be Baton's issuer.
 *   (Its `aud` is checked against the issuer's configured audience at verification.)
 * @module
 */
import { refuse, type Checked } from './refusal.js';

export interface MayExchangeInput {
  actor: string;
  /** Which kind of issuer vouched for the subject token. */
  source: 'baton' | 'trusted';
  aud: readonly string[];
  currentActor: string | undefined;
  mayAct: { sub?: unknown; iss?: unknown } | undefined;
  batonIssuer: string;
}

export function mayExchange(input: MayExchangeInput): Checked<true> {
  const { actor, source, aud, currentActor, mayAct, batonIssuer } = input;
  if (source === 'baton') {
    if (aud.includes(`agent:${actor}`) || currentActor === actor) return { ok: true };
    return refuse('subject_not_for_actor', `the subject token was not handed to ${actor}`);
  }
  if (mayAct === undefined) return { ok: true };
  if (mayAct.sub !== actor) {
    return refuse('subject_not_for_actor', `the subject token's may_act does not name ${actor}`);
  }
  if (mayAct.iss !== undefined && mayAct.iss !== batonIssuer) {
    return refuse('subject_not_for_actor', "the subject token's may_act names another issuer");
  }
  return { ok: true };
}
