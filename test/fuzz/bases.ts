/**
 * Valid requests, as data, that the mutations start from: a token exchange (of alice's
 * IdP token by planner, or of planner's hand-off by booker) or a client_credentials
 * request, an introspection or revocation, a backchannel authentication request. Each
 * knows what its client may ask for, so a mutation can step just outside it.
 */
import fc from 'fast-check';
import { API, AT, JWT_TYPE, SECRETS, TE } from '../helpers.js';
import { ALICE_SCOPE, type Fixtures } from './fixtures.js';
import { basicHeader, FORM, type Pair } from './requests.js';

// The clients of the test policy (test/helpers.ts), as the cases need to know them.

export interface ClientFacts {
  scopes: readonly string[];
  audiences: readonly string[];
}

export const CLIENTS: Record<string, ClientFacts> = {
  planner: {
    scopes: ['trips:read', 'trips:book', 'flights:book'],
    audiences: ['agent:booker', API, 'agent:narrow'],
  },
  booker: {
    scopes: ['flights:book', 'trips:read'],
    audiences: [API, 'agent:planner', 'agent:narrow'],
  },
  /** client_secret_post, so it only appears in the arbitrary requests. */
  poster: { scopes: ['trips:read'], audiences: [API] },
};
export const CLIENT_IDS = ['planner', 'booker', 'api', 'poster', 'narrow', 'signer'];

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
  /** An exchange also sends the client's own token as `actor_token` (SPEC §4 rule 1). */
  actor: boolean;
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
  actor: fc.boolean(),
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
    if (base.actor) params.push(['actor_token', fx.actors[client]], ['actor_token_type', AT]);
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
