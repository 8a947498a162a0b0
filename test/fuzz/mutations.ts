/**
 * Valid requests and the mutations that must make them fail, as data. A case is a valid
 * base (an exchange, a client_credentials request, an introspection, a revocation, a
 * backchannel request) plus one mutation from a family that the contract says is
 * refused: a broken subject token (RFC 7515 §2 compact serialization, signature, issuer,
 * audience, expiry), a widened scope (SPEC §4 rule 4), an audience outside the
 * allow-list (rule 5), a parameter sent twice or twice-once-empty (RFC 6749 §3.1), the
 * wrong content type (RFC 6749 §3.2), broken client authentication (RFC 6749 §2.3), a
 * login_hint that is not a username. Built so that every mutated case must fail: where
 * a random choice could land on something valid, `apply` steers it off.
 */
import fc from 'fast-check';
import { API, AT, JWT_TYPE, SECRETS, TE } from '../helpers.js';
import { ALICE_SCOPE, type BadSubject, type Fixtures } from './fixtures.js';
import { basicHeader, FORM, type Pair } from './requests.js';

// ---------------------------------------------------------------------------------------
// The clients of the test policy, as the mutations need to know them.

interface ClientFacts {
  scopes: readonly string[];
  audiences: readonly string[];
}

const CLIENTS: Record<string, ClientFacts> = {
  planner: {
    scopes: ['trips:read', 'trips:book', 'flights:book'],
    audiences: ['agent:booker', API, 'agent:narrow'],
  },
  booker: {
    scopes: ['flights:book', 'trips:read'],
    audiences: [API, 'agent:planner', 'agent:narrow'],
  },
};
const CLIENT_IDS = ['planner', 'booker', 'api', 'poster', 'narrow'];

/** What a valid request is, before any mutation. */
export interface Valid {
  client: 'planner' | 'booker';
  params: Pair[];
  /** Scopes the request may ask for: anything else widens. */
  allowedScopes: readonly string[];
  /** Audiences the client may name. */
  allowedAudiences: readonly string[];
  /** The parameter that carries a token the mutation may break, if any. */
  tokenParam?: 'subject_token' | 'token';
}

export interface Built {
  params: Pair[];
  contentType: string | null;
  authorization: string | null;
}

function subset(all: readonly string[], mask: number): string[] {
  return all.filter((_, i) => (mask >> i) & 1);
}

// ---------------------------------------------------------------------------------------
// Valid bases.

/** A valid /token request: an exchange of alice's IdP token or of a hand-off, or client_credentials. */
export interface TokenBase {
  kind: 'idp-exchange' | 'handoff-exchange' | 'client-credentials';
  scopeMask: number;
  audienceIndex: number;
  /** How the target is named; `none` only counts for client_credentials. */
  via: 'audience' | 'resource' | 'none';
  jwtType: boolean;
  requestedTokenType: boolean;
  expiresIn: number | null;
  clientIdInBody: boolean;
  /** Rotates the parameters so no parser relies on their order. */
  rotate: number;
}

export const tokenBaseArb: fc.Arbitrary<TokenBase> = fc.record({
  kind: fc.constantFrom('idp-exchange', 'handoff-exchange', 'client-credentials'),
  scopeMask: fc.nat(7),
  audienceIndex: fc.nat(2),
  via: fc.constantFrom('audience', 'resource', 'none'),
  jwtType: fc.boolean(),
  requestedTokenType: fc.boolean(),
  expiresIn: fc.option(fc.integer({ min: 1, max: 600 }), { nil: null }),
  clientIdInBody: fc.boolean(),
  rotate: fc.nat(10),
});

function rotated(params: Pair[], by: number): Pair[] {
  if (params.length === 0) return params;
  const k = by % params.length;
  return [...params.slice(k), ...params.slice(0, k)];
}

