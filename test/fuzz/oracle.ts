/**
 * What every answer of the four client endpoints must look like, whatever was sent
 * (SPEC §3, RFC 6749 §5.1/§5.2, RFC 7662 §2.2, RFC 7009 §2.2, CIBA §7.3/§13):
 * - never a 5xx;
 * - never a raw control character in the body, and never more than `MAX_ANSWER_BYTES`;
 * - an error is JSON with `Cache-Control: no-store`, a registered `error` code, and an
 *   `error_description` (if any) of at most 300 RFC 6749 §5.2 characters;
 * - a 401 to a client that tried HTTP Basic carries `WWW-Authenticate` (RFC 6749 §5.2),
 *   a 429 carries `Retry-After` (SPEC §10), another method than POST is 405;
 * - a 200 is what the endpoint gives: a token response, introspection JSON with `active`,
 *   an empty revocation answer, a CIBA acknowledgement.
 * Each check throws an Error naming the property that broke, so fast-check reports it.
 */
import type { Endpoint, FuzzRequest } from './requests.js';

/** Error codes of RFC 6749 §5.2, RFC 8693 §2.2.2, RFC 8707 §2, RFC 7009 §2.2.1, CIBA §11/§13. */
export const KNOWN_ERRORS: ReadonlySet<string> = new Set([
  'invalid_request',
  'invalid_client',
  'invalid_grant',
  'unauthorized_client',
  'unsupported_grant_type',
  'invalid_scope',
  'invalid_target',
  'unsupported_token_type',
  'access_denied',
  'server_error',
  'temporarily_unavailable',
  'authorization_pending',
  'slow_down',
  'expired_token',
  'invalid_binding_message',
  'unknown_user_id',
  'expired_login_hint_token',
  'missing_user_code',
  'invalid_user_code',
]);

/** RFC 6749 §5.2: error_description is %x20-21 / %x23-5B / %x5D-7E. */
export const WIRE_DESCRIPTION = /^[\x20\x21\x23-\x5B\x5D-\x7E]*$/;
export const MAX_DESCRIPTION = 300;
/** An answer to any request, however large, fits in this. */
export const MAX_ANSWER_BYTES = 4096;
/** C0, DEL, C1 and the JavaScript line terminators (JSON.stringify leaves DEL, C1 and these raw). */
function hasRawControl(text: string): boolean {
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c < 0x20 || (c >= 0x7f && c <= 0x9f) || c === 0x2028 || c === 0x2029) return true;
  }
  return false;
}

export const TOKEN_RESPONSE_KEYS = new Set([
  'access_token',
  'issued_token_type',
  'token_type',
  'expires_in',
  'scope',
]);
const INTROSPECTION_KEYS = new Set([
  'active',
  'iss',
  'sub',
  'aud',
  'exp',
  'iat',
  'nbf',
  'jti',
  'client_id',
  'scope',
  'token_type',
  'act',
  'username',
]);

export interface Answer {
  status: number;
  headers: Headers;
  text: string;
  bytes: number;
  /** Parsed body, or undefined when empty or not JSON. */
  json: unknown;
}

export class PropertyBroken extends Error {
  constructor(property: string, answer: Answer) {
    super(
      `${property}\n  answered ${answer.status} ${answer.headers.get('content-type') ?? '(no content-type)'}: ${answer.text.slice(0, 600)}`,
    );
    this.name = 'PropertyBroken';
  }
}

