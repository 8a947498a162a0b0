/**
 * The common case of JWT verification without WebCrypto: a token whose header names
 * only `alg`, `kid` and `typ`, whose `kid` picks exactly one known key, and whose `alg`
 * is the one bound to that key, is checked with Node's `crypto.verify` (callback form, on
 * libuv's thread pool like WebCrypto, so a second core shares the work) on a `KeyObject`
 * built once per key, and its claims with the same rules, in the same order
 * and with the same error classes as jose's `jwtVerify` (so `verify.ts` describes a
 * refusal the same way whichever path ran). Anything else (another header parameter such
 * as `crit`, `jwk` or `jku`, an unknown or ambiguous kid, an algorithm the key is not
 * bound to, a header or claims set that is not a plain JSON object) is left to jose:
 * `fastVerify` answers `undefined` and the caller runs `jwtVerify`, which refuses it as
 * it always has. A differential test (`test/tokens/fast-verify.test.ts`) holds the two
 * paths to the same answers.
 *
 * Why: jose verifies through WebCrypto, whose per-call algorithm normalisation, WebIDL
 * conversions and thread-pool hop cost about 200 µs of CPU per ES256 verification on
 * this project's 2-core machine against about 90 µs through `crypto.verify`, and every
 * exchange verifies at least one token.
 * @module
 */
import { constants, createPublicKey, verify, type KeyObject } from 'node:crypto';
import { errors as joseErrors, type JWK, type JWTPayload } from 'jose';

/** A public key with the one algorithm it verifies (the algorithm comes from the key). */
export interface FastKey {
  readonly alg: string;
  readonly key: KeyObject;
}

/** What `jwtVerify` options Baton uses; the same meaning as jose's. */
export interface FastVerifyOptions {
  algorithms: readonly string[];
  issuer: string;
  audience?: string;
  typ?: string;
  requiredClaims: readonly string[];
  /** Unix seconds. */
  now: number;
}

const HASH: Record<string, string> = { 256: 'sha256', 384: 'sha384', 512: 'sha512' };
const EC_CURVE: Record<string, string> = { ES256: 'P-256', ES384: 'P-384', ES512: 'P-521' };
const HEADER_KEYS = new Set(['alg', 'kid', 'typ']);
const strictUtf8 = new TextDecoder('utf-8', { fatal: true });

/** The algorithm a JWK is bound to, when that is unambiguous; else undefined (jose decides). */
function algOf(jwk: JWK): string | undefined {
  if (jwk.kty === 'EC') {
    const implied = Object.keys(EC_CURVE).find((a) => EC_CURVE[a] === jwk.crv);
    return jwk.alg === undefined || jwk.alg === implied ? implied : undefined;
  }
  if (jwk.kty === 'OKP')
    return jwk.crv === 'Ed25519' && [undefined, 'EdDSA', 'Ed25519'].includes(jwk.alg)
      ? (jwk.alg ?? 'EdDSA')
      : undefined;
  if (jwk.kty === 'RSA')
    return jwk.alg !== undefined && /^(RS|PS)(256|384|512)$/.test(jwk.alg) ? jwk.alg : undefined;
  return undefined;
}

/**
 * The keys of a JWKS that the fast path may use, by kid: only a key that is the one key
 * with its kid, meant for signatures (`use`, `key_ops`), with an unambiguous algorithm,
 * and (RSA) of at least 2048 bits, as jose requires. Others stay jose's to judge.
 */
export function fastKeysOf(jwks: { keys: readonly JWK[] }): Map<string, FastKey> {
  const byKid = new Map<string, JWK[]>();
  for (const jwk of jwks.keys) {
    if (typeof jwk.kid !== 'string') continue;
    byKid.set(jwk.kid, [...(byKid.get(jwk.kid) ?? []), jwk]);
  }
  const out = new Map<string, FastKey>();
  for (const [kid, [jwk, ...others]] of byKid) {
    if (jwk === undefined || others.length > 0) continue;
    if (jwk.use !== undefined && jwk.use !== 'sig') continue;
    if (jwk.key_ops !== undefined && !jwk.key_ops.includes('verify')) continue;
    const alg = algOf(jwk);
    if (alg === undefined) continue;
    try {
      const { d: _d, p: _p, q: _q, dp: _dp, dq: _dq, qi: _qi, ...pub } = jwk;
      const key = createPublicKey({ key: pub as import('node:crypto').JsonWebKey, format: 'jwk' });
      if (jwk.kty === 'RSA' && (key.asymmetricKeyDetails?.modulusLength ?? 0) < 2048) continue;
      out.set(kid, { alg, key });
    } catch {
      // A key Node cannot read: jose will say what is wrong with it.
    }
  }
  return out;
}