export function tokenValid(base: TokenBase, fx: Fixtures): Valid {
  const exchange = base.kind !== 'client-credentials';
  const client = base.kind === 'handoff-exchange' ? 'booker' : 'planner';
  const facts = CLIENTS[client]!;
  const allowedScopes = exchange
    ? ALICE_SCOPE.split(' ').filter((s) => facts.scopes.includes(s))
    : facts.scopes;
  const params: Pair[] = [['grant_type', exchange ? TE : 'client_credentials']];
  if (exchange) {
    params.push(['subject_token', base.kind === 'idp-exchange' ? fx.alice : fx.handoff]);
    params.push(['subject_token_type', base.jwtType ? JWT_TYPE : AT]);
    if (base.requestedTokenType) params.push(['requested_token_type', AT]);
  }
  const scope = subset(allowedScopes, base.scopeMask);
  if (scope.length > 0) params.push(['scope', scope.join(' ')]);
  // An exchange must name a target; resource only for the one URL in every allow-list.
  const via = base.via === 'none' && exchange ? 'audience' : base.via;
  if (via === 'resource') params.push(['resource', API]);
  if (via === 'audience')
    params.push(['audience', facts.audiences[base.audienceIndex % facts.audiences.length]!]);
  if (base.expiresIn !== null) params.push(['expires_in', String(base.expiresIn)]);
  if (base.clientIdInBody) params.push(['client_id', client]);
  return {
    client,
    params: rotated(params, base.rotate),
    allowedScopes,
    allowedAudiences: facts.audiences,
    ...(exchange ? { tokenParam: 'subject_token' as const } : {}),
  };
}

/** A valid introspection or revocation by planner of `token`. */
export interface TokenParamBase {
  hint: 'access_token' | 'refresh_token' | null;
  clientIdInBody: boolean;
  rotate: number;
}

export const tokenParamBaseArb: fc.Arbitrary<TokenParamBase> = fc.record({
  hint: fc.constantFrom('access_token', 'refresh_token', null),
  clientIdInBody: fc.boolean(),
  rotate: fc.nat(3),
});

export function tokenParamValid(base: TokenParamBase, token: string): Valid {
  const params: Pair[] = [['token', token]];
  if (base.hint !== null) params.push(['token_type_hint', base.hint]);
  if (base.clientIdInBody) params.push(['client_id', 'planner']);
  return {
    client: 'planner',
    params: rotated(params, base.rotate),
    allowedScopes: [],
    allowedAudiences: [],
    tokenParam: 'token',
  };
}

/** A valid backchannel authentication request by planner for alice. */
export interface BackchannelBase {
  scopeMask: number;
  audienceIndex: number;
  via: 'audience' | 'resource';
  bindingMessage: boolean;
  requestedExpiry: number | null;
  clientIdInBody: boolean;
  rotate: number;
}

export const backchannelBaseArb: fc.Arbitrary<BackchannelBase> = fc.record({
  scopeMask: fc.integer({ min: 1, max: 7 }),
  audienceIndex: fc.nat(2),
  via: fc.constantFrom('audience', 'resource'),
  bindingMessage: fc.boolean(),
  requestedExpiry: fc.option(fc.integer({ min: 1, max: 600 }), { nil: null }),
  clientIdInBody: fc.boolean(),
  rotate: fc.nat(10),
});

export function backchannelValid(base: BackchannelBase): Valid {
  const facts = CLIENTS.planner!;
  const params: Pair[] = [
    ['login_hint', 'alice'],
    ['scope', subset(facts.scopes, base.scopeMask).join(' ')],
    base.via === 'resource'
      ? ['resource', API]
      : ['audience', facts.audiences[base.audienceIndex % facts.audiences.length]!],
  ];
  if (base.bindingMessage) params.push(['binding_message', 'Book the Lisbon trip']);
  if (base.requestedExpiry !== null)
    params.push(['requested_expiry', String(base.requestedExpiry)]);
  if (base.clientIdInBody) params.push(['client_id', 'planner']);
  return {
    client: 'planner',
    params: rotated(params, base.rotate),
    allowedScopes: facts.scopes,
    allowedAudiences: facts.audiences,
  };
}

/** The valid request, unmutated: the client's own Basic credentials, the form content type. */
export function unmutated(valid: Valid): Built {
  return {
    params: valid.params,
    contentType: FORM,
    authorization: basicHeader(valid.client, SECRETS[valid.client]!),
  };
}

