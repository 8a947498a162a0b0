/**
 * The opaque secrets of MCP authorization: authorization codes and refresh tokens are
 * 32 random bytes (base64url) with a prefix that says what they are, and the database
 * keeps only their SHA-256. PKCE (RFC 7636 §4.6): S256 only.
 * @module
 */
import { createHash, randomBytes } from 'node:crypto';
import { secretsEqual } from '../oauth/admin-bearer.js';

export const CODE_PREFIX = 'bac_';
export const REFRESH_PREFIX = 'brt_';
/** Longest code or refresh token looked at; anything longer is not one of Baton's. */
export const MAX_SECRET_CHARS = 128;

export function newSecret(prefix: string): string {
  return prefix + randomBytes(32).toString('base64url');
}

export function secretHash(secret: string): string {
  return createHash('sha256').update(secret).digest('base64url');
}

/** Whether `value` looks like a refresh token Baton issues (cheap, before any lookup). */
export function isRefreshTokenShape(value: string): boolean {
  return value.startsWith(REFRESH_PREFIX) && value.length <= MAX_SECRET_CHARS;
}

/** RFC 7636 §4.1: 43 to 128 characters of the unreserved set. */
export const PKCE_VALUE = /^[A-Za-z0-9\-._~]{43,128}$/;

/** RFC 7636 §4.6: BASE64URL(SHA256(code_verifier)) == code_challenge, compared in constant time. */
export function pkceMatches(verifier: string, challenge: string): boolean {
  if (!PKCE_VALUE.test(verifier)) return false;
  return secretsEqual(createHash('sha256').update(verifier).digest('base64url'), challenge);
}
