/**
 * The mutations that must make a valid request (bases.ts) fail, as data. A case is a
 * valid base plus one mutation from a family that the contract says is refused: a broken subject token (RFC 7515 §2 compact serialization, signature, issuer,
 * audience, expiry), a widened scope (SPEC §4 rule 4), an audience outside the
 * allow-list (rule 5), a parameter sent twice or twice-once-empty (RFC 6749 §3.1), the
 * wrong content type (RFC 6749 §3.2), broken client authentication (RFC 6749 §2.3), a
 * login_hint that is not a username. Built so that every mutated case must fail: where
 * a random choice could land on something valid, `apply` steers it off.
 */
import fc from 'fast-check';
import { API, AT } from '../helpers.js';
import { authBreakArb, breakAuth, type AuthBreak } from './auth-breaks.js';
import { unmutated, type Built, type Valid } from './bases.js';
import type { Fixtures } from './fixtures.js';
import { breakJwt, jwtBreakArb, type JwtBreak } from './jwt-breaks.js';
import { headerText } from './requests.js';

/** Content types that are not application/x-www-form-urlencoded (`null`: no header). */
export const wrongContentTypeArb: fc.Arbitrary<string | null> = fc.oneof(
  fc.constantFrom(
    null,
    '',
    'text/plain',
    'text/plain;charset=UTF-8',
    'application/json',
    'multipart/form-data; boundary=x',
    'application/x-www-form-urlencodedx',
    'application/x-www-form-urlencode',
    'application/x-www-form-urlencoded+json',
    'x-www-form-urlencoded',
    'application/xml',
    'application/*',
    '*/*',
    'application/x-www-form-urlencoded, text/plain',
    'application/jwt',
  ),
  headerText.filter((t) => !/^[\s]*application\/x-www-form-urlencoded[\s]*(;|$)/i.test(t)),
);

/** Things in a login_hint that no username has: control, format, separator characters, or sheer length. */
const NOT_IN_A_USERNAME = [
  '\u0000',
  '\u0007',
  '\u001b',
  '\u001b[2J',
  '\n',
  '\r',
  '\u007f',
  '\u0085',
  '\u009b',
  '\u200b',
  '\u200e',
  '\u202e',
  '\u2066',
  '\u2028',
  '\ufeff',
];

export type Mutation =
  | { family: 'subject'; brk: JwtBreak }
  | { family: 'actor'; brk: JwtBreak }
  | { family: 'scope'; extra: string; at: 'start' | 'end' | 'only' }
  | { family: 'audience'; value: string; via: 'audience' | 'resource'; mode: 'add' | 'replace' }
  | { family: 'duplicate'; index: number; other: string | null; at: 'next' | 'end' | 'start' }
  | { family: 'empty-duplicate'; index: number; emptyFirst: boolean }
  | { family: 'content-type'; value: string | null }
  | { family: 'auth'; brk: AuthBreak }
  | { family: 'login-hint'; bad: string; pos: number; long: number };

export type Family = Mutation['family'];

/** Scope tokens a client might try; `apply` makes sure the one used is outside what is allowed. */
const scopeExtraArb = fc.oneof(
  fc.constantFrom(
    'trips:book',
    'admin',
    'trips:*',
    '*',
    'Trips:read',
    'trips:read\u0000',
    'trips:read\u200b',
    'openid',
    'flights:book:all',
    'trips:read,trips:book',
    '"trips:read"',
  ),
  fc.string({ minLength: 1, maxLength: 40, unit: 'binary' }),
);

/** Audiences a client might try; `apply` makes sure the one used is outside the allow-list. */
const audienceExtraArb = fc.oneof(
  fc.constantFrom(
    `${API}/x`,
    `${API}.evil.example`,
    `${API}?x=1`,
    `${API}#frag`,
    `${API} `,
    ` ${API}`,
    `${API}\u0000`,
    'agent:planner',
    'agent:booker',
    'agent:api',
    'agent:Booker',
    'agent:',
    'https://evil.example',
    'mail-api',
    'urn:example:other',
  ),
  fc.string({ minLength: 1, maxLength: 60, unit: 'binary' }),
  fc.webUrl(),
);

const FAMILY_ARBS: Record<Family, fc.Arbitrary<Mutation>> = {
  subject: jwtBreakArb.map((brk) => ({ family: 'subject', brk })),
  actor: jwtBreakArb.map((brk) => ({ family: 'actor', brk })),
  scope: fc.record({
    family: fc.constant('scope' as const),
    extra: scopeExtraArb,
    at: fc.constantFrom('start' as const, 'end' as const, 'only' as const),
  }),
  audience: fc.record({
    family: fc.constant('audience' as const),
    value: audienceExtraArb,
    via: fc.constantFrom('audience' as const, 'resource' as const),
    mode: fc.constantFrom('add' as const, 'replace' as const),
  }),
  duplicate: fc.record({
    family: fc.constant('duplicate' as const),
    index: fc.nat(20),
    other: fc.option(fc.string({ maxLength: 30 }), { nil: null }),
    at: fc.constantFrom('next' as const, 'end' as const, 'start' as const),
  }),
  'empty-duplicate': fc.record({
    family: fc.constant('empty-duplicate' as const),
    index: fc.nat(20),
    emptyFirst: fc.boolean(),
  }),
  'content-type': wrongContentTypeArb.map((value) => ({ family: 'content-type', value })),
  auth: authBreakArb.map((brk) => ({ family: 'auth', brk })),
  'login-hint': fc.record({
    family: fc.constant('login-hint' as const),
    bad: fc.constantFrom(...NOT_IN_A_USERNAME),
    pos: fc.nat(10),
    long: fc.constantFrom(0, 0, 201, 500, 4000),
  }),
};