// ---------------------------------------------------------------------------------------
// Breaking a JWT. Every variant yields a string that is not the token Baton or the IdP
// signed in its one canonical spelling (RFC 7515 §3.1 compact serialization, RFC 7515 §2
// base64url without padding, line breaks or whitespace, RFC 4648 §3.5 zero pad bits).

const WHITESPACE = [
  ' ',
  '\t',
  '\n',
  '\r\n',
  '\r',
  '\f',
  '\v',
  '\u00a0',
  '\u200b',
  '\u2028',
  '\u3000',
  '\ufeff',
];
const OTHER_CHARS = [...'ABCxyz0189-_+/=.~%!*'];

export type JwtBreak =
  /** `=` padding at the end of one segment. */
  | { how: 'pad'; segment: number; count: number }
  /** Whitespace inside or at the end of one segment. */
  | { how: 'whitespace'; segment: number; pos: number; ws: string }
  /** Whitespace or `=` before or after the whole token. */
  | { how: 'around'; after: boolean; text: string }
  /** One character replaced by another (never the signature's last, see `tail-bits`). */
  | { how: 'flip'; segment: number; pos: number; ch: string }
  /** base64 `+` `/` for base64url `-` `_` in the signature (same bytes, other alphabet). */
  | { how: 'alphabet'; nth: number }
  /** The signature's last character with other pad bits (same bytes, RFC 4648 §3.5). */
  | { how: 'tail-bits'; xor: number }
  | { how: 'case'; segment: number; pos: number }
  | { how: 'truncate'; drop: number }
  | {
      how: 'shape';
      shape: 'no-signature' | 'extra-segment' | 'empty-segment' | 'trailing-dot' | 'leading-dot';
    }
  /** Another token altogether: one that must never be taken, or random text. */
  | { how: 'swap'; token: BadSubject | 'garbage'; garbage: string };

export const jwtBreakArb: fc.Arbitrary<JwtBreak> = fc.oneof(
  fc.record({
    how: fc.constant('pad' as const),
    segment: fc.nat(2),
    count: fc.integer({ min: 1, max: 3 }),
  }),
  fc.record({
    how: fc.constant('whitespace' as const),
    segment: fc.nat(2),
    pos: fc.nat(400),
    ws: fc.constantFrom(...WHITESPACE),
  }),
  fc.record({
    how: fc.constant('around' as const),
    after: fc.boolean(),
    text: fc.constantFrom(...WHITESPACE, '=', '=='),
  }),
  fc.record({
    how: fc.constant('flip' as const),
    segment: fc.nat(2),
    pos: fc.nat(400),
    ch: fc.constantFrom(...OTHER_CHARS),
  }),
  fc.record({ how: fc.constant('alphabet' as const), nth: fc.nat(40) }),
  fc.record({ how: fc.constant('tail-bits' as const), xor: fc.integer({ min: 1, max: 15 }) }),
  fc.record({ how: fc.constant('case' as const), segment: fc.nat(2), pos: fc.nat(400) }),
  fc.record({ how: fc.constant('truncate' as const), drop: fc.integer({ min: 1, max: 40 }) }),
  fc.record({
    how: fc.constant('shape' as const),
    shape: fc.constantFrom(
      'no-signature',
      'extra-segment',
      'empty-segment',
      'trailing-dot',
      'leading-dot',
    ),
  }),
  fc.record({
    how: fc.constant('swap' as const),
    token: fc.constantFrom<BadSubject | 'garbage'>(
      'expired',
      'wrong-key',
      'untrusted-issuer',
      'wrong-audience',
      'unsigned',
      'baton-claims-wrong-key',
      'garbage',
    ),
    garbage: fc.string({ maxLength: 300 }),
  }),
);

const B64URL = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_';

function withSegment(token: string, segment: number, change: (s: string) => string): string {
  const parts = token.split('.');
  parts[segment % 3] = change(parts[segment % 3]!);
  return parts.join('.');
}

