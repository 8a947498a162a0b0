/**
 * Verifies the JWTs Baton is handed: its own access tokens and trusted issuers' tokens
 * (SPEC §4 rule 2). The algorithm always comes from the key: Baton's own tokens verify
 * only as ES256 under one of its kids; a trusted issuer's key set is used through jose's
 * JWKS resolvers, which pick a key only when its `kty`/`crv`/`alg` fit the header's
 * `alg`, and only asymmetric algorithms are allowed at all (so `none` and HS256 signed
 * with a public key never pass). Header `jku`/`x5u`/`jwk` are never used to find a key.
 *
 * Remote key sets (`jwks_uri`) are fetched with a timeout and a size cap, from https
 * public addresses only (unless the policy's development switch allows otherwise),
 * cached, and refetched at most once per cooldown (`remote-keys.ts`).
 * @module
 */
import {
  createLocalJWKSet,
  decodeJwt,
  errors as joseErrors,
  jwtVerify,
  type JWK,
  type JWTPayload,
  type JWTVerifyGetKey,
} from 'jose';
import type { TrustedIssuerPolicy } from '../config/policy.js';
import { inputText } from '../text/show.js';
import { readAct, readAud, readScopes } from './act.js';
import { ASYMMETRIC_ALGS, MAX_TOKEN_LENGTH, type ActClaim } from './claims.js';
import { isCompactJws } from './compact-jws.js';
import { fastKeysOf, fastVerify, type FastKey } from './fast-verify.js';
import { remoteKeySet } from './remote-keys.js';
import type { KeyRing } from './signing-keys.js';

/** A token that did not verify; `message` is safe to send to the client. */
export class TokenRejected extends Error {
  constructor(
    message: string,
    /** The jti of one of Baton's own tokens whose signature checked out (an expired one, say). */
    readonly jti?: string,
  ) {
    super(message);
    this.name = 'TokenRejected';
  }
}

/** What Baton needs from a verified token, whoever issued it. */
export interface VerifiedToken {
  source: 'baton' | 'trusted';
  iss: string;
  sub: string;
  jti: string | undefined;
  aud: string[];
  exp: number | undefined;
  scopes: string[];
  act: ActClaim | undefined;
  clientId: string | undefined;
  mayAct: { sub?: unknown; iss?: unknown } | undefined;
  payload: JWTPayload;
}

function describe(error: unknown, what: string): TokenRejected {
  if (error instanceof TokenRejected) return error;
  if (error instanceof joseErrors.JWTExpired) return new TokenRejected(`${what} has expired`);
  if (error instanceof joseErrors.JWTClaimValidationFailed) {
    if (error.claim === 'nbf') return new TokenRejected(`${what} is not valid yet`);
    return new TokenRejected(`${what} has an unacceptable ${error.claim} claim`);
  }
  // A remote key set that times out, answers non-200 or non-JSON, or cannot be reached
  // (fetch's TypeError) leaves the token unverifiable, not malformed.
  const generic = error instanceof joseErrors.JOSEError && error.code === 'ERR_JOSE_GENERIC';
  if (
    error instanceof joseErrors.JWKSTimeout ||
    error instanceof joseErrors.JWKSInvalid ||
    generic ||
    !(error instanceof joseErrors.JOSEError)
  ) {
    return new TokenRejected(`${what} could not be checked: its issuer's keys are unavailable`);
  }
  if (error instanceof joseErrors.JWKSNoMatchingKey)
    return new TokenRejected(`${what} is signed with an unknown key`);
  if (error instanceof joseErrors.JOSEAlgNotAllowed)
    return new TokenRejected(`${what} uses an algorithm that is not allowed`);
  return new TokenRejected(`${what} is not a valid signed JWT`);
}

/** Size first (cheap), then the one canonical spelling (RFC 7515 §7.1), before any decoding. */
function checkSpelling(token: string, what: string): void {
  if (token.length > MAX_TOKEN_LENGTH) throw new TokenRejected(`${what} is too large`);
  if (!isCompactJws(token)) throw new TokenRejected(`${what} is not a valid signed JWT`);
}

export class TokenVerifier {
  readonly #trusted = new Map<
    string,
    { policy: TrustedIssuerPolicy; keys: JWTVerifyGetKey; fast: ReadonlyMap<string, FastKey> }
  >();
  readonly #ownKey: JWTVerifyGetKey;
  readonly #keyRing: KeyRing;

