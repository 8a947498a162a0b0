/**
 * Pure reads of a verified token's delegation claims: the RFC 8693 §4.1 `act` chain as a
 * list of actors (outermost `act` = the current actor, so the list runs current first,
 * oldest last) and the RFC 9068 `scope` claim as a list. The shapes come from a token,
 * so they are checked, and nesting is capped so a hostile token cannot make the API
 * walk without end. No I/O, no clock.
 * @module
 */

/** Deeper than this is refused whatever `maxDepth` says: no real chain is this long. */
export const MAX_ACT_NESTING = 32;

/**
 * The actors of an `act` claim, current first: `{sub:'b', act:{sub:'a'}}` → `['b', 'a']`.
 * `[]` when the claim is absent; `null` when it is malformed (a level that is not an
 * object with a non-empty string `sub`, or nesting past `MAX_ACT_NESTING`).
 */
export function actorsOf(act: unknown): string[] | null {
  const actors: string[] = [];
  for (let level = act; level !== undefined; ) {
    if (actors.length >= MAX_ACT_NESTING) return null;
    if (typeof level !== 'object' || level === null || Array.isArray(level)) return null;
    const { sub, act: inner } = level as { sub?: unknown; act?: unknown };
    if (typeof sub !== 'string' || sub === '') return null;
    actors.push(sub);
    level = inner;
  }
  return actors;
}

/** RFC 9068 §2.2.3 `scope` (space-separated) as a list; `[]` when absent, `null` when not a string. */
export function scopesOf(scope: unknown): string[] | null {
  if (scope === undefined) return [];
  if (typeof scope !== 'string') return null;
  return [...new Set(scope.split(' ').filter(Boolean))];
}

/** The required scopes the token does not hold, in the order they were required. */
export function missingScopes(required: readonly string[], held: readonly string[]): string[] {
  const have = new Set(held);
  return required.filter((s) => !have.has(s));
}
