/**
 * Pure reads of a verified token's delegation claims: the RFC 8693 §4.1 `act` chain as a
 * list of actors (outermost `act` = the current actor, so the list runs current first,
 * oldest last) and the RFC 9068 `scope` claim as a list. The shapes come from a token,
 * so they are checked, and nesting is capped so a hostile token cannot make the API
 * walk without end. No I/O, no clock.
 * @module
 */
import { splitScope } from '../policy/narrow-scope.js';
import { actorsOf as chainActors } from '../tokens/act.js';
import { readAct } from '../tokens/act.js';

/**
 * The actors of an `act` claim, current first: `{sub:'b', act:{sub:'a'}}` → `['b', 'a']`.
 * `[]` when the claim is absent; `null` when it is malformed (a level that is not an
 * object with a non-empty string `sub`, or nested past the broker's cap). The broker's
 * own readers, so an API judges a chain exactly as Baton does.
 */
export function actorsOf(act: unknown): string[] | null {
  const parsed = readAct(act);
  return parsed === null ? null : chainActors(parsed);
}

/** RFC 9068 §2.2.3 `scope` (space-separated) as a list; `[]` when absent, `null` when not a string. */
export function scopesOf(scope: unknown): string[] | null {
  if (scope === undefined) return [];
  return typeof scope === 'string' ? splitScope(scope) : null;
}

/** The required scopes the token does not hold, in the order they were required. */
export function missingScopes(required: readonly string[], held: readonly string[]): string[] {
  const have = new Set(held);
  return required.filter((s) => !have.has(s));
}
