/**
 * How much of a request Baton reads, in one place. A client may repeat `audience` and
 * `resource` (RFC 8693 §2.1, RFC 8707) and list scopes in `scope` (RFC 6749 §3.3), but
 * no honest client needs more than these; anything larger is `invalid_request` with a
 * fixed description, so one request cannot make an answer, a refusal row or an audit
 * report large. The refusal ledger keeps at most these much of what was asked.
 * @module
 */

/** At most this many values of `audience`, and as many of `resource`. */
export const MAX_REPEATED_VALUES = 16;
/** Each `audience` or `resource` value: at most this many characters. */
export const MAX_REPEATED_VALUE_CHARS = 512;
/** `scope`: at most this many space-separated scope tokens. */
export const MAX_SCOPE_TOKENS = 64;
/** `scope`: at most this many characters in all. */
export const MAX_SCOPE_CHARS = 2048;
/**
 * A refusal row keeps each value of what was asked cut to this many characters, and at
 * most `MAX_RECORDED_VALUES` values of a repeated parameter (with their count): at most 13
 * values in all, so the record stays well inside the store's own cap on it (2 KB,
 * `store/limits.ts`) and is never replaced by its "truncated" marker.
 */
export const MAX_RECORDED_VALUE_CHARS = 120;
export const MAX_RECORDED_VALUES = 4;
