/**
 * zod at the HTTP boundary: validates a parsed form against a grant's or endpoint's
 * schema and turns the first problem into `invalid_request` with a sentence of Baton's
 * own ("scope must be at most 2048 characters"): zod's own wording and the value that
 * failed never reach the wire. A check with a message of its own words it starting with
 * "must", and the sentence is the parameter's name followed by that message.
 * @module
 */
import { z } from 'zod';
import { isUsername, USERNAME_RULE } from '../text/username.js';
import { InvalidRequest } from './errors.js';
import type { Form } from './form.js';
import {
  MAX_REPEATED_VALUE_CHARS,
  MAX_REPEATED_VALUES,
  MAX_SCOPE_CHARS,
  MAX_SCOPE_TOKENS,
} from './limits.js';

type Issue = z.core.$ZodIssue;

/** The wire sentence for one zod issue; never quotes the input. */
export function describeIssue(issue: Issue): string {
  const name = issue.path.length > 0 ? String(issue.path[0]) : 'the request';
  // A value inside a repeated parameter (`audience`, `resource`).
  const subject = issue.path.length > 1 ? `each ${name} value` : name;
  if (issue.message.startsWith('must ')) return `${subject} ${issue.message}`;
  switch (issue.code) {
    case 'invalid_type':
      return issue.input === undefined
        ? `${name} is required`
        : `${name} is not in the expected form`;
    case 'too_big':
      return issue.origin === 'array'
        ? `${name} may be sent at most ${String(issue.maximum)} times`
        : `${subject} must be at most ${String(issue.maximum)} characters`;
    case 'too_small':
      return issue.origin === 'array' ? `${name} is required` : `${subject} must not be empty`;
    default:
      return `${subject} is not valid`;
  }
}

export function parseParams<S extends z.ZodType>(schema: S, form: Form): z.output<S> {
  const result = schema.safeParse(form);
  if (result.success) return result.data;
  throw new InvalidRequest(describeIssue(result.error.issues[0]!));
}

/** A single-valued text parameter. */
export const text = () => z.string();
/**
 * A repeatable parameter (see `form.ts`), always an array after parsing: at most
 * `MAX_REPEATED_VALUES` values of at most `MAX_REPEATED_VALUE_CHARS` each.
 */
export const repeated = () =>
  z
    .array(
      z
        .string()
        .max(MAX_REPEATED_VALUE_CHARS, `must be at most ${MAX_REPEATED_VALUE_CHARS} characters`),
    )
    .max(MAX_REPEATED_VALUES, `must be sent at most ${MAX_REPEATED_VALUES} times`)
    .default([]);

/** Counts the scope tokens of a space-separated `scope` without allocating. */
function scopeTokens(scope: string): number {
  let count = 0;
  for (let i = 0; i < scope.length; i++) {
    if (scope.charCodeAt(i) !== 32 && (i === 0 || scope.charCodeAt(i - 1) === 32)) count++;
  }
  return count;
}

/** `scope` (RFC 6749 §3.3): at most `MAX_SCOPE_CHARS` characters and `MAX_SCOPE_TOKENS` scopes. */
export const scope = () =>
  z
    .string()
    .max(MAX_SCOPE_CHARS, `must be at most ${MAX_SCOPE_CHARS} characters`)
    .refine(
      (s) => scopeTokens(s) <= MAX_SCOPE_TOKENS,
      `must hold at most ${MAX_SCOPE_TOKENS} scopes`,
    );

/** A username (`login_hint`): the one rule of `text/username.ts`. */
export const username = () =>
  z.string().refine(isUsername, `must be a username: ${USERNAME_RULE.replace(/^must be /, '')}`);

/** A positive whole number of seconds sent as text. */
export const seconds = () =>
  z
    .string()
    .regex(/^[1-9][0-9]{0,8}$/, 'must be a positive whole number of seconds')
    .transform(Number);
