/** @jsxImportSource hono/jsx */
/**
 * Sign-in (SPEC §3a) at `/console`: `Username`, `Password`, `Sign in`, for the `users` of
 * the policy file (their scrypt hash, `config/password.ts`). A failed sign-in says only
 * that it failed. An unknown name is checked against a dummy hash of the same cost, so it
 * takes as long as a wrong password; names match case-insensitively when the policy's
 * names are unique that way. Failures per name and per address slow down
 * (`sign-in-limit.ts`). Operators sign in at `/console/audit` with `BATON_ADMIN_TOKEN`.
 * @module
 */
import { randomBytes } from 'node:crypto';
import type { Context } from 'hono';
import { hashPassword, verifyPassword } from '../config/password.js';
import { secretsEqual } from '../oauth/admin-bearer.js';
import type { BrokerDeps } from '../deps.js';
import { peerAddress } from '../ops/peer.js';
import { MAX_USERNAME_CHARS } from '../text/username.js';
import { errorPage } from './error-page.js';
import { safeNext } from './next.js';
import { field, readForm } from './form.js';
import { Csrf, Layout, Notice, render } from './layout.js';
import { CSRF_FIELD, preSessionCsrfOk, preSessionSecret, startSession } from './session.js';
import { SignInLimiter } from './sign-in-limit.js';

/** Longer passwords or tokens are refused before hashing (scrypt's cost grows with them). */
const MAX_SECRET_CHARS = 1024;
const FAILED = 'Sign-in failed.';
/** The limiter's key for operator sign-ins: a space, so no username can share it. */
const OPERATOR_KEY = ' operator';

const uniqueness = new WeakMap<ReadonlyMap<string, string>, boolean>();

/** Whether no two policy usernames differ only in letter case (then names match in any case). */
export function namesUniqueAnyCase(users: ReadonlyMap<string, string>): boolean {
  let unique = uniqueness.get(users);
  if (unique === undefined) {
    unique = new Set([...users.keys()].map((n) => n.toLowerCase())).size === users.size;
    uniqueness.set(users, unique);
  }
  return unique;
}

/** The policy user a typed name means, in the policy's spelling. */
export function userResolver(
  users: ReadonlyMap<string, string>,
): (typed: string) => string | undefined {
  const lower = new Map<string, string>();
  let unique = true;
  for (const name of users.keys()) {
    if (lower.has(name.toLowerCase())) unique = false;
    lower.set(name.toLowerCase(), name);
  }
  return (typed) =>
    users.has(typed) ? typed : unique ? lower.get(typed.toLowerCase()) : undefined;
}

export function SignInPage(props: {
  csrfSecret: string;
  problem?: string | undefined;
  /** Where to go after signing in (`next.ts`), e.g. back to a consent page. */
  next?: string | undefined;
}) {
  return (
    <Layout title="Sign in">
      {props.problem ? <Notice kind="problem">{props.problem}</Notice> : null}
      <form method="post" action="/console" class="stack">
        <Csrf secret={props.csrfSecret} />
        {props.next === undefined ? null : <input type="hidden" name="next" value={props.next} />}
        <label for="username">Username</label>
        <input
          id="username"
          name="username"
          type="text"
          autocomplete="username"
          autocapitalize="none"
          required
        />
        <label for="password">Password</label>
        <input
          id="password"
          name="password"
          type="password"
          autocomplete="current-password"
          required
        />
        <button type="submit" class="primary">
          Sign in
        </button>
      </form>
      <p class="muted">
        Operators: <a href="/console/audit">sign in to the audit</a>.
      </p>
    </Layout>
  );
}

export function OperatorSignInPage(props: { csrfSecret: string; problem?: string | undefined }) {
  return (
    <Layout title="Operator sign-in">
      {props.problem ? <Notice kind="problem">{props.problem}</Notice> : null}
      <form method="post" action="/console/audit" class="stack">
        <Csrf secret={props.csrfSecret} />
        <label for="admin_token">Admin token</label>
        <input id="admin_token" name="admin_token" type="password" autocomplete="off" required />
        <button type="submit" class="primary">
          Sign in as operator
        </button>
      </form>
      <p class="muted">
        The admin token is the broker's <code>BATON_ADMIN_TOKEN</code>. People sign in at{' '}
        <a href="/console">the console</a>.
      </p>
    </Layout>
  );
}

export function mountSignIn(deps: BrokerDeps) {
  const limiter = new SignInLimiter();
  const resolve = userResolver(deps.policy.users);
  // Same cost as `npx baton hash-password`, so an unknown name costs what a wrong password does.
  const dummyHash = hashPassword(randomBytes(16).toString('base64url'));
  dummyHash.catch(() => undefined);

  const signInPage = (c: Context, problem?: string, status = 200, next?: string) =>
    render(
      c,
      <SignInPage
        csrfSecret={preSessionSecret(c, deps)}
        problem={problem}
        next={safeNext(next ?? c.req.query('next'))}
      />,
      status,
    );
  const operatorPage = (c: Context, problem?: string, status = 200) =>
    render(
      c,
      <OperatorSignInPage csrfSecret={preSessionSecret(c, deps)} problem={problem} />,
      status,
    );

  /** Too many failures: 429 with `Retry-After`, before any password is checked. */
  const slowDown = async (c: Context, wait: number, page: typeof signInPage) => {
    const res = await page(c, `Too many failed sign-ins. Try again in ${wait} s.`, 429);
    res.headers.set('Retry-After', String(wait));
    return res;
  };

  /** A sign-in form whose pre-session CSRF token checks out, or the page that says not. */
  const signInForm = async (c: Context) => {
    const form = await readForm(c);
    if (form !== undefined && preSessionCsrfOk(c, field(form, CSRF_FIELD))) return form;
    return errorPage(
      c,
      403,
      'Form expired',
      'This sign-in form has expired. Reload the page and sign in again.',
    );
  };

  return {
    signInPage,
    operatorPage,

    async signIn(c: Context): Promise<Response> {
      const form = await signInForm(c);
      if (form instanceof Response) return form;
      const typed = field(form, 'username').slice(0, MAX_USERNAME_CHARS + 1);
      const password = field(form, 'password');
      const address = peerAddress(c);
      const wait = limiter.wait(typed, address, deps.now());
      if (wait > 0) return slowDown(c, wait, signInPage);
      const username = typed.length <= MAX_USERNAME_CHARS ? resolve(typed) : undefined;
      const hash = username === undefined ? await dummyHash : deps.policy.users.get(username)!;
      const ok =
        password.length <= MAX_SECRET_CHARS &&
        (await verifyPassword(password, hash)) &&
        username !== undefined;
      if (!ok) {
        limiter.failed(typed, address, deps.now());
        return signInPage(c, FAILED, 401, field(form, 'next'));
      }
      await startSession(c, deps, { username, role: 'user' });
      return c.redirect(safeNext(field(form, 'next')) ?? '/console/approvals', 303);
    },

    async operatorSignIn(c: Context): Promise<Response> {
      const form = await signInForm(c);
      if (form instanceof Response) return form;
      const address = peerAddress(c);
      const wait = limiter.wait(OPERATOR_KEY, address, deps.now());
      if (wait > 0) return slowDown(c, wait, operatorPage);
      if (!secretsEqual(field(form, 'admin_token').slice(0, MAX_SECRET_CHARS), deps.adminToken)) {
        limiter.failed(OPERATOR_KEY, address, deps.now());
        return operatorPage(c, FAILED, 401);
      }
      await startSession(c, deps, { username: 'operator', role: 'operator' });
      return c.redirect('/console/audit', 303);
    },
  };
}
