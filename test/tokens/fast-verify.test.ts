/**
 * `fastVerify` (Node's crypto.verify, `broker/tokens/fast-verify.ts`) must answer exactly
 * as jose's `jwtVerify` does: the same claims for a good token, the same error class,
 * message and claim for a bad one, for every algorithm family Baton accepts; and it must
 * step aside (undefined) for anything it does not judge, so jose still refuses `crit`,
 * `jwk`, unknown kids and algorithm mismatches. A differential test over a corpus of
 * tokens: each variant runs through both paths.
 */
import { generateKeyPairSync } from 'node:crypto';
import {
  createLocalJWKSet,
  exportJWK,
  generateKeyPair,
  jwtVerify,
  SignJWT,
  type JWK,
  type JWTPayload,
} from 'jose';
import { describe, expect, it } from 'vitest';
import { fastKeysOf, fastVerify } from '../../broker/tokens/fast-verify.js';

const NOW = 1_900_000_000;
const ISS = 'https://idp.example';
const AUD = 'baton';

interface Signer {
  alg: string;
  kid: string;
  privateKey: CryptoKey;
  publicJwk: JWK;
}

async function signer(alg: string, kid: string, options: { withAlg?: boolean } = {}) {
  const { privateKey, publicKey } = await generateKeyPair(alg, {
    extractable: true,
    ...(alg.startsWith('RS') || alg.startsWith('PS') ? { modulusLength: 2048 } : {}),
  });
  const jwk = await exportJWK(publicKey);
  return {
    alg,
    kid,
    privateKey,
    publicJwk: { ...jwk, kid, use: 'sig', ...(options.withAlg === false ? {} : { alg }) },
  } satisfies Signer;
}

async function token(
  s: Signer,
  claims: JWTPayload,
  header: Record<string, unknown> = {},
): Promise<string> {
  return new SignJWT(claims)
    .setProtectedHeader({ alg: s.alg, kid: s.kid, typ: 'JWT', ...header })
    .sign(s.privateKey);
}

type Outcome = { ok: JWTPayload } | { error: string; message: string; claim?: string };

async function outcome(run: () => Promise<JWTPayload | undefined>): Promise<Outcome> {
  try {
    const payload = await run();
    if (payload === undefined) throw new Error('stepped aside');
    return { ok: payload };
  } catch (e) {
    const error = e as Error & { claim?: string };
    return { error: error.constructor.name, message: error.message, claim: error.claim };
  }
}

async function joseOutcome(
  t: string,
  jwks: { keys: JWK[] },
  options: Parameters<typeof fastVerify>[2],
): Promise<Outcome> {
  try {
    const { payload } = await jwtVerify(t, createLocalJWKSet(jwks), {
      algorithms: [...options.algorithms],
      issuer: options.issuer,
      audience: options.audience,
      typ: options.typ,
      requiredClaims: [...options.requiredClaims],
      currentDate: new Date(options.now * 1000),
    });
    return { ok: payload };
  } catch (e) {
    const error = e as Error & { claim?: string };
    return { error: error.constructor.name, message: error.message, claim: error.claim };
  }
}

const good: JWTPayload = { iss: ISS, aud: AUD, sub: 'alice', exp: NOW + 60, iat: NOW - 5 };
const claimVariants: Array<[string, JWTPayload]> = [
  ['good', good],
  ['aud in a list', { ...good, aud: ['other', AUD] }],
  ['expired', { ...good, exp: NOW }],
  ['expired long ago', { ...good, exp: NOW - 3600 }],
  ['not yet valid', { ...good, nbf: NOW + 1 }],
  ['nbf now', { ...good, nbf: NOW }],
  ['wrong issuer', { ...good, iss: 'https://other.example' }],
  ['wrong audience', { ...good, aud: 'someone-else' }],
  ['audience list without ours', { ...good, aud: ['a', 'b'] }],
  ['no sub', { iss: ISS, aud: AUD, exp: NOW + 60 }],
  ['no exp', { iss: ISS, aud: AUD, sub: 'alice' }],
  ['no iss', { aud: AUD, sub: 'alice', exp: NOW + 60 }],
  ['no aud', { iss: ISS, sub: 'alice', exp: NOW + 60 }],
  ['nothing', {}],
  ['exp a string', { ...good, exp: String(NOW + 60) as unknown as number }],
  ['iat a string', { ...good, iat: 'yesterday' as unknown as number }],
  ['nbf a string', { ...good, nbf: 'soon' as unknown as number }],
  ['iss a number', { ...good, iss: 7 as unknown as string }],
];

