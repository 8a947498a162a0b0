/**
 * RFC 7515 §7.1 / §2: a JWS in compact serialization is exactly three base64url segments
 * joined by `.`, and base64url here has no `=` padding, no whitespace and no line breaks.
 * jose decodes segments leniently (Node's base64url decoder skips what it does not know),
 * so a token with `=`, a space or a newline in its signature still verifies: one token,
 * many spellings. Every place Baton accepts a JWT asks this one predicate first, so
 * only the canonical spelling is ever taken. Pure, no I/O; a leaf module (the
 * downstream verifier `baton/verify` imports it too).
 * @module
 */

/** Three non-empty unpadded base64url segments, nothing before, between or after. */
const COMPACT_JWS = /^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+$/;

/**
 * Whether `token` is spelled as a canonical compact JWS. An unsecured JWT (`alg: none`,
 * empty signature) is not: Baton never accepts one.
 */
export function isCompactJws(token: string): boolean {
  return COMPACT_JWS.test(token);
}
