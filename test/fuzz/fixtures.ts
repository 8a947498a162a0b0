/**
 * The broker a fuzz file runs against (the test policy with approvals, on a temp SQLite),
 * and the real tokens the mutations start from: a person's token from the test IdP, a
 * hand-off Baton issued from it, and tokens that must never be taken (expired, signed
 * with a key nobody trusts, from an untrusted issuer, for another audience, unsigned),
 * actor tokens, and a private_key_jwt client (`signer`) whose assertions it signs.
 */
import { randomUUID } from 'node:crypto';
import { decodeProtectedHeader, exportJWK, generateKeyPair, SignJWT, type JWTPayload } from 'jose';
import type { PolicyFile } from '../../broker/config/policy.js';
import {
  API,
  AT,
  CIBA,
  IDP,
  ISSUER,
  TE,
  claimsOf,
  makeBroker,
  withApprovals,
  type TestBroker,
} from '../helpers.js';

/** A client that authenticates with private_key_jwt (RFC 7523 §2.2), for assertion mutations. */
export const SIGNER = 'signer';
export const JWT_BEARER = 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer';

/** What alice's IdP token carries: narrower than planner's scopes, so widening is testable. */
export const ALICE_SCOPE = 'trips:read flights:book';

/** Subject tokens that no exchange may take. */
export type BadSubject =
  | 'expired'
  | 'wrong-key'
  | 'untrusted-issuer'
  | 'wrong-audience'
  | 'unsigned'
  | 'baton-claims-wrong-key'
  /** Baton's own, intact, but revoked in the ledger. */
  | 'revoked'
  /** Baton's own, intact, but past its `exp`. */
  | 'baton-expired';

export interface Fixtures {
  b: TestBroker;
  /** alice's token from the trusted IdP, scope `ALICE_SCOPE`, audience Baton. */
  alice: string;
  /** planner's hand-off of `alice` to booker (`aud: agent:booker`, scope `ALICE_SCOPE`). */
  handoff: string;
  bad: Record<BadSubject, string>;
  /** Each client's own client_credentials token, to send as `actor_token` (SPEC §4 rule 1). */
  actors: Record<'planner' | 'booker', string>;
  /** A fresh client assertion for `signer`, for the token endpoint (new jti each time). */
  assertion(): Promise<string>;
}

const b64url = (v: unknown) => Buffer.from(JSON.stringify(v)).toString('base64url');

/** The test policy with approvals, plus `signer` (private_key_jwt with `signerJwk`). */
function fuzzPolicy(signerJwk: Record<string, unknown>): (p: PolicyFile) => PolicyFile {
  return (p) => {
    const q = withApprovals(p);
    return {
      ...q,
      clients: [
        ...q.clients,
        {
          client_id: SIGNER,
          token_endpoint_auth_method: 'private_key_jwt',
          jwks: { keys: [signerJwk as { kty: string }] },
          grant_types: [TE, 'client_credentials'],
          scopes: ['trips:read'],
          audiences: [API],
        },
      ],
    };
  };
}

/**
 * Builds the broker and the tokens; `rateLimits` replaces the test policy's (which are
 * high enough never to be reached).
 */
