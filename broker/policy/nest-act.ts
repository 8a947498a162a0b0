/**
 * SPEC §4 rules 3 and 7 — RFC 8693 §4.1 nesting: the new `act` is
 * `{ sub: actor, act: <subject's act> }`, outermost = current actor, oldest deepest.
 * An actor re-targeting its own token adds no level. More levels than
 * `max_delegation_depth`, or an actor already deeper in the chain, is refused.
 * @module
 */
import { actorsOf } from '../tokens/act.js';
import type { ActClaim } from '../tokens/claims.js';
import { refuse, type Checked } from './refusal.js';

export interface NestActInput {
  /** The subject token's `act`, if any. */
  subjectAct: ActClaim | undefined;
  /**
   * The subject token's current actor: its `act.sub`, or for a Baton token without
   * `act` its `client_id` (the client it was issued to acting for itself).
   */
  currentActor: string | undefined;
  /** The authenticated client doing this exchange. */
  actor: string;
  maxDepth: number;
}

/** Returns the issued token's `act` (undefined when nobody acts for `sub`). */
export function nestAct({
  subjectAct,
  currentActor,
  actor,
  maxDepth,
}: NestActInput): Checked<ActClaim | undefined> {
  const earlier = actorsOf(subjectAct);
  let act: ActClaim | undefined;
  if (actor === currentActor) {
    act = subjectAct;
  } else {
    if (earlier.includes(actor)) {
      return refuse(
        'actor_loop',
        `${actor} already acts earlier in this chain; a chain may not loop`,
      );
    }
    act = subjectAct === undefined ? { sub: actor } : { sub: actor, act: subjectAct };
  }
  const depth = actorsOf(act).length;
  if (depth > maxDepth) {
    return refuse('depth_exceeded', `delegation depth ${depth} exceeds the maximum of ${maxDepth}`);
  }
  return { ok: act };
}
