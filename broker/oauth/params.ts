/**
 * zod at the HTTP boundary: validates a parsed form against a grant's or endpoint's
 * schema and turns the first problem into `invalid_request` (zod's own error shape
 * never reaches the wire).
 * @module
 */
import { z } from 'zod';
import { InvalidRequest } from './errors.js';
import type { Form } from './form.js';

export function parseParams<S extends z.ZodType>(schema: S, form: Form): z.output<S> {
  const result = schema.safeParse(form);
  if (result.success) return result.data;
  const issue = result.error.issues[0]!;
  const name = issue.path.length > 0 ? String(issue.path[0]) : 'request';
  throw new InvalidRequest(issue.code === 'invalid_type' && issue.input === undefined ? `${name} is required` : `${name}: ${issue.message}`);
}

/** A single-valued text parameter. */
export const text = () => z.string();
/** A repeatable parameter (see `form.ts`), always an array after parsing. */
export const repeated = () => z.array(z.string()).default([]);
/** A positive whole number of seconds sent as text. */
export const seconds = () =>
  z
    .string()
    .regex(/^[1-9][0-9]{0,8}$/, 'must be a positive whole number of seconds')
    .transform(Number);
