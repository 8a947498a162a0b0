/**
 * Reads a token's delegation chain for people and models (RFC 8693 §4.1): the outermost
 * `act` is the current actor, earlier actors nest inside it. The tools show the chain
 * current actor first, and as a sentence ("flight-booker acting for alice, delegated by
 * trip-planner").
 *
 * Names in a chain come from tokens (a subject from an identity provider among them), so
 * they are shown through `forTerminal`: no control, bidi or zero-width characters.
 * @module
 */
import { decodeJwt } from 'jose';
import { actorsOf } from '../broker/tokens/act.js';
import { readAct, readAud } from '../broker/tokens/act.js';
import { forTerminal } from '../broker/text/show.js';
import type { ActClaim } from '../broker/tokens/claims.js';

/** The actors of an `act` claim, current actor first; [] when malformed or absent. */
export function actorsOfClaim(act: unknown): string[] {
  const parsed = readAct(act);
  return parsed === null || parsed === undefined ? [] : actorsOf(parsed);
}

/** "trip-planner acting for alice", with earlier actors after "delegated by". */
export function describeChain(sub: string, actors: readonly string[]): string {
  const name = (s: string) => forTerminal(s, 128);
  if (actors.length === 0) return `${name(sub)} acting for itself`;
  const earlier =
    actors.length > 1 ? `, delegated by ${actors.slice(1).map(name).join(' ← ')}` : '';
  return `${name(actors[0]!)} acting for ${name(sub)}${earlier}`;
}

export { isoTime } from '../broker/audit-tree.js';

/** What the tools report about a token Baton just issued (read from its claims, not verified). */
export interface TokenFacts {
  sub: string;
  audience: string[];
  jti: string;
  exp: number;
  actors: string[];
  act: ActClaim | undefined;
}

/** Reads the claims of a token Baton just handed over; a token is never trusted from this alone. */
export function tokenFacts(token: string): TokenFacts {
  const claims = decodeJwt(token);
  const act = readAct(claims.act);
  return {
    sub: String(claims.sub ?? ''),
    audience: readAud(claims.aud),
    jti: String(claims.jti ?? ''),
    exp: typeof claims.exp === 'number' ? claims.exp : 0,
    actors: act ? actorsOf(act) : [],
    act: act ?? undefined,
  };
}
