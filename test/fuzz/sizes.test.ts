/**
 * However large the request (up to the 64 KB body cap, and just past it), the answer of
 * each client endpoint stays small (under `MAX_ANSWER_BYTES`) and well-formed: a valid
 * request with one part blown up (thousands of scopes, audiences or resources, a huge
 * token, login_hint or binding_message, a huge or many unknown parameters, a huge
 * parameter name), made of plain, escape, quote, bidi or non-ASCII text.
 */
import fc from 'fast-check';
import { afterAll, beforeAll, describe, it } from 'vitest';
import { makeFixtures, plannerToken, type Fixtures } from './fixtures.js';
import { backchannelValid, tokenParamValid, tokenValid, unmutated, type Valid } from './bases.js';
import { checkRefusalsSince, refusalMark } from './ledger.js';
import { answerTo } from './oracle.js';
import { encodingArb, send, type Endpoint, type Pair } from './requests.js';
import { fuzzOptions, timeoutFor } from './settings.js';

/** Shares of FUZZ_RUNS taken by this file's properties (the suite's shares add up to 1). */
const SHARE_PER_ENDPOINT = 0.0075;

type Part =
  | 'scope'
  | 'audience'
  | 'resource'
  | 'token'
  | 'login_hint'
  | 'binding_message'
  | 'unknown'
  | 'many-unknown'
  | 'name';

interface Large {
  part: Part;
  /** Roughly how many characters the part takes. */
  size: number;
  unit: string;
}

const largeArb: fc.Arbitrary<Large> = fc.record({
  part: fc.constantFrom<Part>(
    'scope',
    'audience',
    'resource',
    'token',
    'login_hint',
    'binding_message',
    'unknown',
    'many-unknown',
    'name',
  ),
  size: fc.oneof(fc.integer({ min: 500, max: 66_000 }), fc.integer({ min: 60_000, max: 70_000 })),
  unit: fc.constantFrom(
    'a',
    'trips:read',
    '\u001b[2J',
    '"\\',
    '\u202e',
    'é',
    '%',
    '\u0000',
    '<script>',
  ),
});

/** `count` values made of `unit`, distinct so no parser can fold them together. */
function values(unit: string, size: number): string[] {
  const out: string[] = [];
  for (let total = 0, i = 0; total < size; i++) {
    const v = `${unit}${i}`;
    out.push(v);
    total += v.length + 1;
  }
  return out;
}

function blowUp(valid: Valid, large: Large): Pair[] {
  const { part, size, unit } = large;
  const params = valid.params;
  const replace = (name: string, value: string): Pair[] =>
    params.some(([k]) => k === name)
      ? params.map(([k, v]) => [k, k === name ? value : v] as const)
      : [...params, [name, value]];
  switch (part) {
    case 'scope':
      return replace('scope', values(unit, size).join(' '));
    case 'audience':
    case 'resource':
      return [
        ...params,
        ...values(
          part === 'resource' ? `https://api.example.com/${encodeURIComponent(unit)}` : unit,
          size,
        ).map((v) => [part, v] as const),
      ];
    case 'token':
      return replace(
        valid.tokenParam ?? 'subject_token',
        unit.repeat(Math.ceil(size / unit.length)),
      );
    case 'login_hint':
    case 'binding_message':
      return replace(part, unit.repeat(Math.ceil(size / unit.length)));
    case 'unknown':
      return [...params, ['x_pad', unit.repeat(Math.ceil(size / unit.length))]];
    case 'many-unknown':
      return [...params, ...values('x_', size / 4).map((k) => [k, unit] as const)];
    case 'name':
      return [...params, [unit.repeat(Math.ceil(size / unit.length)), 'x']];
  }
}

let fx: Fixtures;
let token: string;
beforeAll(async () => {
  fx = await makeFixtures();
  token = await plannerToken(fx.b);
});
afterAll(async () => {
  await fx.b.close();
});

const BASES: Record<Endpoint, () => Valid> = {
  '/token': () =>
    tokenValid(
      {
        kind: 'idp-exchange',
        scopeMask: 1,
        audienceIndex: 1,
        via: 'audience',
        jwtType: false,
        requestedTokenType: false,
        actor: false,
        expiresIn: null,
        clientIdInBody: false,
        rotate: 0,
      },
      fx,
    ),
  '/introspect': () => tokenParamValid({ hint: null, clientIdInBody: false, rotate: 0 }, token),
  '/revoke': () => tokenParamValid({ hint: null, clientIdInBody: false, rotate: 0 }, token),
  '/bc-authorize': () =>
    backchannelValid({
      scopeMask: 1,
      audienceIndex: 1,
      via: 'audience',
      bindingMessage: true,
      requestedExpiry: null,
      clientIdInBody: false,
      rotate: 0,
    }),
};

describe('answers stay small, fuzzed', () => {
  it.each(Object.keys(BASES) as Endpoint[])(
    '%s answers a request of any size in under 4 KB of RFC 6749 JSON',
    async (path) => {
      await fc.assert(
        fc.asyncProperty(largeArb, encodingArb, async (large, encoding) => {
          const valid = BASES[path]();
          const req = {
            path,
            ...unmutated(valid),
            params: blowUp(valid, large),
            headers: [],
            encoding,
          };
          const mark = await refusalMark(fx.b);
          await checkRefusalsSince(fx.b, mark, await answerTo(() => send(fx.b.app, req), req));
        }),
        fuzzOptions(SHARE_PER_ENDPOINT),
      );
    },
    timeoutFor(SHARE_PER_ENDPOINT),
  );
});
