/**
 * What an operator reads when a configuration is wrong: one `path: sentence` line per
 * problem (`clients.0.max_ttl_seconds: must be at most 86400`), never zod's own wording
 * (`Too big: expected number to be <=86400`), and a JSON syntax error by line and column.
 *
 * `issueSentence` is a zod error map: parse with `schema.safeParse(input, { error:
 * issueSentence })` and zod uses it for every issue whose schema gave no message of its
 * own (a schema's message still wins), so the schemas keep their precise sentences and
 * every generic one reads as English too.
 * @module
 */
import type { z } from 'zod';
import { forTerminal } from '../text/show.js';

type RawIssue = z.core.$ZodRawIssue;

/** "a string", "an array", "null": what a JSON value is, for "must be X, not Y". */
function kindOf(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'an array';
  if (typeof value === 'number')
    return Number.isInteger(value) ? 'a number' : 'a fractional number';
  const type = typeof value;
  return /^[aeiou]/.test(type) ? `an ${type}` : `a ${type}`;
}

const EXPECTED: Record<string, string> = {
  int: 'a whole number',
  number: 'a number',
  string: 'a string',
  boolean: 'true or false',
  array: 'an array',
  object: 'an object',
};

function bound(
  issue: RawIssue & { code: 'too_big' | 'too_small' },
  word: 'most' | 'least',
): string {
  const limit = 'maximum' in issue ? issue.maximum : issue.minimum;
  const n = Number(limit);
  switch (issue.origin) {
    case 'string':
      return word === 'least' && n === 1
        ? 'must not be empty'
        : `must be at ${word} ${n} characters`;
    case 'array':
    case 'set':
      return word === 'least' && n === 1 ? 'must not be empty' : `must have at ${word} ${n} items`;
    default:
      if (issue.inclusive === false)
        return `must be ${word === 'most' ? 'less' : 'more'} than ${n}`;
      return `must be at ${word} ${n}`;
  }
}

/** A zod error map: one plain sentence per kind of issue. */
export function issueSentence(issue: RawIssue): string {
  switch (issue.code) {
    case 'invalid_type': {
      if (issue.input === undefined) return 'is required';
      if (issue.expected === 'int') return 'must be a whole number';
      return `must be ${EXPECTED[issue.expected] ?? issue.expected}, not ${kindOf(issue.input)}`;
    }
    case 'too_big':
      return bound(issue, 'most');
    case 'too_small':
      return bound(issue, 'least');
    case 'invalid_value':
      return `must be one of: ${issue.values.map((v) => String(v)).join(', ')}`;
    case 'invalid_format':
      if (issue.format === 'url') return 'must be a URL';
      if (issue.format === 'regex') return 'is not in the expected form';
      return `must be a valid ${issue.format}`;
    case 'not_multiple_of':
      return `must be a multiple of ${String(issue.divisor)}`;
    case 'unrecognized_keys':
      return `has unknown keys: ${issue.keys.join(', ')}`;
    case 'invalid_union':
      return 'matches none of the allowed forms';
    default:
      return 'is not valid here';
  }
}

/** Joins issues as `path.to.field: sentence` lines. */
export function formatIssues(error: z.ZodError, prefix = ''): string {
  const at = (path: PropertyKey[]) =>
    [prefix, ...path.map(String)].filter(Boolean).join('.') || '(root)';
  return error.issues
    .flatMap((issue) =>
      // A typo'd key is named where it stands: `clients.1.scope: unknown key`.
      issue.code === 'unrecognized_keys'
        ? issue.keys.map((key) => `${at([...issue.path, key])}: unknown key`)
        : [`${at(issue.path)}: ${issue.message}`],
    )
    .join('\n');
}

/**
 * Where JSON text first goes wrong, or undefined if it parses: an iterative scan (no
 * recursion, so no depth limit) of RFC 8259's grammar, because `JSON.parse` does not
 * always give a position, and its message quotes the surrounding text.
 */
