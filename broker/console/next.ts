/**
 * Where sign-in returns a person to (`next`): only a path of the console itself,
 * relative to this origin, so a link to the sign-in page can never send a person
 * elsewhere after they sign in (no open redirect). Pure.
 * @module
 */

const MAX_NEXT_CHARS = 8192;

/** `next` when it is a same-origin path under `/console/`, else undefined. */
export function safeNext(next: string | undefined): string | undefined {
  if (next === undefined || next.length > MAX_NEXT_CHARS) return undefined;
  // One leading slash, then the console; no `//host`, no backslash (browsers read `/\` as `//`).
  if (!next.startsWith('/console/') || next.includes('\\')) return undefined;
  // eslint-disable-next-line no-control-regex
  if (/[\x00-\x20\x7f]/.test(next)) return undefined;
  const base = 'http://console.invalid';
  const url = new URL(next, base);
  if (url.origin !== base || !url.pathname.startsWith('/console/')) return undefined;
  return url.pathname + url.search;
}
