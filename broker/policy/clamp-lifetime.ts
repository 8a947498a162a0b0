/**
 * SPEC §4 rule 6 — lifetime never grows: `exp` ≤ the subject token's `exp`, ≤ the actor
 * token's `exp`, ≤ now + the actor's and the policy's maximum. A token that would be
 * born expired is refused rather than issued.
 * @module
 */
import { refuse, type Checked } from './refusal.js';

export interface ClampLifetimeInput {
  now: number;
  defaultTtl: number;
  /** The smaller of the client's and the policy's maximum lifetime, in seconds. */
  maxTtl: number;
  /** A lifetime the caller asked for (seconds), if any. */
  requestedTtl?: number | undefined;
  subjectExp?: number | undefined;
  actorTokenExp?: number | undefined;
}

/** Returns the issued token's `exp` (Unix seconds). */
export function clampLifetime(input: ClampLifetimeInput): Checked<number> {
  const { now, defaultTtl, maxTtl, requestedTtl, subjectExp, actorTokenExp } = input;
  const ttl = Math.min(requestedTtl ?? defaultTtl, maxTtl);
  let exp = now + ttl;
  if (subjectExp !== undefined) exp = Math.min(exp, subjectExp);
  if (actorTokenExp !== undefined) exp = Math.min(exp, actorTokenExp);
  if (exp <= now) return refuse('lifetime_exhausted', 'the token to exchange has no lifetime left');
  return { ok: exp };
}
