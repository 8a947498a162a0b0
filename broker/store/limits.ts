/**
 * Hard caps on what one ledger row may hold: the last guard behind the request limits
 * and the sanitising done at the edges (`oauth/limits.ts`, `text/show.ts`). Issue 9 point
 * 8: refused exchanges with a 62 KB scope grew the database by 109 MB in 10 s, all filed
 * against another agent's token. Whatever slips past the edges, no row grows past these.
 *
 * Two rules, by what the row is:
 * - a refusal records what was asked, for people to read: over its cap, text is cut with a
 *   marker and a JSON record is replaced by a small marker object saying how big it was;
 * - a token or approval row records what Baton issued or will issue: cutting it would make
 *   the ledger disagree with the token, so an over-cap field refuses the row instead
 *   (`LedgerFieldTooLargeError`). The request limits keep every honest row far below these.
 *
 * Pure functions, no I/O. Sizes are in UTF-16 code units (JavaScript string length), which
 * bounds the bytes SQLite stores to at most three times as many.
 * @module
 */
import { LedgerFieldTooLargeError, type RefusalRecord, type TokenRecord } from './store.js';

/** Caps for the columns of each table, in characters. */
export const FIELD_CAPS = {
  /** jti, client_id, grant_type, subject_jti, error, reason, auth_req_id. */
  id: 256,
  /** A token's `sub` (OpenID Connect caps it at 255 ASCII characters) or a username. */
  sub: 1024,
  scope: 4096,
  /** JSON array of the audience values (16 values of at most 512 characters each, quoted). */
  aud: 9000,
  /** JSON of the `act` claim: bounded by the 16 KB a subject token may have. */
  act: 16_384,
  bindingMessage: 1024,
  errorDescription: 1024,
  /** JSON of what a refused request asked for. */
  requested: 2048,
} as const;

/** Cuts text over `max` characters, saying how much was cut. */
export function capText(text: string, max: number): string {
  if (text.length <= max) return text;
  const marker = (cut: number) => `...[${cut} more characters cut]`;
  // Room for the marker with one digit to spare, then the marker for what was really cut.
  const kept = Math.max(0, max - marker(text.length).length - 1);
  return text.slice(0, kept) + marker(text.length - kept);
}

/** JSON of `value`, or, over `max` characters, a marker object that says it was dropped. */
export function capJson(value: unknown, max: number): string {
  const json = JSON.stringify(value);
  return json.length <= max
    ? json
    : JSON.stringify({ truncated: true, original_length: json.length });
}

/** Returns `text` when within `max`, else refuses the row. */
export function within(field: string, text: string, max: number): string {
  if (text.length > max) throw new LedgerFieldTooLargeError(field);
  return text;
}

/** A refusal row within its caps: text cut with a marker, the request record replaced by one. */
export function cappedRefusal(r: RefusalRecord) {
  return {
    at: r.at,
    clientId: capText(r.clientId, FIELD_CAPS.id),
    grantType: capText(r.grantType, FIELD_CAPS.id),
    subjectJti: r.subjectJti === null ? null : capText(r.subjectJti, FIELD_CAPS.id),
    error: capText(r.error, FIELD_CAPS.id),
    reason: r.reason === null ? null : capText(r.reason, FIELD_CAPS.id),
    errorDescription: capText(r.errorDescription, FIELD_CAPS.errorDescription),
    requested: capJson(r.requested, FIELD_CAPS.requested),
  };
}

/** A token row within its caps, or `LedgerFieldTooLargeError`: an issued token is never cut. */
export function cappedToken(t: TokenRecord) {
  return {
    jti: within('jti', t.jti, FIELD_CAPS.id),
    parentJti: t.parentJti === null ? null : within('parent_jti', t.parentJti, FIELD_CAPS.id),
    sub: within('sub', t.sub, FIELD_CAPS.sub),
    act: t.act === null ? null : within('act', JSON.stringify(t.act), FIELD_CAPS.act),
    clientId: within('client_id', t.clientId, FIELD_CAPS.id),
    grantType: within('grant_type', t.grantType, FIELD_CAPS.id),
    scope: within('scope', t.scope, FIELD_CAPS.scope),
    aud: within('aud', JSON.stringify(t.aud), FIELD_CAPS.aud),
    iat: t.iat,
    exp: t.exp,
  };
}
