/**
 * Console sessions and CSRF (SPEC §3a). The cookie holds 32 random bytes; the database
 * keeps only their SHA-256 (`console_sessions`), so a sign-out or a restart is honoured,
 * several brokers share sessions, and a copy of the database signs nobody in. A sign-in
 * always makes a new session (rotation: an id planted before sign-in is worthless after).
 *
 * CSRF: every form carries `HMAC-SHA256(secret, purpose)`, where the secret is the
 * session's (`csrf_secret`) or, before sign-in, a random pre-session cookie, so a sign-in
 * form cannot be posted from another site either. Checked on every POST in constant time.
 * The cookie is `HttpOnly; SameSite=Lax; Path=/console`, plus `Secure` on an https issuer.
 * @module
 */
import { createHash, createHmac, randomBytes } from 'node:crypto';
import type { Context } from 'hono';
import { deleteCookie, getCookie, setCookie } from 'hono/cookie';
import type { BrokerDeps } from '../deps.js';
import { secretsEqual } from '../oauth/admin-bearer.js';
import type { ConsoleSession } from '../store/store.js';

export const SESSION_COOKIE = 'baton_console';
/** Before sign-in: keys the CSRF token of the sign-in forms. */
export const PRE_SESSION_COOKIE = 'baton_console_pre';
/** A session lasts a working day; signing in again makes a new one. */
export const SESSION_SECONDS = 8 * 60 * 60;
export const CSRF_FIELD = 'csrf';
const ID_PATTERN = /^[A-Za-z0-9_-]{43}$/;

function cookieOptions(issuer: string) {
  return {
    httpOnly: true,
    sameSite: 'Lax' as const,
    path: '/console',
    secure: issuer.startsWith('https:'),
  };
}

export function hashSessionId(id: string): string {
  return createHash('sha256').update(id).digest('base64url');
}

/** The CSRF token of the forms keyed by `secret`. */
export function csrfToken(secret: string): string {
  return createHmac('sha256', secret).update('baton-console-csrf').digest('base64url');
}

/** Whether `presented` is the CSRF token for `secret`; constant-time whatever its length. */
export function csrfMatches(secret: string, presented: unknown): boolean {
  if (typeof presented !== 'string') return false;
  return secretsEqual(presented, csrfToken(secret));
}

/** The signed-in session of this request, if any (expired ones are not found). */
export async function currentSession(
  c: Context,
  deps: BrokerDeps,
): Promise<ConsoleSession | undefined> {
  const id = getCookie(c, SESSION_COOKIE);
  if (id === undefined || !ID_PATTERN.test(id)) return undefined;
  return deps.store.getConsoleSession(hashSessionId(id), deps.now());
}

/** Starts a new session (ending the one the browser had), and sets its cookie. */
export async function startSession(
  c: Context,
  deps: BrokerDeps,
  who: { username: string; role: ConsoleSession['role'] },
): Promise<void> {
  await endSession(c, deps);
  const id = randomBytes(32).toString('base64url');
  const now = deps.now();
  await deps.store.createConsoleSession({
    idHash: hashSessionId(id),
    username: who.username,
    role: who.role,
    csrfSecret: randomBytes(32).toString('base64url'),
    createdAt: now,
    expiresAt: now + SESSION_SECONDS,
  });
  setCookie(c, SESSION_COOKIE, id, { ...cookieOptions(deps.issuer), maxAge: SESSION_SECONDS });
  deleteCookie(c, PRE_SESSION_COOKIE, cookieOptions(deps.issuer));
}

/** Deletes the browser's session from the database and clears its cookie. */
export async function endSession(c: Context, deps: BrokerDeps): Promise<void> {
  const id = getCookie(c, SESSION_COOKIE);
  if (id !== undefined && ID_PATTERN.test(id))
    await deps.store.deleteConsoleSession(hashSessionId(id));
  if (id !== undefined) deleteCookie(c, SESSION_COOKIE, cookieOptions(deps.issuer));
}

/** The pre-session secret of this browser, set now when it has none. */
export function preSessionSecret(c: Context, deps: BrokerDeps): string {
  const existing = getCookie(c, PRE_SESSION_COOKIE);
  if (existing !== undefined && ID_PATTERN.test(existing)) return existing;
  const secret = randomBytes(32).toString('base64url');
  setCookie(c, PRE_SESSION_COOKIE, secret, { ...cookieOptions(deps.issuer), maxAge: 60 * 60 });
  return secret;
}

/** Whether a sign-in form's CSRF token matches this browser's pre-session cookie. */
export function preSessionCsrfOk(c: Context, presented: unknown): boolean {
  const secret = getCookie(c, PRE_SESSION_COOKIE);
  return secret !== undefined && ID_PATTERN.test(secret) && csrfMatches(secret, presented);
}
