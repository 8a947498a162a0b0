/**
 * Reads an `application/x-www-form-urlencoded` body (RFC 6749 §3.2) the strict way:
 * - another content type is `invalid_request`;
 * - a parameter sent twice is `invalid_request` (RFC 6749 §3.1), except the ones a
 *   spec lets repeat (RFC 8693 `audience`, RFC 8707 `resource`);
 * - a parameter sent without a value is treated as omitted (RFC 6749 §3.1).
 * The 64 KB cap is enforced before this by the app's `bodyLimit`.
 * @module
 */
import type { Context } from 'hono';
import { InvalidRequest } from './errors.js';

/** Parameters that may appear more than once. */
const REPEATABLE = new Set(['audience', 'resource']);

export type Form = Record<string, string | string[]>;

export function parseForm(body: string, repeatable: ReadonlySet<string> = REPEATABLE): Form {
  const form: Form = Object.create(null);
  for (const [key, value] of new URLSearchParams(body)) {
    if (value === '') continue;
    const seen = form[key];
    if (seen === undefined) {
      form[key] = repeatable.has(key) ? [value] : value;
    } else if (Array.isArray(seen)) {
      seen.push(value);
    } else {
      throw new InvalidRequest(`parameter ${key} was sent more than once`);
    }
  }
  return form;
}

export async function readForm(c: Context): Promise<Form> {
  const type = c.req.header('content-type');
  if (type === undefined || type.split(';', 1)[0]!.trim().toLowerCase() !== 'application/x-www-form-urlencoded') {
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