  constructor(
    readonly issuer: string,
    keyRing: KeyRing,
    trustedIssuers: Iterable<TrustedIssuerPolicy>,
    /** `development.allow_insecure_key_urls` of the policy. */
    options: { allowInsecureKeyUrls?: boolean } = {},
  ) {
    this.#keyRing = keyRing;
    this.#ownKey = (header) => {
      const key = header.kid === undefined ? undefined : keyRing.publicKeys.get(header.kid);
      if (key === undefined) throw new joseErrors.JWKSNoMatchingKey();
      return key;
    };
    for (const t of trustedIssuers) {
      const keys =
        t.jwks !== undefined
          ? createLocalJWKSet(t.jwks as Parameters<typeof createLocalJWKSet>[0])
          : remoteKeySet(t.jwksUri!, { allowInsecure: options.allowInsecureKeyUrls ?? false });
      // Inline keys also serve the fast path; a remote set stays with jose (it refetches).
      const fast = t.jwks !== undefined ? fastKeysOf(t.jwks as { keys: JWK[] }) : new Map();
      this.#trusted.set(t.issuer, { policy: t, keys, fast });
    }
  }

  /** Verifies one of Baton's own access tokens (signature, iss, typ, exp, nbf). */
  async verifyOwn(token: string, now: number, what = 'the token'): Promise<VerifiedToken> {
    checkSpelling(token, what);
    try {
      const options = {
        algorithms: ['ES256'],
        issuer: this.issuer,
        typ: 'at+jwt',
        requiredClaims: ['sub', 'exp', 'iat', 'jti', 'client_id'],
      };
      const payload =
        (await fastVerify(token, this.#keyRing.fastKeys, { ...options, now: Math.floor(now) })) ??
        (await jwtVerify(token, this.#ownKey, { ...options, currentDate: new Date(now * 1000) }))
          .payload;
      return this.#read(payload, 'baton', what);
    } catch (error) {
      const rejected = describe(error, what);
      // jose checks claims only after the signature: an expired or not-yet-valid token
      // of ours is still known to be ours, so refusals can be filed against its jti.
      const payload =
        error instanceof joseErrors.JWTClaimValidationFailed ||
        error instanceof joseErrors.JWTExpired
          ? error.payload
          : undefined;
      if (payload?.iss === this.issuer && typeof payload.jti === 'string')
        throw new TokenRejected(rejected.message, payload.jti);
      throw rejected;
    }
  }

  /** Verifies a subject token from Baton or from a trusted issuer (SPEC §4 rule 2). */
  async verifySubject(
    token: string,
    now: number,
    what = 'the subject token',
  ): Promise<VerifiedToken> {
    checkSpelling(token, what);
    let iss: unknown;
    try {
      iss = decodeJwt(token).iss;
    } catch {
      throw new TokenRejected(`${what} is not a valid signed JWT`);
    }
    if (iss === this.issuer) return this.verifyOwn(token, now, what);
    const trusted = typeof iss === 'string' ? this.#trusted.get(iss) : undefined;
    if (trusted === undefined) {
      // The operator needs the name to fix a policy; it is attacker-controlled, so sanitised.
      if (iss === undefined) throw new TokenRejected(`${what} has no iss claim`);
      if (typeof iss !== 'string') throw new TokenRejected(`${what} has a malformed iss claim`);
      throw new TokenRejected(
        `${what} comes from ${inputText(iss)}, an issuer Baton does not trust`,
      );
    }
    try {
      const options = {
        algorithms: ASYMMETRIC_ALGS,
        issuer: trusted.policy.issuer,
        audience: trusted.policy.audience,
        requiredClaims: ['sub', 'exp'],
      };
      const payload =
        (await fastVerify(token, trusted.fast, { ...options, now: Math.floor(now) })) ??
        (await jwtVerify(token, trusted.keys, { ...options, currentDate: new Date(now * 1000) }))
          .payload;
      return this.#read(payload, 'trusted', what);
    } catch (error) {
      throw describe(error, what);
    }
  }

  #read(payload: JWTPayload, source: 'baton' | 'trusted', what: string): VerifiedToken {
    const act = readAct(payload.act);
    const scopes = readScopes(payload as { scope?: unknown; scp?: unknown });
    if (act === null) throw new TokenRejected(`${what} has a malformed act claim`);
    if (scopes === null) throw new TokenRejected(`${what} has a malformed scope claim`);
    if (typeof payload.sub !== 'string' || payload.sub === '')
      throw new TokenRejected(`${what} has no subject`);
    const mayAct = payload.may_act;
    if (
      mayAct !== undefined &&
      (typeof mayAct !== 'object' || mayAct === null || Array.isArray(mayAct))
    ) {
      throw new TokenRejected(`${what} has a malformed may_act claim`);
    }
    return {
      source,
      iss: payload.iss!,
      sub: payload.sub,
      jti: typeof payload.jti === 'string' ? payload.jti : undefined,
      aud: readAud(payload.aud),
      exp: payload.exp,
      scopes,
      act,
      clientId: typeof payload.client_id === 'string' ? payload.client_id : undefined,
      mayAct: mayAct as VerifiedToken['mayAct'],
      payload,
    };
  }
}
