/**
 * Breaking a JWT. Every variant yields a string that is not the token Baton or the IdP
 * signed, in its one canonical spelling: RFC 7515 §7.1 compact serialization, RFC 7515
 * §2 base64url without padding, line breaks or whitespace, and with zero pad bits
 * (RFC 4648 §3.5: otherwise one signature has sixteen spellings); or another token that
 * must never be taken.
 */
import fc from 'fast-check';
import type { BadSubject, Fixtures } from './fixtures.js';

const WHITESPACE = [
  ' ',
  '\t',
  '\n',
  '\r\n',
  '\r',
  '\f',
  '\v',
  '\u00a0',
  '\u200b',
  '\u2028',
  '\u3000',
  '\ufeff',
];
const OTHER_CHARS = [...'ABCxyz0189-_+/=.~%!*'];

export type JwtBreak =
  /** `=` padding at the end of one segment. */
  | { how: 'pad'; segment: number; count: number }
  /** Whitespace inside or at the end of one segment. */
  | { how: 'whitespace'; segment: number; pos: number; ws: string }
  /** Whitespace or `=` before or after the whole token. */
  | { how: 'around'; after: boolean; text: string }
  /** One character replaced by another (never the signature's last, see `tail-bits`). */
  | { how: 'flip'; segment: number; pos: number; ch: string }
  /** base64 `+` `/` for base64url `-` `_` in the signature (same bytes, other alphabet). */
  | { how: 'alphabet'; nth: number }
  /** The signature's last character with other pad bits (same bytes, RFC 4648 §3.5). */
  | { how: 'tail-bits'; xor: number }
  | { how: 'case'; segment: number; pos: number }
  | { how: 'truncate'; drop: number }
  | {
      how: 'shape';
      shape: 'no-signature' | 'extra-segment' | 'empty-segment' | 'trailing-dot' | 'leading-dot';
    }
  /** Another token altogether: one that must never be taken, or random text. */
  | { how: 'swap'; token: BadSubject | 'garbage'; garbage: string };

export const jwtBreakArb: fc.Arbitrary<JwtBreak> = fc.oneof(
  fc.record({
    how: fc.constant('pad' as const),
    segment: fc.nat(2),
    count: fc.integer({ min: 1, max: 3 }),
  }),
  fc.record({
    how: fc.constant('whitespace' as const),
    segment: fc.nat(2),
    pos: fc.nat(400),
    ws: fc.constantFrom(...WHITESPACE),
  }),
  fc.record({
    how: fc.constant('around' as const),
    after: fc.boolean(),
    text: fc.constantFrom(...WHITESPACE, '=', '=='),
  }),
  fc.record({
    how: fc.constant('flip' as const),
    segment: fc.nat(2),
    pos: fc.nat(400),
    ch: fc.constantFrom(...OTHER_CHARS),
  }),
  fc.record({ how: fc.constant('alphabet' as const), nth: fc.nat(40) }),
  fc.record({ how: fc.constant('tail-bits' as const), xor: fc.integer({ min: 1, max: 15 }) }),
  fc.record({ how: fc.constant('case' as const), segment: fc.nat(2), pos: fc.nat(400) }),
  fc.record({ how: fc.constant('truncate' as const), drop: fc.integer({ min: 1, max: 40 }) }),
  fc.record({
    how: fc.constant('shape' as const),
    shape: fc.constantFrom(
      'no-signature',
      'extra-segment',
      'empty-segment',
      'trailing-dot',
      'leading-dot',
    ),
  }),
  fc.record({
    how: fc.constant('swap' as const),
    token: fc.constantFrom<BadSubject | 'garbage'>(
      'expired',
      'wrong-key',
      'untrusted-issuer',
      'wrong-audience',
      'unsigned',
      'baton-claims-wrong-key',
      'revoked',
      'baton-expired',
      'garbage',
    ),
    garbage: fc.string({ maxLength: 300 }),
  }),
);

const B64URL = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_';

function withSegment(token: string, segment: number, change: (s: string) => string): string {
  const parts = token.split('.');
  parts[segment % 3] = change(parts[segment % 3]!);
  return parts.join('.');
}

/** Applies a break to a valid compact JWS; the result is never that JWS. */
export function breakJwt(token: string, brk: JwtBreak, fx: Fixtures): string {
  const out = breakOnce(token, brk, fx);
  // A random swap or flip can in theory land on the token itself; then break it for sure.
  if (out === token) return `${token}=`;
  // An empty value is an omitted parameter (RFC 6749 §3.1), not a broken token.
  return out === '' ? '=' : out;
}

function breakOnce(token: string, brk: JwtBreak, fx: Fixtures): string {
  switch (brk.how) {
    case 'pad':
      return withSegment(token, brk.segment, (s) => s + '='.repeat(brk.count));
    case 'whitespace':
      return withSegment(token, brk.segment, (s) => {
        const at = brk.pos % (s.length + 1);
        return s.slice(0, at) + brk.ws + s.slice(at);
      });
    case 'around':
      return brk.after ? token + brk.text : brk.text + token;
    case 'flip':
      return withSegment(token, brk.segment, (s) => {
        // The signature's last character carries pad bits: see tail-bits.
        const last = brk.segment % 3 === 2 ? s.length - 1 : s.length;
        const at = brk.pos % Math.max(1, last);
        const ch = brk.ch === s[at] ? (s[at] === 'A' ? 'B' : 'A') : brk.ch;
        return s.slice(0, at) + ch + s.slice(at + 1);
      });
    case 'alphabet': {
      const sig = token.split('.')[2]!;
      const spots = [...sig].flatMap((c, i) => (c === '-' || c === '_' ? [i] : []));
      if (spots.length === 0) return breakOnce(token, { how: 'tail-bits', xor: 1 }, fx);
      const at = spots[brk.nth % spots.length]!;
      return withSegment(
        token,
        2,
        (s) => s.slice(0, at) + (s[at] === '-' ? '+' : '/') + s.slice(at + 1),
      );
    }
    case 'tail-bits':
      return withSegment(token, 2, (s) => {
        // An ES256 signature is 64 bytes: 86 characters, the last with 4 unused bits.
        const value = B64URL.indexOf(s[s.length - 1]!);
        return s.slice(0, -1) + B64URL[value ^ brk.xor]!;
      });
    case 'case':
      return withSegment(token, brk.segment, (s) => {
        const last = brk.segment % 3 === 2 ? s.length - 1 : s.length;
        for (let k = 0; k < last; k++) {
          const at = (brk.pos + k) % last;
          const c = s[at]!;
          const swapped = c === c.toUpperCase() ? c.toLowerCase() : c.toUpperCase();
          if (swapped !== c) return s.slice(0, at) + swapped + s.slice(at + 1);
        }
        return `${s}A`;
      });
    case 'truncate':
      return token.slice(0, token.length - brk.drop);
    case 'shape': {
      const [h, p, s] = token.split('.') as [string, string, string];
      if (brk.shape === 'no-signature') return `${h}.${p}`;
      if (brk.shape === 'extra-segment') return `${h}.${p}.${s}.${s}`;
      if (brk.shape === 'empty-segment') return `${h}..${p}.${s}`;
      if (brk.shape === 'trailing-dot') return `${token}.`;
      return `.${token}`;
    }
    case 'swap':
      return brk.token === 'garbage' ? brk.garbage : fx.bad[brk.token];
  }
}