export function mutationArb(family: Family): fc.Arbitrary<Mutation> {
  return FAMILY_ARBS[family];
}

/** Which families apply to which bases. */
export const TOKEN_FAMILIES: Family[] = [
  'subject',
  'actor',
  'scope',
  'audience',
  'duplicate',
  'empty-duplicate',
  'content-type',
  'auth',
];
export const TOKEN_PARAM_FAMILIES: Family[] = [
  'duplicate',
  'empty-duplicate',
  'content-type',
  'auth',
];
export const BACKCHANNEL_FAMILIES: Family[] = [
  'scope',
  'audience',
  'duplicate',
  'empty-duplicate',
  'content-type',
  'auth',
  'login-hint',
];

/** Parameters a spec lets repeat (RFC 8693 §2.1, RFC 8707 §2). */
const REPEATABLE = new Set(['audience', 'resource']);

function outside(
  candidate: string,
  allowed: readonly string[],
  pieces: (s: string) => string[],
): string {
  // Steer a random pick off anything allowed: it must name at least one thing outside.
  const parts = pieces(candidate);
  return parts.length > 0 && parts.some((p) => !allowed.includes(p)) ? candidate : `${candidate}!x`;
}

/** The request a mutation makes of a valid one; every result must be refused. */
export function apply(valid: Valid, m: Mutation, fx: Fixtures): Built {
  const built = unmutated(valid);
  const singles = valid.params.map(([k], i) => [k, i] as const).filter(([k]) => !REPEATABLE.has(k));
  switch (m.family) {
    case 'subject': {
      const name = valid.tokenParam!;
      return {
        ...built,
        params: valid.params.map(([k, v]) => [k, k === name ? breakJwt(v, m.brk, fx) : v] as const),
      };
    }
    case 'actor': {
      // The client's own actor token, broken; sent alongside whether or not the base had one.
      const actor = breakJwt(fx.actors[valid.client], m.brk, fx);
      const rest = valid.params.filter(([k]) => k !== 'actor_token' && k !== 'actor_token_type');
      return { ...built, params: [...rest, ['actor_token', actor], ['actor_token_type', AT]] };
    }
    case 'scope': {
      // Split as generously as any parser might (any whitespace), so no reading of it is allowed.
      const extra = outside(m.extra.replaceAll(' ', '_'), valid.allowedScopes, (s) =>
        s.split(/[\s\u200b\u2028\u2029\ufeff]+/).filter((p) => p !== ''),
      );
      const current = valid.params.find(([k]) => k === 'scope')?.[1];
      const scope =
        m.at === 'only' || current === undefined
          ? extra
          : m.at === 'start'
            ? `${extra} ${current}`
            : `${current} ${extra}`;
      return {
        ...built,
        params: [...valid.params.filter(([k]) => k !== 'scope'), ['scope', scope]],
      };
    }
    case 'audience': {
      const value = outside(m.value, valid.allowedAudiences, (s) => [s]);
      const kept =
        m.mode === 'replace' ? valid.params.filter(([k]) => !REPEATABLE.has(k)) : valid.params;
      return { ...built, params: [...kept, [m.via, value]] };
    }
    case 'duplicate': {
      const [name, i] = singles[m.index % singles.length]!;
      const value = m.other === null || m.other === '' ? valid.params[i]![1] : m.other;
      const params = [...valid.params];
      if (m.at === 'next') params.splice(i + 1, 0, [name, value]);
      else if (m.at === 'end') params.push([name, value]);
      else params.unshift([name, value]);
      return { ...built, params };
    }
    case 'empty-duplicate': {
      const [name, i] = singles[m.index % singles.length]!;
      const params = [...valid.params];
      params.splice(m.emptyFirst ? i : i + 1, 0, [name, '']);
      return { ...built, params };
    }
    case 'content-type':
      return { ...built, contentType: m.value };
    case 'auth':
      return breakAuth(valid, m.brk);
    case 'login-hint': {
      const hint =
        m.long > 0
          ? 'a'.repeat(m.long)
          : 'alice'.slice(0, m.pos % 6) + m.bad + 'alice'.slice(m.pos % 6);
      return {
        ...built,
        params: valid.params.map(([k, v]) => [k, k === 'login_hint' ? hint : v] as const),
      };
    }
  }
}