function jsonErrorOffset(text: string): number | undefined {
  let i = 0;
  const stack: string[] = [];
  const ws = () => {
    while (i < text.length && ' \t\n\r'.includes(text[i]!)) i++;
  };
  const string = (): boolean => {
    i++; // opening quote
    while (i < text.length) {
      const c = text.charCodeAt(i);
      if (c === 0x22) return (i++, true);
      if (c < 0x20) return false;
      if (c === 0x5c) {
        const e = text[i + 1];
        if (e === 'u') {
          if (!/^[0-9A-Fa-f]{4}$/.test(text.slice(i + 2, i + 6))) return ((i += 2), false);
          i += 6;
        } else if (e !== undefined && '"\\/bfnrt'.includes(e)) i += 2;
        else return ((i += 1), false);
      } else i++;
    }
    return false;
  };
  const NUMBER = /-?(?:0|[1-9]\d*)(?:\.\d+)?(?:[eE][+-]?\d+)?/y;
  // expect: 'value' | 'key' (a member name, after `{` or `,`) | 'after' (a value ended)
  let expect: 'value' | 'key' | 'after' = 'value';
  for (;;) {
    ws();
    if (i >= text.length) return expect === 'after' && stack.length === 0 ? undefined : i;
    const c = text[i]!;
    if (expect === 'key') {
      if (c !== '"' || !string()) return i;
      ws();
      if (text[i] !== ':') return i;
      i++;
      expect = 'value';
      continue;
    }
    if (expect === 'after') {
      const top = stack.at(-1);
      if (top === undefined) return i;
      if (c === ',') {
        i++;
        expect = top === '{' ? 'key' : 'value';
      } else if ((c === '}' && top === '{') || (c === ']' && top === '[')) {
        stack.pop();
        i++;
      } else return i;
      continue;
    }
    // a value
    if (c === '{') {
      stack.push('{');
      i++;
      ws();
      if (text[i] === '}') {
        stack.pop();
        i++;
        expect = 'after';
      } else expect = 'key';
    } else if (c === '[') {
      stack.push('[');
      i++;
      ws();
      if (text[i] === ']') {
        stack.pop();
        i++;
        expect = 'after';
      }
    } else if (c === '"') {
      if (!string()) return i;
      expect = 'after';
    } else if (text.startsWith('true', i) || text.startsWith('null', i)) {
      i += 4;
      expect = 'after';
    } else if (text.startsWith('false', i)) {
      i += 5;
      expect = 'after';
    } else {
      NUMBER.lastIndex = i;
      if (!NUMBER.test(text)) return i;
      i = NUMBER.lastIndex;
      expect = 'after';
    }
  }
}

/** 1-based line and column of an offset (a column counts UTF-16 units, as editors mostly do). */
function lineAndColumn(text: string, offset: number): { line: number; column: number } {
  const before = text.slice(0, offset);
  const lastBreak = before.lastIndexOf('\n');
  return { line: before.split('\n').length, column: offset - lastBreak };
}

/** A hint for the usual hand-editing mistakes. */
function hint(text: string, offset: number): string {
  const c = text[offset]!;
  if (c === '}' || c === ']') {
    if (text.slice(0, offset).trimEnd().endsWith(',')) return ' (JSON allows no trailing comma)';
  }
  if (c === '/' && (text[offset + 1] === '/' || text[offset + 1] === '*'))
    return ' (JSON has no comments; a "$comment" key holds one)';
  if (c === '\n') return ' (a line break inside a string must be written \\n)';
  if (c === "'") return ' (JSON strings take double quotes)';
  return '';
}

/**
 * Where and why JSON text is not valid, as `line 3, column 25: unexpected "}"`, or
 * undefined when it parses. The offending character is shown inert (`forTerminal`).
 */
export function jsonSyntaxProblem(text: string): string | undefined {
  try {
    JSON.parse(text);
    return undefined;
  } catch {
    const offset = jsonErrorOffset(text) ?? text.length;
    const { line, column } = lineAndColumn(text, offset);
    const c = text.codePointAt(offset);
    const what =
      c === undefined
        ? 'the text ends too early'
        : `unexpected ${/^[\x21-\x7e]$/.test(String.fromCodePoint(c)) ? `"${String.fromCodePoint(c)}"` : forTerminal(String.fromCodePoint(c))}`;
    return `line ${line}, column ${column}: ${what}${c === undefined ? '' : hint(text, offset)}`;
  }
}

/** A configuration problem found at start: printed as is, exit code 1, no stack. */
export class ConfigError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ConfigError';
  }
}
