/**
 * Arbitrary requests to the four client endpoints: forms drawn from every parameter name
 * the endpoints know plus random ones, values from real tokens (intact and broken), the
 * policy's own scopes and audiences, protocol URNs, numbers, random Unicode and large
 * text; any content type; valid credentials, broken ones or random Authorization
 * headers; random other headers; any form spelling, garbled bytes included. Nothing is
 * known about whether such a request should succeed, only what any answer must look like
 * and what a token it yields may carry (`tokenWithinPolicy`).
 */
import fc from 'fast-check';
import { decodeJwt } from 'jose';
import { API, AT, CIBA, ISSUER, JWT_TYPE, SECRETS, TE } from '../helpers.js';
import type { Fixtures } from './fixtures.js';
import { authBreakArb, type AuthBreak } from './auth-breaks.js';
import { CLIENTS } from './bases.js';
import { breakJwt, jwtBreakArb } from './jwt-breaks.js';
import { wrongContentTypeArb } from './mutations.js';
import {
  basicHeader,
  encodingArb,
  FORM,
  garbleArb,
  headerValueArb,
  otherHeadersArb,
  type Endpoint,
  type FuzzRequest,
  type Pair,
} from './requests.js';

const NAMES = [
  'grant_type',
  'subject_token',
  'subject_token_type',
  'actor_token',
  'actor_token_type',
  'requested_token_type',
  'scope',
  'audience',
  'resource',
  'expires_in',
  'client_id',
  'client_secret',
  'client_assertion',
  'client_assertion_type',
  'token',
  'token_type_hint',
  'auth_req_id',
  'login_hint',
  'binding_message',
  'requested_expiry',
  'id_token_hint',
  'login_hint_token',
  'user_code',
  'code',
  'refresh_token',
];

const CONSTANTS = [
  TE,
  CIBA,
  'client_credentials',
  'authorization_code',
  'refresh_token',
  'password',
  AT,
  JWT_TYPE,
  'urn:ietf:params:oauth:token-type:refresh_token',
  'urn:ietf:params:oauth:token-type:id_token',
  'urn:ietf:params:oauth:client-assertion-type:jwt-bearer',
  'access_token',
  API,
  ISSUER,
  'agent:booker',
  'agent:planner',
  'agent:narrow',
  'trips:read',
  'trips:book',
  'flights:book',
  'trips:read flights:book',
  'trips:read trips:book flights:book',
  'alice',
  'bob',
  'planner',
  'booker',
  '0',
  '-1',
  '300',
  '1e3',
  '999999999999',
  '86400',
  ' ',
  '\u0000',
  '\u001b[2J',
  '\u202e',
];

/** Where a value comes from: a fixed string, a real token (maybe broken), random or large text. */
type ValueSpec =
  | { from: 'constant'; value: string }
  | { from: 'token'; which: 'alice' | 'handoff'; broken: Parameters<typeof breakJwt>[1] | null }
  | { from: 'random'; value: string }
  | { from: 'large'; unit: string; times: number };

const valueSpecArb: fc.Arbitrary<ValueSpec> = fc.oneof(
  {
    weight: 4,
    arbitrary: fc.constantFrom(...CONSTANTS).map((value) => ({ from: 'constant' as const, value })),
  },
  {
    weight: 3,
    arbitrary: fc.record({
      from: fc.constant('token' as const),
      which: fc.constantFrom('alice' as const, 'handoff' as const),
      broken: fc.option(jwtBreakArb, { nil: null }),
    }),
  },
  {
    weight: 3,
    arbitrary: fc
      .oneof(
        fc.string({ maxLength: 40 }),
        fc.string({ maxLength: 40, unit: 'binary' }),
        fc.string({ maxLength: 20, unit: 'grapheme' }),
      )
      .map((value) => ({
        from: 'random' as const,
        value,
      })),
  },
  {
    weight: 1,
    arbitrary: fc.record({
      from: fc.constant('large' as const),
      unit: fc.constantFrom('a', 'trips:read ', '\u001b', '"\\', '\u202e', 'é', '%'),
      times: fc.integer({ min: 100, max: 8000 }),
    }),
  },
);

function valueOf(spec: ValueSpec, fx: Fixtures): string {
  switch (spec.from) {
    case 'constant':
    case 'random':
      return spec.value;
    case 'token': {
      const token = spec.which === 'alice' ? fx.alice : fx.handoff;
      return spec.broken === null ? token : breakJwt(token, spec.broken, fx);
    }
    case 'large':
      return spec.unit.repeat(spec.times);
  }
}

/** Who the request claims to be. */
type AuthSpec =
  | { kind: 'basic'; client: 'planner' | 'booker'; scheme: 'Basic' | 'basic' | 'BASIC' }
  | { kind: 'post' }
  | { kind: 'broken'; brk: AuthBreak }
  | { kind: 'header'; value: string }
  | { kind: 'none' };

const authSpecArb: fc.Arbitrary<AuthSpec> = fc.oneof(
  {
    weight: 6,
    arbitrary: fc.record({
      kind: fc.constant('basic' as const),
      client: fc.constantFrom('planner' as const, 'booker' as const),
      scheme: fc.constantFrom('Basic' as const, 'basic' as const, 'BASIC' as const),
    }),
  },
  { weight: 1, arbitrary: fc.constant({ kind: 'post' as const }) },
  { weight: 2, arbitrary: authBreakArb.map((brk) => ({ kind: 'broken' as const, brk })) },
  { weight: 1, arbitrary: headerValueArb.map((value) => ({ kind: 'header' as const, value })) },
  { weight: 1, arbitrary: fc.constant({ kind: 'none' as const }) },
);

