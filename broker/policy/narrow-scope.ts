/**
 * SPEC §4 rule 4 — scopes only narrow: issued ⊆ subject token's scope ∩ actor's scopes.
 * With no scope requested, the whole intersection is issued; an empty result is refused.
 * A refusal quotes the refused scopes through `inputList`: wire-safe, a few, each short.
 * @module
 */
import { inputList } from '../text/show.js';
import { refuse, type Checked } from './refusal.js';

/** Splits a space-separated scope string into distinct tokens, keeping first-seen order. */
export function splitScope(scope: string | undefined): string[] {
  if (scope === undefined) return [];
  return [...new Set(scope.split(' ').filter((s) => s !== ''))];
}

export interface NarrowScopeInput {
  /** The `scope` parameter, or undefined when none was sent. */
  requested: string | undefined;
  /** What the subject token carries. */
  subjectScopes: readonly string[];
  /** What policy lets the actor hold. */
  actorScopes: readonly string[];
}

/** Returns the issued scope as a space-separated string. */
export function narrowScope({
  requested,
  subjectScopes,
  actorScopes,
}: NarrowScopeInput): Checked<string> {
  const actor = new Set(actorScopes);
  const allowed = subjectScopes.filter((s) => actor.has(s));
  const allowedSet = new Set(allowed);
  if (requested === undefined) {
    if (allowed.length === 0) {
      return refuse('scope_empty', 'the subject token and the client share no scope');
    }
    return { ok: [...new Set(allowed)].join(' ') };
  }
  const asked = splitScope(requested);
  if (asked.length === 0) return refuse('scope_empty', 'the requested scope is empty');
  const outside = asked.filter((s) => !allowedSet.has(s));
  if (outside.length > 0) {
    return refuse(
      'scope_widened',
      `scope not allowed: ${inputList(outside)} (may ask for: ${[...allowedSet].join(' ') || 'nothing'})`,
    );
  }
  return { ok: asked.join(' ') };
}