const options = {
  algorithms: ['ES256', 'ES384', 'ES512', 'RS256', 'PS256', 'EdDSA'],
  issuer: ISS,
  audience: AUD,
  requiredClaims: ['sub', 'exp'],
  now: NOW,
};

describe('fastVerify answers as jose does', () => {
  it('for every claim variant, under ES256, ES384, ES512, RS256, PS256 and EdDSA keys', async () => {
    const signers = await Promise.all([
      signer('ES256', 'e256'),
      signer('ES384', 'e384', { withAlg: false }),
      signer('ES512', 'e512'),
      signer('RS256', 'r256'),
      signer('PS256', 'p256'),
      signer('EdDSA', 'ed', { withAlg: false }),
    ]);
    const jwks = { keys: signers.map((s) => s.publicJwk) };
    const keys = fastKeysOf(jwks);
    expect([...keys.keys()].sort()).toEqual(['e256', 'e384', 'e512', 'ed', 'p256', 'r256']);
    for (const s of signers) {
      for (const [name, claims] of claimVariants) {
        const t = await token(s, claims);
        const fast = await outcome(() => fastVerify(t, keys, options));
        expect(fast, `${s.alg} ${name}`).toEqual(await joseOutcome(t, jwks, options));
      }
    }
  });

  it('for a forged signature, another key under the same kid, and the typ check', async () => {
    const s = await signer('ES256', 'k');
    const other = await signer('ES256', 'k');
    const jwks = { keys: [s.publicJwk] };
    const keys = fastKeysOf(jwks);
    const good1 = await token(s, good);
    const [h, , sig] = good1.split('.');
    const forged = `${h}.${Buffer.from(JSON.stringify({ ...good, sub: 'mallory' })).toString('base64url')}.${sig}`;
    const byOther = await token(other, good);
    const typed = { ...options, typ: 'at+jwt' };
    const atJwt = await token(s, good, { typ: 'application/AT+JWT' });
    for (const [t, o] of [
      [forged, options],
      [byOther, options],
      [good1, typed],
      [atJwt, typed],
    ] as const) {
      expect(await outcome(() => fastVerify(t, keys, o))).toEqual(await joseOutcome(t, jwks, o));
    }
    expect(await outcome(() => fastVerify(forged, keys, options))).toMatchObject({
      error: 'JWSSignatureVerificationFailed',
    });
  });

  it('steps aside for what only jose judges: crit, jwk and jku headers, an unknown kid, an alg the key is not bound to, a shared kid, a weak RSA key, a key not for signing', async () => {
    const s = await signer('ES256', 'k');
    const keys = fastKeysOf({ keys: [s.publicJwk] });
    for (const header of [
      { crit: ['b64'], b64: true },
      { cty: 'JWT' },
      { jwk: s.publicJwk },
      { jku: 'https://evil.example/jwks' },
      { kid: 'unknown' },
    ]) {
      expect(await fastVerify(await token(s, good, header), keys, options)).toBeUndefined();
    }
    const es384 = await signer('ES384', 'k');
    expect(await fastVerify(await token(es384, good), keys, options)).toBeUndefined();
    const twin = await signer('ES256', 'k');
    expect(fastKeysOf({ keys: [s.publicJwk, twin.publicJwk] }).size).toBe(0);
    expect(fastKeysOf({ keys: [{ ...s.publicJwk, use: 'enc' }] }).size).toBe(0);
    const weak = generateKeyPairSync('rsa', { modulusLength: 1024 }).publicKey.export({
      format: 'jwk',
    });
    expect(fastKeysOf({ keys: [{ ...(weak as JWK), kid: 'w', alg: 'RS256' }] }).size).toBe(0);
  });
});
