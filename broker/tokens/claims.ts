/**
 * The shapes of the claims Baton reads and writes (RFC 9068 access tokens with the
 * RFC 8693 §4.1 `act` claim).
 * @module
 */

/** RFC 8693 §4.1: the outermost `act` is the current actor; earlier actors nest inside. */
export interface ActClaim {
  sub: string;
  act?: ActClaim;
  [claim: string]: unknown;
}

/** The claims of a token Baton issues. */
export interface BatonClaims {
  iss: string;
  sub: string;
  aud: string | string[];
  exp: number;
  iat: number;
  jti: string;
  client_id: string;
  scope: string;
  act?: ActClaim;
}

export const TOKEN_TYPE_ACCESS_TOKEN = 'urn:ietf:params:oauth:token-type:access_token';
export const TOKEN_TYPE_JWT = 'urn:ietf:params:oauth:token-type:jwt';
export const GRANT_TOKEN_EXCHANGE = 'urn:ietf:params:oauth:grant-type:token-exchange';
export const GRANT_CLIENT_CREDENTIALS = 'client_credentials';
export const GRANT_CIBA = 'urn:openid:params:grant-type:ciba';
/** Baton's tokens are at most this long; anything longer is refused before parsing. */
export const MAX_TOKEN_LENGTH = 16 * 1024;

/**
 * The JWS algorithms Baton accepts from others (trusted issuers, client assertions):
 * asymmetric only, so `none` and an HMAC keyed with a public key can never verify.
 */
export const ASYMMETRIC_ALGS = [
  'ES256',
  'ES384',
  'ES512',
  'RS256',
  'RS384',
  'RS512',
  'PS256',
  'PS384',
  'PS512',
  'EdDSA',
  'Ed25519',
];