export interface AnyRequestSpec {
  params: [string, ValueSpec][];
  auth: AuthSpec;
  contentType: string | null;
  headers: Pair[];
  encoding: FuzzRequest['encoding'];
  garble: FuzzRequest['garble'] | null;
  method: NonNullable<FuzzRequest['method']>;
}

export const anyRequestSpecArb: fc.Arbitrary<AnyRequestSpec> = fc.record({
  params: fc.array(
    fc.tuple(
      fc.oneof(
        { weight: 5, arbitrary: fc.constantFrom(...NAMES) },
        { weight: 1, arbitrary: fc.string({ maxLength: 20, unit: 'binary' }) },
      ),
      valueSpecArb,
    ),
    { maxLength: 12 },
  ),
  auth: authSpecArb,
  contentType: fc.oneof(
    {
      weight: 6,
      arbitrary: fc.constantFrom(
        FORM,
        `${FORM}; charset=UTF-8`,
        'Application/X-WWW-Form-URLEncoded',
        ` ${FORM} ;`,
      ),
    },
    { weight: 1, arbitrary: wrongContentTypeArb },
  ),
  headers: otherHeadersArb,
  encoding: encodingArb,
  garble: fc.option(garbleArb, { nil: null, freq: 4 }),
  method: fc.oneof(
    { weight: 20, arbitrary: fc.constant('POST' as const) },
    {
      weight: 1,
      arbitrary: fc.constantFrom(
        'GET' as const,
        'PUT' as const,
        'PATCH' as const,
        'DELETE' as const,
        'OPTIONS' as const,
      ),
    },
  ),
});

/** What was sent, and which client (if any) it authenticates as when the credentials are right. */
export interface AnyRequest {
  req: FuzzRequest;
  /** The client whose valid credentials were sent, if any. */
  client: string | null;
}

export function anyRequest(path: Endpoint, spec: AnyRequestSpec, fx: Fixtures): AnyRequest {
  let params: Pair[] = spec.params.map(([k, v]) => [k, valueOf(v, fx)] as const);
  let authorization: string | null = null;
  let client: string | null = null;
  const auth = spec.auth;
  if (auth.kind === 'basic') {
    client = auth.client;
    authorization = basicHeader(auth.client, SECRETS[auth.client]!, auth.scheme);
  } else if (auth.kind === 'post') {
    client = 'poster';
    params = [...params, ['client_id', 'poster'], ['client_secret', SECRETS.poster!]];
  } else if (auth.kind === 'broken') {
    // Reuse the mutation's breakage on planner's credentials.
    const broken = brokenAuth(auth.brk);
    authorization = broken.authorization;
    params = [...params, ...broken.extra];
  } else if (auth.kind === 'header') {
    authorization = auth.value;
  }
  return {
    req: {
      path,
      params,
      contentType: spec.contentType,
      authorization,
      headers: spec.headers,
      encoding: spec.encoding,
      ...(spec.garble === null ? {} : { garble: spec.garble }),
      method: spec.method,
    },
    client,
  };
}

/** A broken credential for planner, as the `auth` mutation family makes them. */
function brokenAuth(brk: AuthBreak): { authorization: string | null; extra: Pair[] } {
  const good = basicHeader('planner', SECRETS.planner!);
  switch (brk.how) {
    case 'none':
    case 'post-instead':
    case 'two-methods':
    case 'body-client-id':
      return {
        authorization: null,
        extra: [
          ['client_id', 'planner'],
          ['client_secret', `${SECRETS.planner!}x`],
        ],
      };
    case 'wrong-secret':
      return { authorization: basicHeader('planner', `${brk.secret}\u0000`), extra: [] };
    case 'other-client-secret':
      return { authorization: basicHeader('planner', `${SECRETS[brk.other]!}x`), extra: [] };
    case 'unknown-client':
      return { authorization: basicHeader(`${brk.id}-unknown`, SECRETS.planner!), extra: [] };
    case 'garbage':
      return { authorization: brk.value, extra: [] };
    case 'scheme':
      return { authorization: `${brk.scheme} ${good.slice(6)}`, extra: [] };
    case 'suffix':
      return { authorization: good + brk.junk, extra: [] };
    case 'bad-base64':
      return { authorization: `Basic ${brk.credentials}`, extra: [] };
    case 'no-colon':
      return {
        authorization: `Basic ${Buffer.from(`planner${SECRETS.planner!}`).toString('base64')}`,
        extra: [],
      };
  }
}

/**
 * What a token issued to `client` may carry (SPEC §4 rules 4, 5, 10): its scopes within
 * the client's, its audiences within the client's allow-list or Baton itself, and the
 * client named as `client_id`. Returns the broken rule, or undefined.
 */
export function tokenOutsidePolicy(accessToken: string, client: string): string | undefined {
  const claims = decodeJwt(accessToken);
  const facts = CLIENTS[client];
  if (facts === undefined) return `a token for ${client}, which has no valid credentials here`;
  if (claims.client_id !== client)
    return `client_id ${String(claims.client_id)} is not the caller ${client}`;
  const scopes =
    typeof claims.scope === 'string' ? claims.scope.split(' ').filter((s) => s !== '') : [];
  const wide = scopes.filter((s) => !facts.scopes.includes(s));
  if (wide.length > 0) return `scope ${wide.join(' ')} is outside ${client}'s scopes`;
  const aud = Array.isArray(claims.aud) ? claims.aud : [claims.aud];
  const far = aud.filter((a) => a !== ISSUER && !facts.audiences.includes(String(a)));
  if (far.length > 0) return `aud ${far.join(' ')} is outside ${client}'s audiences`;
  if (claims.sub !== client && claims.sub !== 'alice')
    return `sub ${String(claims.sub)} is neither the client nor alice`;
  return undefined;
}