/** Checks the signature on libuv's thread pool (the callback form of `crypto.verify`). */
function signatureValid(
  alg: string,
  key: KeyObject,
  input: Buffer,
  signature: Buffer,
): Promise<boolean> {
  const hash = alg === 'EdDSA' || alg === 'Ed25519' ? null : HASH[alg.slice(2)];
  if (hash === undefined) return Promise.resolve(false);
  const options = alg.startsWith('ES')
    ? { key, dsaEncoding: 'ieee-p1363' as const }
    : alg.startsWith('PS')
      ? { key, padding: constants.RSA_PKCS1_PSS_PADDING, saltLength: Number(alg.slice(2)) / 8 }
      : key;
  return new Promise((resolve, reject) =>
    verify(hash, input, options, signature, (error, valid) =>
      error ? reject(error) : resolve(valid),
    ),
  );
}

function plainObject(value: unknown): value is Record<string, unknown> {
  return (
    typeof value === 'object' && value !== null && Object.getPrototypeOf(value) === Object.prototype
  );
}

function parseSegment(segment: string): unknown {
  try {
    return JSON.parse(strictUtf8.decode(Buffer.from(segment, 'base64url')));
  } catch {
    return undefined;
  }
}

/** jose's `typ` comparison: case-insensitive, `application/` implied. */
function normalizeTyp(value: string): string {
  const lower = value.toLowerCase();
  return lower.startsWith('application/') ? lower.slice('application/'.length) : lower;
}

function numericDate(claims: JWTPayload, claim: 'iat' | 'nbf' | 'exp'): number | undefined {
  const value = claims[claim];
  if (value === undefined) return undefined;
  if (typeof value !== 'number')
    throw new joseErrors.JWTClaimValidationFailed(
      `"${claim}" claim must be a number`,
      claims,
      claim,
      'invalid',
    );
  return value;
}

function unexpected(claims: JWTPayload, claim: string): never {
  throw new joseErrors.JWTClaimValidationFailed(
    `unexpected "${claim}" claim value`,
    claims,
    claim,
    'check_failed',
  );
}

/**
 * Verifies `token` (already checked to be a canonical compact JWS) when it fits the fast
 * path: resolves its claims, or throws what jose would throw. `undefined`: not the fast
 * path's to judge; run jose.
 */
export async function fastVerify(
  token: string,
  keys: ReadonlyMap<string, FastKey>,
  options: FastVerifyOptions,
): Promise<JWTPayload | undefined> {
  const firstDot = token.indexOf('.');
  const secondDot = token.indexOf('.', firstDot + 1);
  const header = parseSegment(token.slice(0, firstDot));
  if (!plainObject(header) || typeof header.kid !== 'string' || typeof header.alg !== 'string')
    return undefined;
  for (const name of Object.keys(header)) if (!HEADER_KEYS.has(name)) return undefined;
  const key = keys.get(header.kid);
  if (key === undefined || key.alg !== header.alg || !options.algorithms.includes(key.alg))
    return undefined;
  const claims = parseSegment(token.slice(firstDot + 1, secondDot));
  if (!plainObject(claims)) return undefined;

  const input = Buffer.from(token.slice(0, secondDot));
  const signature = Buffer.from(token.slice(secondDot + 1), 'base64url');
  if (!(await signatureValid(key.alg, key.key, input, signature)))
    throw new joseErrors.JWSSignatureVerificationFailed();

  // jose's validateClaimsSet, in its order, for the options Baton uses.
  const payload = claims as JWTPayload;
  if (
    options.typ !== undefined &&
    (typeof header.typ !== 'string' || normalizeTyp(header.typ) !== normalizeTyp(options.typ))
  ) {
    throw new joseErrors.JWTClaimValidationFailed(
      'unexpected "typ" JWT header value',
      payload,
      'typ',
      'check_failed',
    );
  }
  const presence = [...options.requiredClaims];
  if (options.audience !== undefined) presence.push('aud');
  presence.push('iss');
  for (const claim of new Set(presence.reverse())) {
    if (!Object.hasOwn(payload, claim))
      throw new joseErrors.JWTClaimValidationFailed(
        `missing required "${claim}" claim`,
        payload,
        claim,
        'missing',
      );
  }
  if (payload.iss !== options.issuer) unexpected(payload, 'iss');
  if (options.audience !== undefined) {
    const aud = payload.aud;
    const present =
      typeof aud === 'string'
        ? aud === options.audience
        : Array.isArray(aud) && aud.includes(options.audience);
    if (!present) unexpected(payload, 'aud');
  }
  numericDate(payload, 'iat');
  const nbf = numericDate(payload, 'nbf');
  if (nbf !== undefined && nbf > options.now)
    throw new joseErrors.JWTClaimValidationFailed(
      '"nbf" claim timestamp check failed',
      payload,
      'nbf',
      'check_failed',
    );
  const exp = numericDate(payload, 'exp');
  if (exp !== undefined && exp <= options.now)
    throw new joseErrors.JWTExpired(
      '"exp" claim timestamp check failed',
      payload,
      'exp',
      'check_failed',
    );
  return payload;
}