/** Applies a break to a valid compact JWS; the result is never that JWS. */
export function breakJwt(token: string, brk: JwtBreak, fx: Fixtures): string {
  const out = breakOnce(token, brk, fx);
  // A random swap or flip can in theory land on the token itself; then break it for sure.
  return out === token ? `${token}=` : out;
}

function breakOnce(token: string, brk: JwtBreak, fx: Fixtures): string {
  switch (brk.how) {
    case 'pad':
      return withSegment(token, brk.segment, (s) => s + '='.repeat(brk.count));
    case 'whitespace':
      return withSegment(token, brk.segment, (s) => {
        const at = brk.pos % (s.length + 1);
        return s.slice(0, at) + brk.ws + s.slice(at);
      });
    case 'around':
      return brk.after ? token + brk.text : brk.text + token;
    case 'flip':
      return withSegment(token, brk.segment, (s) => {
        // The signature's last character carries pad bits: see tail-bits.
        const last = brk.segment % 3 === 2 ? s.length - 1 : s.length;
        const at = brk.pos % Math.max(1, last);
        const ch = brk.ch === s[at] ? (s[at] === 'A' ? 'B' : 'A') : brk.ch;
        return s.slice(0, at) + ch + s.slice(at + 1);
      });
    case 'alphabet': {
      const sig = token.split('.')[2]!;
      const spots = [...sig].flatMap((c, i) => (c === '-' || c === '_' ? [i] : []));
      if (spots.length === 0) return breakOnce(token, { how: 'tail-bits', xor: 1 }, fx);
      const at = spots[brk.nth % spots.length]!;
      return withSegment(
        token,
        2,
        (s) => s.slice(0, at) + (s[at] === '-' ? '+' : '/') + s.slice(at + 1),
      );
    }
    case 'tail-bits':
      return withSegment(token, 2, (s) => {
        // An ES256 signature is 64 bytes: 86 characters, the last with 4 unused bits.
        const value = B64URL.indexOf(s[s.length - 1]!);
        return s.slice(0, -1) + B64URL[value ^ brk.xor]!;
      });
    case 'case':
      return withSegment(token, brk.segment, (s) => {
        const last = brk.segment % 3 === 2 ? s.length - 1 : s.length;
        for (let k = 0; k < last; k++) {
          const at = (brk.pos + k) % last;
          const c = s[at]!;
          const swapped = c === c.toUpperCase() ? c.toLowerCase() : c.toUpperCase();
          if (swapped !== c) return s.slice(0, at) + swapped + s.slice(at + 1);
        }
        return `${s}A`;
      });
    case 'truncate':
      return token.slice(0, token.length - brk.drop);
    case 'shape': {
      const [h, p, s] = token.split('.') as [string, string, string];
      if (brk.shape === 'no-signature') return `${h}.${p}`;
      if (brk.shape === 'extra-segment') return `${h}.${p}.${s}.${s}`;
      if (brk.shape === 'empty-segment') return `${h}..${p}.${s}`;
      if (brk.shape === 'trailing-dot') return `${token}.`;
      return `.${token}`;
    }
    case 'swap':
      return brk.token === 'garbage' ? brk.garbage : fx.bad[brk.token];
  }
}

// ---------------------------------------------------------------------------------------
// Breaking client authentication (RFC 6749 §2.3): every variant leaves the request
// without valid credentials for exactly one method.

export type AuthBreak =
  | { how: 'none' }
  | { how: 'wrong-secret'; secret: string }
  | { how: 'other-client-secret'; other: string }
  | { how: 'unknown-client'; id: string }
  | { how: 'garbage'; value: string }
  | { how: 'scheme'; scheme: string }
  | { how: 'suffix'; junk: string }
  | { how: 'bad-base64'; credentials: string }
  | { how: 'no-colon' }
  | { how: 'two-methods'; second: 'client_secret' | 'client_assertion' }
  | { how: 'body-client-id'; id: string }
  | { how: 'post-instead' };

const headerText = fc
  .array(
    fc.integer({ min: 0x20, max: 0xff }).filter((c) => c !== 0x7f),
    { maxLength: 60 },
  )
  .map((codes) => String.fromCharCode(...codes));