export async function makeFixtures(
  options: { rateLimits?: PolicyFile['rate_limits'] } = {},
): Promise<Fixtures> {
  const signerKeys = await generateKeyPair('ES256', { extractable: true });
  const signerJwk = { ...(await exportJWK(signerKeys.publicKey)), kid: 'signer-1', alg: 'ES256' };
  const withSigner = fuzzPolicy(signerJwk);
  const policy = (p: PolicyFile): PolicyFile =>
    options.rateLimits === undefined
      ? withSigner(p)
      : { ...withSigner(p), rate_limits: options.rateLimits };
  const b = await makeBroker({ policy });
  const now = b.clock.now;
  const alice = await b.idp.sign({ sub: 'alice', scope: ALICE_SCOPE });
  const handoffAnswer = await b.exchange('planner', {
    subject_token: alice,
    audience: 'agent:booker',
    scope: ALICE_SCOPE,
  });
  if (handoffAnswer.status !== 200)
    throw new Error(`fixture hand-off failed: ${JSON.stringify(handoffAnswer.body)}`);
  const handoff = handoffAnswer.body.access_token as string;

  const stranger = await generateKeyPair('ES256');
  const batonKid = decodeProtectedHeader(handoff).kid!;
  const signWith = (claims: JWTPayload, kid: string, typ?: string) =>
    new SignJWT(claims)
      .setProtectedHeader({ alg: 'ES256', kid, ...(typ ? { typ } : {}) })
      .sign(stranger.privateKey);
  const aliceClaims = {
    iss: IDP,
    aud: ISSUER,
    sub: 'alice',
    scope: ALICE_SCOPE,
    iat: now,
    exp: now + 3600,
  };
  const bad: Record<BadSubject, string> = {
    expired: await b.idp.sign(
      { sub: 'alice', scope: ALICE_SCOPE },
      { iat: now - 7200, exp: now - 3600 },
    ),
    'wrong-key': await signWith(aliceClaims, 'idp-1'),
    'untrusted-issuer': await signWith({ ...aliceClaims, iss: 'https://evil.example' }, 'idp-1'),
    'wrong-audience': await b.idp.sign({ sub: 'alice', scope: ALICE_SCOPE, aud: API }),
    unsigned: `${b64url({ alg: 'none', typ: 'JWT' })}.${b64url(aliceClaims)}.`,
    'baton-claims-wrong-key': await signWith({ ...claimsOf(handoff) }, batonKid, 'at+jwt'),
    revoked: await revokedHandoff(b, alice),
    'baton-expired': await expiredToken(b),
  };
  const actors = {
    planner: await clientToken(b, 'planner'),
    booker: await clientToken(b, 'booker'),
  };
  const assertion = () =>
    new SignJWT({ jti: randomUUID() })
      .setProtectedHeader({ alg: 'ES256', kid: 'signer-1' })
      .setIssuer(SIGNER)
      .setSubject(SIGNER)
      .setAudience(`${ISSUER}/token`)
      .setIssuedAt(b.clock.now)
      .setExpirationTime(b.clock.now + 60)
      .sign(signerKeys.privateKey);
  return { b, alice, handoff, bad, actors, assertion };
}

/** A second hand-off of alice's token to booker, revoked by planner. */
async function revokedHandoff(b: TestBroker, alice: string): Promise<string> {
  const { body } = await b.exchange('planner', {
    subject_token: alice,
    audience: 'agent:booker',
    scope: ALICE_SCOPE,
  });
  const token = body.access_token as string;
  await b.post('/revoke', { token }, 'planner');
  if ((await b.store.revokedAt(claimsOf(token).jti!)) == null)
    throw new Error('fixture revocation failed');
  return token;
}

/** A token of planner's own issued long enough ago to have expired. */
async function expiredToken(b: TestBroker): Promise<string> {
  b.clock.now -= 3600;
  try {
    return await clientToken(b, 'planner');
  } finally {
    b.clock.now += 3600;
  }
}

/** A fresh token of planner's own (client_credentials), e.g. to revoke. */
export function plannerToken(b: TestBroker): Promise<string> {
  return clientToken(b, 'planner');
}

/** A fresh client_credentials token of `client`'s own. */
export async function clientToken(b: TestBroker, client: string): Promise<string> {
  const res = await b.post(
    '/token',
    { grant_type: 'client_credentials', scope: 'trips:read', audience: API },
    client,
  );
  const body = (await res.json()) as Record<string, unknown>;
  if (res.status !== 200)
    throw new Error(`fixture client_credentials failed: ${JSON.stringify(body)}`);
  return body.access_token as string;
}

export { AT, CIBA };
