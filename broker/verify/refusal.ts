/**
 * Refusals and how they go on the wire (RFC 6750 §3): a `WWW-Authenticate: Bearer`
 * challenge with `realm`, and `error`, `error_description` and `scope` where they apply,
 * plus the same `error`/`error_description` as a JSON body. A request with no bearer
 * token gets a challenge with no error code (§3.1: the client may not have known that
 * the resource needs one).
 * @module
 */

/** The codes the verifier answers with: RFC 6750 §3.1, plus RFC 6749's `temporarily_unavailable`. */
export type RefusalCode =
  'invalid_request' | 'invalid_token' | 'insufficient_scope' | 'temporarily_unavailable';

/** Why a request was refused. `description` is safe to send; it never holds the token. */
export class Refusal extends Error {
  constructor(
    readonly code: RefusalCode,
    readonly status: 401 | 403 | 503,
    readonly description: string,
    /** For `insufficient_scope`: the scope the resource needs (RFC 6750 §3). */
    readonly scope?: string,
    /** RFC 6750 §3.1: no error code in the challenge when the request had no token. */
    readonly bare = false,
  ) {
    super(description);
    this.name = 'Refusal';
  }
}

/** No bearer token at all: 401 with a bare challenge. */
export const missingToken = (): Refusal =>
  new Refusal(
    'invalid_request',
    401,
    'a Bearer access token is required (RFC 6750 Authorization header)',
    undefined,
    true,
  );

export const invalidToken = (description: string): Refusal =>
  new Refusal('invalid_token', 401, description);

export const insufficientScope = (needed: readonly string[], missing: readonly string[]): Refusal =>
  new Refusal(
    'insufficient_scope',
    403,
    `the token lacks the scope ${missing.join(' ')}`,
    needed.join(' '),
  );

export const unavailable = (description: string): Refusal =>
  new Refusal('temporarily_unavailable', 503, description);

/**
 * RFC 6750 §3: attribute values are quoted strings of %x20-21 / %x23-5B / %x5D-7E. A
 * description can name an actor taken from the token, so anything else is replaced.
 */
function quoted(value: string): string {
  return `"${value.replace(/[^\x20\x21\x23-\x5B\x5D-\x7E]/g, '?')}"`;
}

/** The `WWW-Authenticate` value for a refusal, or undefined when none belongs (503). */
export function challenge(realm: string, refusal: Refusal): string | undefined {
  if (refusal.status === 503) return undefined;
  const params: Array<[string, string]> = [['realm', realm]];
  if (!refusal.bare) {
    params.push(['error', refusal.code], ['error_description', refusal.description]);
    if (refusal.scope !== undefined) params.push(['scope', refusal.scope]);
  }
  return `Bearer ${params.map(([k, v]) => `${k}=${quoted(v)}`).join(', ')}`;
}
