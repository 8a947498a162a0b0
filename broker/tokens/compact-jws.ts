/**
 * RFC 7515 §7.1 / §2: a JWS in compact serialization is exactly three base64url segments
 * joined by `.`, and base64url here has no `=` padding, no whitespace and no line breaks.
 * jose decodes segments leniently (Node's base64url decoder skips what it does not know,
 * and ignores the unused low bits of a segment's last character), so a token with `=`,
 * a space or a newline in its signature, or with a pad bit set (RFC 4648 §3.5: an ES256
 * signature has sixteen spellings that decode alike), still verifies: one token, many
 * strings. Every place Baton accepts a JWT asks this one predicate first, so only the
 * canonical spelling is ever taken. Pure, no I/O; a leaf module (the downstream
 * verifier `baton/verify` imports it too).
 * @module
 */

/** Three non-empty unpadded base64url segments, nothing before, between or after. */
const COMPACT_JWS = /^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+$/;

/** The 6-bit value of a base64url character (the regex above has already vetted it). */
function sextet(code: number): number {
  if (code === 45) return 62; // -
  if (code === 95) return 63; // _
  if (code >= 97) return code - 71; // a-z: 26..51
  if (code >= 65) return code - 65; // A-Z: 0..25
  return code + 4; // 0-9: 52..61
}

/**
 * Whether the segment ending at `end` (exclusive), `length` characters long, is the one
 * canonical encoding of its bytes: a length that whole bytes can have, and zero pad bits.
 */
function canonicalSegment(token: string, end: number, length: number): boolean {
  const rest = length % 4;
  if (rest === 0) return true;
  if (rest === 1) return false;
  // 2 characters left carry one byte and 4 pad bits; 3 carry two bytes and 2 pad bits.
  const padMask = rest === 2 ? 0b1111 : 0b11;
  return (sextet(token.charCodeAt(end - 1)) & padMask) === 0;
}

/**
 * Whether `token` is spelled as a canonical compact JWS. An unsecured JWT (`alg: none`,
 * empty signature) is not: Baton never accepts one.
 */
export function isCompactJws(token: string): boolean {
  if (!COMPACT_JWS.test(token)) return false;
  const first = token.indexOf('.');
  const second = token.indexOf('.', first + 1);
  return (
    canonicalSegment(token, first, first) &&
    canonicalSegment(token, second, second - first - 1) &&
    canonicalSegment(token, token.length, token.length - second - 1)
  );
}