export const authBreakArb: fc.Arbitrary<AuthBreak> = fc.oneof(
  fc.constant({ how: 'none' as const }),
  fc.record({ how: fc.constant('wrong-secret' as const), secret: fc.string({ maxLength: 60 }) }),
  fc.record({
    how: fc.constant('other-client-secret' as const),
    other: fc.constantFrom(...Object.keys(SECRETS)),
  }),
  fc.record({ how: fc.constant('unknown-client' as const), id: fc.string({ maxLength: 40 }) }),
  fc.record({ how: fc.constant('garbage' as const), value: headerText }),
  fc.record({
    how: fc.constant('scheme' as const),
    scheme: fc.constantFrom(
      'Bearer',
      'Digest',
      'Negotiate',
      'DPoP',
      'Basic:',
      'Basicx',
      'B',
      'basic\t',
    ),
  }),
  fc.record({
    how: fc.constant('suffix' as const),
    junk: fc.constantFrom(',', ' x', '.', ':', ' , Basic Zm9vOmJhcg==', '!', '\u00ff'),
  }),
  fc.record({ how: fc.constant('bad-base64' as const), credentials: headerText }),
  fc.constant({ how: 'no-colon' as const }),
  fc.record({
    how: fc.constant('two-methods' as const),
    second: fc.constantFrom('client_secret' as const, 'client_assertion' as const),
  }),
  fc.record({ how: fc.constant('body-client-id' as const), id: fc.string({ maxLength: 40 }) }),
  fc.constant({ how: 'post-instead' as const }),
);

function breakAuth(valid: Valid, brk: AuthBreak): Built {
  const id = valid.client;
  const secret = SECRETS[id]!;
  const good = basicHeader(id, secret);
  const built: Built = { params: valid.params, contentType: FORM, authorization: good };
  switch (brk.how) {
    case 'none':
      return { ...built, authorization: null };
    case 'wrong-secret':
      return {
        ...built,
        authorization: basicHeader(id, brk.secret === secret ? `${secret}x` : brk.secret),
      };
    case 'other-client-secret':
      return {
        ...built,
        authorization: basicHeader(id, brk.other === id ? `${secret}x` : SECRETS[brk.other]!),
      };
    case 'unknown-client':
      return {
        ...built,
        authorization: basicHeader(CLIENT_IDS.includes(brk.id) ? `${brk.id}-x` : brk.id, secret),
      };
    case 'garbage':
      return { ...built, authorization: brk.value === good ? `${good},` : brk.value };
    case 'scheme':
      return { ...built, authorization: `${brk.scheme} ${good.slice('Basic '.length)}` };
    case 'suffix':
      return { ...built, authorization: good + brk.junk };
    case 'bad-base64':
      return { ...built, authorization: `Basic ${brk.credentials}` };
    case 'no-colon':
      return { ...built, authorization: `Basic ${Buffer.from(id + secret).toString('base64')}` };
    case 'two-methods':
      return {
        ...built,
        params: [
          ...valid.params,
          brk.second === 'client_secret'
            ? ['client_secret', secret]
            : ['client_assertion', 'eyJhbGciOiJFUzI1NiJ9.eyJpc3MiOiJwbGFubmVyIn0.c2ln'],
          ...(brk.second === 'client_assertion'
            ? [
                [
                  'client_assertion_type',
                  'urn:ietf:params:oauth:client-assertion-type:jwt-bearer',
                ] as const,
              ]
            : []),
        ],
      };
    case 'body-client-id': {
      const other = brk.id === id || brk.id === '' ? `${id}-x` : brk.id;
      return {
        ...built,
        params: [...valid.params.filter(([k]) => k !== 'client_id'), ['client_id', other]],
      };
    }
    case 'post-instead':
      // planner and booker are registered for client_secret_basic, not _post.
      return {
        ...built,
        authorization: null,
        params: [
          ...valid.params.filter(([k]) => k !== 'client_id'),
          ['client_id', id],
          ['client_secret', secret],
        ],
      };
  }
}

// ---------------------------------------------------------------------------------------
// The mutation families.

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
