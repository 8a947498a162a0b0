/**
 * The broker a fuzz file runs against (the test policy with approvals, on a temp SQLite),
 * and the real tokens the mutations start from: a person's token from the test IdP, a
 * hand-off Baton issued from it, and tokens that must never be taken (expired, signed
 * with a key nobody trusts, from an untrusted issuer, for another audience, unsigned).
 */
import { generateKeyPair, SignJWT, decodeProtectedHeader, type JWTPayload } from 'jose';
import {
  API,
  AT,
  CIBA,
  IDP,
  ISSUER,
  claimsOf,
  makeBroker,
  withApprovals,
  type TestBroker,
} from '../helpers.js';

/** What alice's IdP token carries: narrower than planner's scopes, so widening is testable. */
export const ALICE_SCOPE = 'trips:read flights:book';

/** Subject tokens that no exchange may take. */
export type BadSubject =
  | 'expired'
  | 'wrong-key'
  | 'untrusted-issuer'
  | 'wrong-audience'
  | 'unsigned'
  | 'baton-claims-wrong-key';

export interface Fixtures {
  b: TestBroker;
  /** alice's token from the trusted IdP, scope `ALICE_SCOPE`, audience Baton. */
  alice: string;
  /** planner's hand-off of `alice` to booker (`aud: agent:booker`, scope `ALICE_SCOPE`). */
  handoff: string;
  bad: Record<BadSubject, string>;
}

const b64url = (v: unknown) => Buffer.from(JSON.stringify(v)).toString('base64url');

/** Builds the broker and the tokens; `policy` may adjust the test policy further. */
export async function makeFixtures(): Promise<Fixtures> {
  const b = await makeBroker({ policy: withApprovals });
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
  };
  return { b, alice, handoff, bad };
}

/** A fresh token of planner's own (client_credentials), e.g. to revoke. */
export async function plannerToken(b: TestBroker): Promise<string> {
  const res = await b.post(
    '/token',
    { grant_type: 'client_credentials', scope: 'trips:read', audience: API },
    'planner',
  );
  const body = (await res.json()) as Record<string, unknown>;
  if (res.status !== 200)
    throw new Error(`fixture client_credentials failed: ${JSON.stringify(body)}`);
  return body.access_token as string;
}

export { AT, CIBA };
