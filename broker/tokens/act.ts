/**
 * Reads an `act` claim from an untrusted-shape payload (RFC 8693 §4.1): every level an
 * object with a string `sub`, nested no deeper than a hard cap so a hostile token cannot
 * make the broker recurse without end.
 * @module
 */
import type { ActClaim } from './claims.js';

const MAX_ACT_NESTING = 32;

/** The claim as an `ActClaim`, undefined when absent, or null when malformed. */
export function readAct(value: unknown): ActClaim | undefined | null {
  if (value === undefined) return undefined;
  let level: unknown = value;
  for (let depth = 0; level !== undefined; depth++) {
    if (depth >= MAX_ACT_NESTING) return null;
    if (typeof level !== 'object' || level === null || Array.isArray(level)) return null;
    const { sub, act } = level as { sub?: unknown; act?: unknown };
    if (typeof sub !== 'string' || sub === '') return null;
    level = act;
  }
  return value as ActClaim;
}

/** The scopes of a token: `scope` (space-separated) or, when absent, `scp` (array or string). */
export function readScopes(payload: { scope?: unknown; scp?: unknown }): string[] | null {
  const raw = payload.scope ?? payload.scp;
  if (raw === undefined) return [];
  if (typeof raw === 'string') return [...new Set(raw.split(' ').filter(Boolean))];
  if (Array.isArray(raw) && raw.every((s) => typeof s === 'string'))
    return [...new Set(raw as string[])];
  return null;
}

/** `aud` as an array. */
export function readAud(aud: unknown): string[] {
  if (typeof aud === 'string') return [aud];
  if (Array.isArray(aud)) return aud.filter((a): a is string => typeof a === 'string');
  return [];
}

/** The actors of a chain, outermost (current) first. */
export function actorsOf(act: ActClaim | undefined): string[] {
  const out: string[] = [];
  for (let a = act; a !== undefined; a = a.act) out.push(a.sub);
  return out;
}

/**
 * Whether a client takes part in a token: it is the token's client or one of its actors.
 * Decides who may revoke a token (RFC 7009) and audit it with its own credentials.
 */
export function isInvolved(
  clientId: string,
  token: { clientId: string | undefined; act: ActClaim | null | undefined },
): boolean {
  return token.clientId === clientId || actorsOf(token.act ?? undefined).includes(clientId);
}
