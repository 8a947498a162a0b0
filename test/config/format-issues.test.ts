/**
 * Issue 9, "an operator's first hour": no raw zod message (`Invalid input: expected
 * string, received undefined`, `Too big: expected number to be <=86400`) reaches an
 * operator. Each kind of problem reads as a sentence, through the real policy and
 * environment parsers; a JSON syntax error names the line and column.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import fc from 'fast-check';
import { afterAll, describe, expect, it } from 'vitest';
import { parseEnv } from '../../broker/config/env.js';
import { z } from 'zod';
import {
  ConfigError,
  issueSentence,
  jsonSyntaxProblem,
} from '../../broker/config/format-issues.js';
import { loadPolicyFile, parsePolicy } from '../../broker/config/policy.js';

const ISSUER = 'http://127.0.0.1:8787';
const SHA = 'a'.repeat(64);
const client = (change: Record<string, unknown> = {}) => ({
  client_id: 'a',
  client_secret_sha256: SHA,
  grant_types: ['client_credentials'],
  ...change,
});

function message(run: () => unknown): string {
  try {
    run();
  } catch (error) {
    expect(error).toBeInstanceOf(ConfigError);
    return (error as Error).message;
  }
  return 'nothing thrown';
}

const policyProblem = (input: unknown) => message(() => parsePolicy(input, ISSUER));

describe('each kind of schema problem is a sentence', () => {
  it('says a missing field is required', () => {
    expect(policyProblem({ clients: [{ client_id: 'a', client_secret_sha256: SHA }] })).toBe(
      'clients.0.grant_types: is required',
    );
    expect(policyProblem({})).toBe('clients: is required');
  });

  it('says a number is too big, too small or not whole', () => {
    expect(policyProblem({ clients: [client()], tokens: { max_ttl_seconds: 86_401 } })).toBe(
      'tokens.max_ttl_seconds: must be at most 86400',
    );
    expect(policyProblem({ clients: [client()], max_delegation_depth: 0 })).toBe(
      'max_delegation_depth: must be at least 1',
    );
    expect(policyProblem({ clients: [client()], max_delegation_depth: 2.5 })).toBe(
      'max_delegation_depth: must be a whole number',
    );
  });

  it('names the expected type and what was found', () => {
    expect(policyProblem({ clients: [client({ scopes: 'a b' })] })).toBe(
      'clients.0.scopes: must be an array, not a string',
    );
    expect(policyProblem({ clients: [client({ max_ttl_seconds: '600' })] })).toBe(
      'clients.0.max_ttl_seconds: must be a number, not a string',
    );
    expect(policyProblem({ clients: [client({ client_id: 7 })] })).toBe(
      'clients.0.client_id: must be a string, not a number',
    );
    expect(policyProblem({ clients: {} })).toBe('clients: must be an array, not an object');
  });

  it('lists the allowed values of an enum', () => {
    expect(policyProblem({ clients: [client({ token_endpoint_auth_method: 'none' })] })).toBe(
      'clients.0.token_endpoint_auth_method: must be one of: client_secret_basic, client_secret_post, private_key_jwt',
    );
  });

  it('says an empty string or list must not be empty, and a long one how long it may be', () => {
    const idp = { issuer: '', jwks: { keys: [] }, audience: 'baton' };
    expect(policyProblem({ clients: [client()], trusted_issuers: [idp] })).toBe(
      'trusted_issuers.0.issuer: must not be empty',
    );
    expect(policyProblem({ clients: [client({ grant_types: [] })] })).toBe(
      'clients.0.grant_types: must not be empty',
    );
    const sentence = (schema: z.ZodType, input: unknown) =>
      schema.safeParse(input, { error: issueSentence }).error?.issues[0]?.message;
    expect(sentence(z.string().max(3), 'abcd')).toBe('must be at most 3 characters');
    expect(sentence(z.array(z.string()).max(1), ['a', 'b'])).toBe('must have at most 1 items');
    expect(sentence(z.number().lt(5), 5)).toBe('must be less than 5');
    expect(sentence(z.string().regex(/^a+$/), 'b')).toBe('is not in the expected form');
    expect(sentence(z.email(), 'b')).toBe('must be a valid email');
    expect(sentence(z.url(), 'b')).toBe('must be a URL');
  });

  it('keeps the schema’s own sentences where it has one', () => {
    expect(policyProblem({ clients: [client({ client_secret_sha256: 'abc' })] })).toBe(
      'clients.0.client_secret_sha256: must be the 64 lowercase hex characters of a SHA-256 (npx baton new-client)',
    );
  });

  it('uses sentences for the environment too', () => {
    expect(message(() => parseEnv({ BATON_SYNC: 'OFF' }))).toBe(
      'BATON_SYNC: must be one of: FULL, NORMAL',
    );
  });

  it('never lets a raw zod message through, whatever the mistake', () => {
    const bad = [
      [],
      null,
      { clients: [null] },
      {
        clients: [
          client({
            jwks: { keys: [{}] },
            token_endpoint_auth_method: 'private_key_jwt',
            client_secret_sha256: undefined,
          }),
        ],
      },
      { clients: [client()], tokens: { default_ttl_seconds: -1, max_ttl_seconds: 'x' } },
      { clients: [client()], trusted_issuers: [{ issuer: 'x', jwks_uri: 5, audience: null }] },
      { clients: [client({ scopes: [1, ''], audiences: [null] })] },
    ];
    for (const input of bad) {
      expect(policyProblem(input)).not.toMatch(
        /Invalid input|Invalid option|Too big|Too small|expected .*, received|Invalid string/,
      );
    }
  });
});

describe('a policy JSON syntax error', () => {
  const dir = mkdtempSync(path.join(tmpdir(), 'baton-json-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('gives the line and column of the mistake', () => {
    const file = path.join(dir, 'broken.json');
    writeFileSync(file, '{\n  "clients": [\n    { "client_id": "a", }\n  ]\n}\n');
    expect(message(() => loadPolicyFile(file, ISSUER))).toBe(
      `${file}: not valid JSON at line 3, column 25: unexpected "}" (JSON allows no trailing comma)`,
    );
  });

  it('reads a file that starts with a byte order mark (RFC 8259 §8.1)', () => {
    const file = path.join(dir, 'bom.json');
    writeFileSync(file, `\uFEFF${JSON.stringify({ clients: [client()] })}`);
    expect([...loadPolicyFile(file, ISSUER).clients.keys()]).toEqual(['a']);
  });

  it('points at the end of a truncated file', () => {
    expect(jsonSyntaxProblem('{\n  "clients": [\n')).toBe(
      'line 3, column 1: the text ends too early',
    );
  });

  it('counts columns from 1 on the first line', () => {
    expect(jsonSyntaxProblem('x')).toBe('line 1, column 1: unexpected "x"');
    expect(jsonSyntaxProblem('{\n  // note\n}')).toBe(
      'line 2, column 3: unexpected "/" (JSON has no comments; a "$comment" key holds one)',
    );
    expect(jsonSyntaxProblem('{"a": "x\ny"}')).toBe(
      'line 1, column 9: unexpected <U+000A> (a line break inside a string must be written \\n)',
    );
    expect(jsonSyntaxProblem('{"a":1}\n')).toBeUndefined();
  });

  it('finds a position exactly when JSON.parse refuses the text (property over mutated JSON)', () => {
    fc.assert(
      fc.property(fc.json(), fc.nat(), fc.string({ maxLength: 3 }), (json, at, inserted) => {
        const cut = at % (json.length + 1);
        const text = json.slice(0, cut) + inserted + json.slice(cut);
        let parses = true;
        try {
          JSON.parse(text);
        } catch {
          parses = false;
        }
        const problem = jsonSyntaxProblem(text);
        expect(problem === undefined).toBe(parses);
        if (!parses)
          expect(problem).toMatch(/^line \d+, column \d+: (unexpected |the text ends too early)/);
      }),
      { numRuns: 3000 },
    );
  });
});