export async function read(res: Response): Promise<Answer> {
  const raw = new Uint8Array(await res.arrayBuffer());
  const text = new TextDecoder().decode(raw);
  let json: unknown;
  try {
    json = text === '' ? undefined : JSON.parse(text);
  } catch {
    json = undefined;
  }
  return { status: res.status, headers: res.headers, text, bytes: raw.byteLength, json };
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

const positiveInt = (v: unknown) => typeof v === 'number' && Number.isInteger(v) && v > 0;

function check(ok: boolean, property: string, answer: Answer): void {
  if (!ok) throw new PropertyBroken(property, answer);
}

/** RFC 6749 §5.2 error JSON. */
function checkError(a: Answer, req: FuzzRequest): void {
  check(a.status >= 400 && a.status < 500, `a failure is a 4xx (got ${a.status})`, a);
  if (a.status === 429) {
    check(
      /^[1-9][0-9]*$/.test(a.headers.get('retry-after') ?? ''),
      'a 429 says when to retry (Retry-After, SPEC §10)',
      a,
    );
  }
  check(
    /^application\/json\b/.test(a.headers.get('content-type') ?? ''),
    'an error is application/json',
    a,
  );
  check(
    (a.headers.get('cache-control') ?? '').split(',').some((d) => d.trim() === 'no-store'),
    'an error carries Cache-Control: no-store',
    a,
  );
  check(isObject(a.json), 'an error body is a JSON object', a);
  const body = a.json as Record<string, unknown>;
  check(
    Object.keys(body).every((k) => k === 'error' || k === 'error_description' || k === 'error_uri'),
    'an error body has only error, error_description, error_uri',
    a,
  );
  check(
    typeof body.error === 'string' && KNOWN_ERRORS.has(body.error),
    'error is a registered code',
    a,
  );
  const d = body.error_description;
  if (d !== undefined) {
    check(
      typeof d === 'string' && WIRE_DESCRIPTION.test(d),
      'error_description has only RFC 6749 §5.2 characters',
      a,
    );
    check(
      (d as string).length <= MAX_DESCRIPTION,
      `error_description is at most ${MAX_DESCRIPTION} characters`,
      a,
    );
  }
  // What arrives is the header trimmed (Fetch: header values are normalized).
  if (
    a.status === 401 &&
    req.authorization !== null &&
    /^basic( |$)/i.test(req.authorization.trim())
  ) {
    check(
      a.headers.get('www-authenticate') !== null,
      'a 401 to a Basic attempt carries WWW-Authenticate (RFC 6749 §5.2)',
      a,
    );
  }
}

function checkSuccess(endpoint: Endpoint, a: Answer): void {
  if (endpoint === '/revoke') {
    check(a.bytes === 0, 'a revocation answers 200 with an empty body (RFC 7009 §2.2)', a);
    return;
  }
  check(
    /^application\/json\b/.test(a.headers.get('content-type') ?? ''),
    'a 200 is application/json',
    a,
  );
  check(
    (a.headers.get('cache-control') ?? '').includes('no-store'),
    'a 200 carries Cache-Control: no-store',
    a,
  );
  check(isObject(a.json), 'a 200 body is a JSON object', a);
  const body = a.json as Record<string, unknown>;
  if (endpoint === '/token') {
    check(
      Object.keys(body).every((k) => TOKEN_RESPONSE_KEYS.has(k)),
      'a token response has only RFC 6749 §5.1 / RFC 8693 §2.2.1 members',
      a,
    );
    check(
      typeof body.access_token === 'string' &&
        /^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+$/.test(body.access_token),
      'access_token is a compact JWS',
      a,
    );
    check(
      body.token_type === 'Bearer' &&
        positiveInt(body.expires_in) &&
        typeof body.scope === 'string',
      'a token response has token_type, expires_in, scope',
      a,
    );
  } else if (endpoint === '/introspect') {
    check(
      typeof body.active === 'boolean',
      'introspection has a boolean active (RFC 7662 §2.2)',
      a,
    );
    if (body.active === false)
      check(
        Object.keys(body).length === 1,
        'an inactive token is {"active": false} and nothing more',
        a,
      );
    else
      check(
        Object.keys(body).every((k) => INTROSPECTION_KEYS.has(k)) && typeof body.sub === 'string',
        'an active token shows its claims',
        a,
      );
  } else {
    check(
      Object.keys(body).sort().join() === 'auth_req_id,expires_in,interval' &&
        typeof body.auth_req_id === 'string' &&
        positiveInt(body.expires_in) &&
        positiveInt(body.interval),
      'a backchannel answer is the CIBA §7.3 acknowledgement',
      a,
    );
  }
}

/** Every property that holds for any request to `req.path`. */
export function checkAnswer(req: FuzzRequest, a: Answer): void {
  check(a.status < 500, `never a 5xx (got ${a.status})`, a);
  check(!hasRawControl(a.text), 'the body has no raw control character', a);
  check(
    a.bytes < MAX_ANSWER_BYTES,
    `the body is under ${MAX_ANSWER_BYTES} bytes (got ${a.bytes})`,
    a,
  );
  // Another method than POST is 405 (unless its body is over the cap, which is checked first).
  if ((req.method ?? 'POST') !== 'POST' && a.status !== 413) {
    check(
      a.status === 405 && a.headers.get('allow') === 'POST',
      'another method than POST is 405 with Allow: POST',
      a,
    );
  }
  if (a.status === 200) checkSuccess(req.path, a);
  else checkError(a, req);
}

/** For a request that must be refused: no 200 (and so no token, no acknowledgement). */
export function checkRefused(a: Answer): void {
  check(a.status !== 200, 'a request that must fail is refused', a);
  check(
    !(isObject(a.json) && 'access_token' in a.json),
    'a request that must fail gets no access_token',
    a,
  );
}

/** Sends and checks a request in one step. */
export async function answerTo(send: () => Promise<Response>, req: FuzzRequest): Promise<Answer> {
  const a = await read(await send());
  checkAnswer(req, a);
  return a;
}

/**
 * Whether two answers say the same thing: the status, and for an error its code and
 * description (a success differs in what it issues: a new jti, a new auth_req_id).
 */
export function sameAnswer(one: Answer, two: Answer): boolean {
  if (one.status !== two.status) return false;
  if (one.status === 200) return true;
  const a = one.json as Record<string, unknown> | undefined;
  const b = two.json as Record<string, unknown> | undefined;
  return a?.error === b?.error && a?.error_description === b?.error_description;
}
