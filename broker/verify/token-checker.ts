/**
 * Checks one bearer token for one API, in order of cost: shape and issuer (no I/O),
 * signature and claims against Baton's JWKS (RFC 9068 §4: ES256 only, the algorithm
 * bound to the key, `typ: at+jwt`, `iss`, `aud`, `exp`, `nbf`), then the API's rules on
 * the delegation chain and scope, then, when enabled, RFC 7662 introspection, so only a
 * token that would otherwise pass costs a round trip. Every failure is a `Refusal`.
 * @module
 */
import { decodeJwt, errors as joseErrors, jwtVerify, type JWTPayload } from 'jose';
import { isCompactJws } from '../tokens/compact-jws.js';
import { actorsOf, missingScopes, scopesOf } from './chain.js';
import type { Delegation } from './index.js';
import type { IssuerClient } from './issuer.js';
import { insufficientScope, invalidToken, Refusal } from './refusal.js';

/** Baton's tokens are far shorter; anything longer is refused before it is parsed. */
const MAX_TOKEN_LENGTH = 16 * 1024;

export interface CheckRules {
  issuer: string;
  audience: string;
  scope: readonly string[];
  maxDepth: number | undefined;
  allowActors: ReadonlySet<string> | undefined;
  introspect: { clientId: string; clientSecret: string } | undefined;
  clockTolerance: number;
}

export class TokenChecker {
  constructor(
    readonly issuerClient: IssuerClient,
    readonly rules: CheckRules,
  ) {}

  async check(token: string): Promise<Delegation> {
    const claims = await this.#verify(token);
    const delegation = this.#read(claims);
    this.#applyRules(delegation);
    if (
      this.rules.introspect !== undefined &&
      !(await this.issuerClient.isActive(token, this.rules.introspect))
    ) {
      throw invalidToken('the token has been revoked or is no longer active');
    }
    return delegation;
  }

  async #verify(token: string): Promise<JWTPayload> {
    const { issuer, audience, clockTolerance } = this.rules;
    if (token.length > MAX_TOKEN_LENGTH) throw invalidToken('the token is too large');
    // RFC 7515 §7.1: one token, one spelling; jose alone would take padding or whitespace.
    if (!isCompactJws(token)) throw invalidToken('the token is not a valid signed JWT');
    // A token that is not even claiming to be Baton's is refused without fetching keys.
    let claimed: unknown;
    try {
      claimed = decodeJwt(token).iss;
    } catch {
      throw invalidToken('the token is not a valid signed JWT');
    }
    if (claimed !== issuer) throw invalidToken(`the token was not issued by ${issuer}`);
    try {
      const { payload } = await jwtVerify(token, this.issuerClient.getKey, {
        algorithms: ['ES256'],
        issuer,
        audience,
        typ: 'at+jwt',
        requiredClaims: ['sub', 'exp', 'iat', 'jti', 'client_id'],
        clockTolerance,
      });
      return payload;
    } catch (error) {
      throw describe(error, audience);
    }
  }

  #read(claims: JWTPayload): Delegation {
    const { sub, jti, client_id: clientId } = claims;
    if (typeof sub !== 'string' || sub === '')
      throw invalidToken('the token has no valid sub claim');
    if (typeof jti !== 'string' || jti === '')
      throw invalidToken('the token has no valid jti claim');
    if (typeof clientId !== 'string' || clientId === '')
      throw invalidToken('the token has no valid client_id claim');
    const actors = actorsOf(claims.act);
    if (actors === null) throw invalidToken('the token has a malformed act claim');
    const scope = scopesOf(claims.scope);
    if (scope === null) throw invalidToken('the token has a malformed scope claim');
    return { sub, actors, scope, clientId, jti, claims };
  }

  #applyRules(d: Delegation): void {
    const { maxDepth, allowActors, scope } = this.rules;
    if (maxDepth !== undefined && d.actors.length > maxDepth) {
      throw invalidToken(
        `the delegation chain has ${d.actors.length} actors; this API accepts at most ${maxDepth}`,
      );
    }
    if (allowActors !== undefined) {
      const refused = [...d.actors, d.clientId].find((a) => !allowActors.has(a));
      if (refused !== undefined) throw invalidToken(`the agent ${refused} may not act on this API`);
    }
    const missing = missingScopes(scope, d.scope);
    if (missing.length > 0) throw insufficientScope(scope, missing);
  }
}

/** A jose failure as a refusal that says what was wrong, never echoing the token. */
function describe(error: unknown, audience: string): Refusal {
  if (error instanceof Refusal) return error;
  if (error instanceof joseErrors.JWTExpired) return invalidToken('the token has expired');
  if (error instanceof joseErrors.JWTClaimValidationFailed) {
    if (error.reason === 'missing') return invalidToken(`the token has no ${error.claim} claim`);
    switch (error.claim) {
      case 'aud':
        return invalidToken(`the token is not meant for ${audience}`);
      case 'nbf':
        return invalidToken('the token is not valid yet');
      case 'typ':
        return invalidToken('the token is not an access token (typ at+jwt)');
      default:
        return invalidToken(`the token has an unacceptable ${error.claim} claim`);
    }
  }
  if (error instanceof joseErrors.JWSSignatureVerificationFailed)
    return invalidToken('the token signature does not verify');
  if (
    error instanceof joseErrors.JWKSNoMatchingKey ||
    error instanceof joseErrors.JWKSMultipleMatchingKeys
  ) {
    return invalidToken('the token is signed with a key its issuer does not publish');
  }
  if (
    error instanceof joseErrors.JOSEAlgNotAllowed ||
    error instanceof joseErrors.JOSENotSupported
  ) {
    return invalidToken('the token is not signed with ES256');
  }
  return invalidToken('the token is not a valid signed JWT');
}
