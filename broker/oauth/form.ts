/**
 * Reads an `application/x-www-form-urlencoded` body (RFC 6749 §3.2) the strict way:
 * - another content type is `invalid_request`;
 * - a parameter sent twice is `invalid_request` (RFC 6749 §3.1), except the ones a
 *   spec lets repeat (RFC 8693 `audience`, RFC 8707 `resource`); repeats are counted
 *   before empty values are dropped, so `subject_token=&subject_token=X` is refused
 *   rather than read as X;
 * - a parameter sent without a value is then treated as omitted (RFC 6749 §3.1).
 * The 64 KB cap is enforced before this by the app's `bodyLimit`; how many values a
 * repeatable parameter may have is checked by the grant's schema (`oauth/limits.ts`), so
 * that refusal is recorded in the ledger like any other.
 * @module
 */
import type { Context } from 'hono';
import { inputText } from '../text/show.js';
import { InvalidRequest } from './errors.js';

/** Parameters that may appear more than once. */
const REPEATABLE = new Set(['audience', 'resource']);

export type Form = Record<string, string | string[]>;

export function parseForm(body: string, repeatable: ReadonlySet<string> = REPEATABLE): Form {
  const form: Form = Object.create(null);
  /** Single-valued parameters seen with an empty value: they still count as sent. */
  let empty: Set<string> | undefined;
  for (const [key, value] of new URLSearchParams(body)) {
    const repeats = repeatable.has(key);
    if (!repeats && (form[key] !== undefined || empty?.has(key) === true)) {
      throw new InvalidRequest(`parameter ${inputText(key)} was sent more than once`);
    }
    if (value === '') {
      if (!repeats) (empty ??= new Set()).add(key);
      continue;
    }
    const seen = form[key];
    if (seen === undefined) form[key] = repeats ? [value] : value;
    else (seen as string[]).push(value);
  }
  return form;
}

export async function readForm(c: Context): Promise<Form> {
  const type = c.req.header('content-type');
  if (
    type === undefined ||
    type.split(';', 1)[0]!.trim().toLowerCase() !== 'application/x-www-form-urlencoded'
  ) {
    throw new InvalidRequest('the body must be application/x-www-form-urlencoded');
  }
  return parseForm(await c.req.text());
}

/** A single-valued parameter, or undefined. */
export function single(form: Form, key: string): string | undefined {
  const v = form[key];
  return Array.isArray(v) ? v[0] : v;
}

/** A repeatable parameter's values (empty when absent). */
export function many(form: Form, key: string): string[] {
  const v = form[key];
  return v === undefined ? [] : Array.isArray(v) ? v : [v];
}
