/**
 * Helpers for the console tests: policy users with real scrypt hashes, a cookie jar for
 * `app.request` (the console is a browser's, so cookies carry the session), and the CSRF
 * token read from a page's form the way a browser submits it.
 */
import { hashPassword } from '../../broker/config/password.js';
import type { PolicyFile } from '../../broker/config/policy.js';
import { toBody, withApprovals } from '../helpers.js';

export const PASSWORDS = { alice: 'correct horse battery staple', bob: 'bob-password-for-tests' };

let hashes: Promise<{ alice: string; bob: string }> | undefined;

/** Real hashes, made once per test file (scrypt at the default cost). */
export function userHashes() {
  hashes ??= Promise.all([hashPassword(PASSWORDS.alice), hashPassword(PASSWORDS.bob)]).then(
    ([alice, bob]) => ({
      alice: alice!,
      bob: bob!,
    }),
  );
  return hashes;
}

/** The approvals test policy with alice and bob signing in with `PASSWORDS`. */
export function consolePolicy(h: { alice: string; bob: string }) {
  return (p: PolicyFile): PolicyFile => {
    const q = withApprovals(p);
    return {
      ...q,
      users: [
        { username: 'alice', password_hash: h.alice },
        { username: 'bob', password_hash: h.bob },
      ],
    };
  };
}

type Fetcher = (path: string, init?: RequestInit) => Response | Promise<Response>;

/** A browser-like client: keeps cookies by name (Path=/console is all the console sets). */
export class Browser {
  readonly cookies = new Map<string, string>();
  constructor(readonly fetcher: Fetcher) {}

  #remember(res: Response): Response {
    for (const line of res.headers.getSetCookie()) {
      const [pair] = line.split(';');
      const eq = pair!.indexOf('=');
      const name = pair!.slice(0, eq);
      const value = pair!.slice(eq + 1);
      if (value === '' || /max-age=0/i.test(line)) this.cookies.delete(name);
      else this.cookies.set(name, value);
    }
    return res;
  }

  get cookieHeader(): string {
    return [...this.cookies].map(([k, v]) => `${k}=${v}`).join('; ');
  }

  async get(path: string): Promise<Response> {
    return this.#remember(await this.fetcher(path, { headers: { cookie: this.cookieHeader } }));
  }

  async post(path: string, form: Record<string, string | string[]>): Promise<Response> {
    return this.#remember(
      await this.fetcher(path, {
        method: 'POST',
        headers: { cookie: this.cookieHeader, 'content-type': 'application/x-www-form-urlencoded' },
        body: toBody(form),
      }),
    );
  }
}

/** The CSRF token of the first form on a page. */
export function csrfOf(html: string): string {
  const m = /name="csrf" value="([^"]+)"/.exec(html);
  if (!m) throw new Error('the page has no CSRF field');
  return m[1]!;
}

/** Signs `username` in through the sign-in form; the browser then holds the session cookie. */
export async function signIn(
  browser: Browser,
  username: string,
  password: string,
): Promise<Response> {
  const page = await browser.get('/console');
  return browser.post('/console', { csrf: csrfOf(await page.text()), username, password });
}
