/**
 * The console's protocol (SPEC §3a) through `app.request`: the sign-in form and its
 * cookies, sessions kept hashed in the database and rotated at sign-in, CSRF on every
 * POST, sign-out that ends the session, slow-down after failed sign-ins, security
 * headers and readable HTML errors on every console answer, and the pages' decisions:
 * approve with fewer scopes (the agent's poll then gets exactly those), deny, revoke a
 * node and everything under it, and the operator's audit. Browser behaviour is in
 * `browser.test.ts`.
 */
import { createHash } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createApp } from '../../broker/app.js';
import { buildDeps } from '../../broker/build.js';
import { parsePolicy } from '../../broker/config/policy.js';
import { CONSOLE_CSP } from '../../broker/console/headers.js';
import { SESSION_SECONDS } from '../../broker/console/session.js';
import { openStore } from '../../broker/store/open-store.js';
import { startConsoleBroker } from './live.js';
import {
  ADMIN_TOKEN,
  API,
  CIBA,
  claimsOf,
  makeBroker,
  testPolicy,
  type TestBroker,
} from '../helpers.js';
import {
  Browser,
  consolePolicy,
  csrfOf,
  PASSWORDS,
  signIn,
  userHashes,
} from './console-helpers.js';

let b: TestBroker;
let browser: Browser;
beforeEach(async () => {
  b = await makeBroker({ policy: consolePolicy(await userHashes()) });
  browser = new Browser((p, init) => b.app.request(p, init));
});
afterEach(async () => {
  await b.close();
});

const SECURITY_HEADERS = {
  'content-security-policy': CONSOLE_CSP,
  'cache-control': 'no-store',
  'x-content-type-options': 'nosniff',
  'referrer-policy': 'no-referrer',
  'x-frame-options': 'DENY',
};

function headersOf(res: Response, names: string[]): Record<string, string | null> {
  return Object.fromEntries(names.map((n) => [n, res.headers.get(n)]));
}

/** The `<main>` of a page, with CSRF values (random per session) blanked. */
/** How the store keys a session: the SHA-256 of the cookie's id. */
const sessionHash = (id: string): string => createHash('sha256').update(id).digest('base64url');

function mainOf(html: string): string {
  const m = /<main>([\s\S]*)<\/main>/.exec(html);
  return (m?.[1] ?? '').replace(/name="csrf" value="[^"]+"/g, 'name="csrf" value=""');
}

async function startRequest(form: Record<string, string>): Promise<string> {
  const res = await b.post('/bc-authorize', form, 'planner');
  expect(res.status).toBe(200);
  return ((await res.json()) as { auth_req_id: string }).auth_req_id;
}

const REQUEST = {
  login_hint: 'alice',
  scope: 'trips:read trips:book',
  audience: API,
  binding_message: 'Book Lisbon',
};

describe('sign-in', () => {
  it('serves the sign-in form with Username, Password and Sign in, a pre-session cookie and the security headers', async () => {
    const res = await browser.get('/console');
    expect(res.status).toBe(200);
    expect(headersOf(res, Object.keys(SECURITY_HEADERS))).toEqual(SECURITY_HEADERS);
    expect(res.headers.get('content-security-policy')).not.toContain('unsafe-inline');
    const html = await res.text();
    expect(html).toContain(
      '<label for="username">Username</label><input id="username" name="username"',
    );
    expect(html).toContain(
      '<label for="password">Password</label><input id="password" name="password" type="password"',
    );
    expect(html).toContain('<button type="submit" class="primary">Sign in</button>');
    expect(html).not.toMatch(/<script>|<style>| style=| on[a-z]+=/);
    const [cookie] = res.headers.getSetCookie();
    expect(cookie).toMatch(
      /^baton_console_pre=[A-Za-z0-9_-]{43}; Max-Age=3600; Path=\/console; HttpOnly; SameSite=Lax$/,
    );
  });

  it('signs alice in with a new HttpOnly, SameSite=Lax session cookie whose id the database keeps only hashed', async () => {
    const res = await signIn(browser, 'alice', PASSWORDS.alice);
    expect(res.status).toBe(303);
    expect(res.headers.get('location')).toBe('/console/approvals');
    expect(headersOf(res, Object.keys(SECURITY_HEADERS))).toEqual(SECURITY_HEADERS);
    const cookie = res.headers.getSetCookie().find((c) => c.startsWith('baton_console='))!;
    expect(cookie).toMatch(
      /^baton_console=[A-Za-z0-9_-]{43}; Max-Age=28800; Path=\/console; HttpOnly; SameSite=Lax$/,
    );
    const id = browser.cookies.get('baton_console')!;
    // Stored under the SHA-256 of the cookie's id, never the id itself.
    expect(await b.store.getConsoleSession(id, b.clock.now)).toBeUndefined();
    const stored = await b.store.getConsoleSession(sessionHash(id), b.clock.now);
    expect(stored).toMatchObject({ idHash: sessionHash(id), username: 'alice', role: 'user' });
    expect(stored!.expiresAt - stored!.createdAt).toBe(SESSION_SECONDS);
    const page = await browser.get('/console/approvals');
    expect(page.status).toBe(200);
    expect(await page.text()).toContain(
      '<span class="who">alice</span><button type="submit">Sign out</button>',
    );
  });

  it('marks the session cookie Secure when the issuer is https', async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'baton-console-'));
    const issuer = 'https://baton.example';
    const store = await openStore({ dbFile: path.join(dir, 'baton.db'), synchronous: 'FULL' });
    try {
      const policy = consolePolicy(await userHashes())(testPolicy(b.idp.jwk));
      const app = createApp(
        await buildDeps({ issuer, policy: parsePolicy(policy, issuer), store }),
      );
      const secure = new Browser((p, init) => app.request(p, init));
      const res = await signIn(secure, 'alice', PASSWORDS.alice);
      expect(res.status).toBe(303);
      expect(res.headers.getSetCookie().find((c) => c.startsWith('baton_console='))).toMatch(
        /; Path=\/console; HttpOnly; Secure; SameSite=Lax$/,
      );
    } finally {
      await store.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('says only that sign-in failed, the same for a wrong password and an unknown user, and sets no session', async () => {
    const wrong = await signIn(browser, 'alice', 'not her password');
    const wrongMain = mainOf(await wrong.text());
    const unknown = await signIn(browser, 'mallory', 'whatever');
    expect([wrong.status, unknown.status]).toEqual([401, 401]);
    expect(mainOf(await unknown.text())).toBe(wrongMain);
    expect(wrongMain).toContain('<p class="notice problem" role="alert">Sign-in failed.</p>');
    expect(browser.cookies.has('baton_console')).toBe(false);
  });

  it('matches the username case-insensitively (the policy names are unique that way)', async () => {
    const res = await signIn(browser, 'Alice', PASSWORDS.alice);
    expect(res.status).toBe(303);
    const id = browser.cookies.get('baton_console')!;
    expect(await b.store.getConsoleSession(sessionHash(id), b.clock.now)).toMatchObject({
      username: 'alice',
    });
  });

  it('slows down repeated failures for one username: 429 with Retry-After, even for the right password, until time passes', async () => {
    for (let i = 0; i < 5; i++)
      expect((await signIn(browser, 'alice', `guess ${i}`)).status).toBe(401);
    const held = await signIn(browser, 'ALICE', PASSWORDS.alice);
    expect(held.status).toBe(429);
    expect(held.headers.get('retry-after')).toBe('30');
    expect(mainOf(await held.text())).toContain('Too many failed sign-ins. Try again in 30 s.');
    // Another name is not held back by alice's failures.
    expect((await signIn(new Browser(browser.fetcher), 'bob', PASSWORDS.bob)).status).toBe(303);
    b.clock.now += 30;
    expect((await signIn(browser, 'alice', PASSWORDS.alice)).status).toBe(303);
  });

  it('slows down repeated failures from one address, whatever names they try (a real socket)', async () => {
    const live = await startConsoleBroker(consolePolicy(await userHashes()));
    try {
      const remote = new Browser((p, init) =>
        fetch(`${live.url}${p}`, { ...init, redirect: 'manual' }),
      );
      for (let i = 0; i < 20; i++) {
        expect((await signIn(remote, `nobody${i}`, 'guess')).status).toBe(401);
      }
      const held = await signIn(remote, 'alice', PASSWORDS.alice);
      // The real clock runs while scrypt checks 20 passwords, so the wait is up to 10 s, not exactly.
      expect(held.status).toBe(429);
      expect(held.headers.get('retry-after')).toMatch(/^([1-9]|10)$/);
    } finally {
      await live.close();
    }
  });

  it('refuses a sign-in post without the form CSRF token', async () => {
    await browser.get('/console');
    const res = await browser.post('/console', { username: 'alice', password: PASSWORDS.alice });
    expect(res.status).toBe(403);
    expect(res.headers.get('content-type')).toBe('text/html; charset=UTF-8');
    expect(mainOf(await res.text())).toContain('This sign-in form has expired.');
    expect(browser.cookies.has('baton_console')).toBe(false);
  });

  it('rotates the session at sign-in: the id from before stops working', async () => {
    await signIn(browser, 'alice', PASSWORDS.alice);
    const before = browser.cookies.get('baton_console')!;
    // Signing in again (here through the sign-in form's pre-session CSRF, which the operator
    // page also sets) makes a new id and deletes the old row.
    const fresh = new Browser(browser.fetcher);
    fresh.cookies.set('baton_console', before);
    const page = await fresh.get('/console');
    expect(page.status).toBe(303);
    const login = await fresh.get('/console/audit');
    expect(login.status).toBe(200);
    const res = await fresh.post('/console', {
      csrf: csrfOf(await login.text()),
      username: 'alice',
      password: PASSWORDS.alice,
    });
    expect(res.status).toBe(303);
    expect(fresh.cookies.get('baton_console')).not.toBe(before);
    expect((await browser.get('/console/approvals')).headers.get('location')).toBe('/console');
  });

  it('ends a session at sign-out: the old cookie then opens nothing and posts nothing', async () => {
    await signIn(browser, 'alice', PASSWORDS.alice);
    const old = browser.cookies.get('baton_console')!;
    const page = await (await browser.get('/console/approvals')).text();
    const csrf = csrfOf(page);
    const out = await browser.post('/console/sign-out', { csrf });
    expect(out.status).toBe(303);
    expect(out.headers.get('location')).toBe('/console');
    expect(browser.cookies.has('baton_console')).toBe(false);
    expect(await b.store.getConsoleSession(sessionHash(old), b.clock.now)).toBeUndefined();

    const replay = new Browser(browser.fetcher);
    replay.cookies.set('baton_console', old);
    const get = await replay.get('/console/approvals');
    expect([get.status, get.headers.get('location')]).toEqual([303, '/console']);
    const id = await startRequest(REQUEST);
    const post = await replay.post('/console/approvals', {
      csrf,
      auth_req_id: id,
      decision: 'approve',
      scope: 'trips:read',
    });
    expect(post.status).toBe(401);
    expect(mainOf(await post.text())).toContain('You are not signed in');
    expect((await b.store.getApproval(id))!.status).toBe('pending');
  });

  it('ends a session when it expires', async () => {
    await signIn(browser, 'alice', PASSWORDS.alice);
    b.clock.now += SESSION_SECONDS;
    const res = await browser.get('/console/approvals');
    expect([res.status, res.headers.get('location')]).toEqual([303, '/console']);
  });
});

describe('CSRF and errors', () => {
  it('refuses a POST without the CSRF token, or with another session’s, and changes nothing', async () => {
    const id = await startRequest(REQUEST);
    const other = new Browser(browser.fetcher);
    await signIn(other, 'alice', PASSWORDS.alice);
    const othersCsrf = csrfOf(await (await other.get('/console/approvals')).text());
    await signIn(browser, 'alice', PASSWORDS.alice);
    const forms: Record<string, string>[] = [
      { auth_req_id: id, decision: 'deny' },
      { csrf: othersCsrf, auth_req_id: id, decision: 'deny' },
      { csrf: '', auth_req_id: id, decision: 'deny' },
    ];
    for (const form of forms) {
      const res = await browser.post('/console/approvals', form);
      expect(res.status).toBe(403);
      expect(headersOf(res, Object.keys(SECURITY_HEADERS))).toEqual(SECURITY_HEADERS);
      expect(mainOf(await res.text())).toContain(
        'This form has expired or did not come from the console.',
      );
    }
    // A JSON body is no form: refused the same way.
    const json = await b.app.request('/console/approvals', {
      method: 'POST',
      headers: { cookie: browser.cookieHeader, 'content-type': 'application/json' },
      body: JSON.stringify({ auth_req_id: id, decision: 'deny' }),
    });
    expect(json.status).toBe(403);
    expect((await b.store.getApproval(id))!.status).toBe('pending');
  });

  it('answers an unknown console page with an HTML page and the security headers, not OAuth JSON', async () => {
    const res = await browser.get('/console/nope');
    expect(res.status).toBe(404);
    expect(res.headers.get('content-type')).toBe('text/html; charset=UTF-8');
    expect(headersOf(res, Object.keys(SECURITY_HEADERS))).toEqual(SECURITY_HEADERS);
    expect(mainOf(await res.text())).toBe(
      '<h1>Not found</h1><p class="notice problem" role="alert">The console has no such page.</p><p><a href="/console">Back to the console</a></p>',
    );
  });

  it('answers a failure inside the broker (its database gone) with an HTML page, not OAuth JSON', async () => {
    await signIn(browser, 'alice', PASSWORDS.alice);
    await b.store.close();
    const res = await browser.get('/console/approvals');
    expect(res.status).toBe(500);
    expect(res.headers.get('content-type')).toBe('text/html; charset=UTF-8');
    expect(headersOf(res, Object.keys(SECURITY_HEADERS))).toEqual(SECURITY_HEADERS);
    expect(mainOf(await res.text())).toBe(
      '<h1>Something went wrong</h1><p class="notice problem" role="alert">The console could not complete that request. Try again; if it keeps failing, the broker log says why.</p><p><a href="/console">Back to the console</a></p>',
    );
  });

  it('serves its stylesheet and script from /console, under the same headers', async () => {
    const css = await b.app.request('/console/style.css');
    expect([css.status, css.headers.get('content-type')]).toEqual([200, 'text/css; charset=utf-8']);
    const js = await b.app.request('/console/refresh.js');
    expect([js.status, js.headers.get('content-type')]).toEqual([
      200,
      'text/javascript; charset=utf-8',
    ]);
    expect(headersOf(js, Object.keys(SECURITY_HEADERS))).toEqual(SECURITY_HEADERS);
  });
});

describe('approvals', () => {
  it('lists alice’s pending requests, newest first, with agent, reason, audience, time left and checked scopes', async () => {
    const first = await startRequest(REQUEST);
    b.clock.now += 1;
    const second = await startRequest({
      ...REQUEST,
      binding_message: 'Second trip',
      scope: 'trips:read',
    });
    await startRequest({ ...REQUEST, login_hint: 'bob', binding_message: 'For bob' });
    await signIn(browser, 'alice', PASSWORDS.alice);
    const html = await (await browser.get('/console/approvals')).text();
    expect(html).not.toContain('For bob');
    expect(html.indexOf(second)).toBeLessThan(html.indexOf(first));
    expect(html).toContain(
      '<dl><dt>Agent</dt><dd>planner</dd><dt>Reason</dt><dd>Book Lisbon</dd><dt>Audience</dt><dd>https://api.example.com</dd><dt>Time left</dt><dd>4 min 59 s</dd></dl>',
    );
    expect(html).toContain(
      '<input type="checkbox" id="r1-s0" name="scope" value="trips:read" checked=""/><label for="r1-s0">trips:read</label>',
    );
    expect(html).toContain(
      '<input type="checkbox" id="r1-s1" name="scope" value="trips:book" checked=""/><label for="r1-s1">trips:book</label>',
    );
  });

  it('approves with the ticked scopes only; the agent’s poll gets exactly those, decided by alice', async () => {
    const id = await startRequest(REQUEST);
    await signIn(browser, 'alice', PASSWORDS.alice);
    const csrf = csrfOf(await (await browser.get('/console/approvals')).text());
    const res = await browser.post('/console/approvals', {
      csrf,
      auth_req_id: id,
      decision: 'approve',
      scope: ['trips:read'],
    });
    expect([res.status, res.headers.get('location')]).toEqual([
      303,
      '/console/approvals?done=approved',
    ]);
    const after = await (await browser.get('/console/approvals?done=approved')).text();
    expect(mainOf(after)).toContain('Approved. The agent gets its token on its next poll.');
    const approval = (await b.store.getApproval(id))!;
    expect([approval.status, approval.approvedScope, approval.decidedBy]).toEqual([
      'approved',
      'trips:read',
      'alice',
    ]);
    const poll = await b.post('/token', { grant_type: CIBA, auth_req_id: id }, 'planner');
    expect(poll.status).toBe(200);
    const body = (await poll.json()) as { access_token: string; scope: string };
    expect(body.scope).toBe('trips:read');
    expect(claimsOf(body.access_token)).toMatchObject({
      sub: 'alice',
      scope: 'trips:read',
      act: { sub: 'planner' },
    });
  });

  it('says so when no scope is ticked, and denies with Deny', async () => {
    const id = await startRequest(REQUEST);
    await signIn(browser, 'alice', PASSWORDS.alice);
    const csrf = csrfOf(await (await browser.get('/console/approvals')).text());
    const none = await browser.post('/console/approvals', {
      csrf,
      auth_req_id: id,
      decision: 'approve',
    });
    expect(none.status).toBe(400);
    expect(mainOf(await none.text())).toContain(
      'Tick at least one scope to approve, or press Deny.',
    );
    expect((await b.store.getApproval(id))!.status).toBe('pending');
    const deny = await browser.post('/console/approvals', {
      csrf,
      auth_req_id: id,
      decision: 'deny',
    });
    expect(deny.headers.get('location')).toBe('/console/approvals?done=denied');
    const poll = await b.post('/token', { grant_type: CIBA, auth_req_id: id }, 'planner');
    expect(await poll.json()).toMatchObject({ error: 'access_denied' });
  });

  it('shows alice a request whose login_hint spells her name in capitals as hers, and lets her decide it', async () => {
    const id = await startRequest({ ...REQUEST, login_hint: 'ALICE' });
    // /bc-authorize stores the policy's spelling, so the request is plainly alice's.
    expect((await b.store.getApproval(id))!.username).toBe('alice');
    await signIn(browser, 'alice', PASSWORDS.alice);
    const html = await (await browser.get('/console/approvals')).text();
    expect(html).toContain(id);
    expect(html).not.toContain('spelled differently');
    const res = await browser.post('/console/approvals', {
      csrf: csrfOf(html),
      auth_req_id: id,
      decision: 'deny',
    });
    expect(res.status).toBe(303);
    expect((await b.store.getApproval(id))!.decidedBy).toBe('alice');
  });

  it('never decides another person’s request', async () => {
    const id = await startRequest({ ...REQUEST, login_hint: 'bob' });
    await signIn(browser, 'alice', PASSWORDS.alice);
    const csrf = csrfOf(await (await browser.get('/console/approvals')).text());
    const res = await browser.post('/console/approvals', {
      csrf,
      auth_req_id: id,
      decision: 'approve',
      scope: 'trips:read',
    });
    expect(res.status).toBe(404);
    expect(mainOf(await res.text())).toContain('That request no longer exists.');
    expect((await b.store.getApproval(id))!.status).toBe('pending');
  });

  it('shows markup in a binding message as text, and bidi or zero-width characters as visible code points', async () => {
    const markup = '<script>alert(1)</script><img src=x onerror=alert(2)>"&';
    await startRequest({ ...REQUEST, binding_message: markup });
    // A row the endpoint would refuse today (bidi, zero-width), as an older ledger may hold.
    const now = b.clock.now;
    await b.store.createApproval({
      authReqId: 'legacy-request-0123456789',
      clientId: 'planner',
      username: 'alice',
      scope: 'trips:read',
      aud: [API],
      bindingMessage: 'pay \u202Eevil\u202C\u200B',
      createdAt: now - 1,
      expiresAt: now + 300,
      interval: 5,
    });
    await signIn(browser, 'alice', PASSWORDS.alice);
    const html = await (await browser.get('/console/approvals')).text();
    expect(html).toContain(
      '<dd>&lt;script&gt;alert(1)&lt;/script&gt;&lt;img src=x onerror=alert(2)&gt;&quot;&amp;</dd>',
    );
    expect(html).toContain('<dd>pay &lt;U+202E&gt;evil&lt;U+202C&gt;&lt;U+200B&gt;</dd>');
    expect(html).not.toContain('<script>');
    expect(html).not.toContain('\u202E');
  });

  it('tells refresh.js when the pending list changes', async () => {
    await signIn(browser, 'alice', PASSWORDS.alice);
    const page = await (await browser.get('/console/approvals')).text();
    const stamp = /data-stamp="([^"]+)"/.exec(page)![1];
    expect(await (await browser.get('/console/approvals/stamp')).text()).toBe(stamp);
    await startRequest(REQUEST);
    expect(await (await browser.get('/console/approvals/stamp')).text()).not.toBe(stamp);
  });
});

describe('operator audit paging', () => {
  it('pages search results 50 at a time, newest first, with a link to older tokens', async () => {
    await Promise.all(
      Array.from({ length: 51 }, (_, i) =>
        b.store.recordIssued({
          jti: `t${String(i).padStart(2, '0')}`,
          parentJti: null,
          sub: 'alice',
          act: null,
          clientId: 'planner',
          grantType: 'client_credentials',
          scope: 'trips:read',
          aud: [API],
          iat: 1000 + i,
          exp: 1300 + i,
        }),
      ),
    );
    const operator = new Browser(browser.fetcher);
    const form = await (await operator.get('/console/audit')).text();
    await operator.post('/console/audit', { csrf: csrfOf(form), admin_token: ADMIN_TOKEN });
    const first = await (await operator.get('/console/audit?sub=alice')).text();
    expect(first.match(/Open chain of /g)).toHaveLength(50);
    expect(first).toContain('Open chain of t50<');
    expect(first).not.toContain('Open chain of t00<');
    const older = /<a href="([^"]+)">Older tokens<\/a>/.exec(first)![1]!.replace(/&amp;/g, '&');
    expect(older).toBe('/console/audit?sub=alice&before=1001.t01');
    const second = await (await operator.get(older)).text();
    expect(second.match(/Open chain of /g)).toHaveLength(1);
    expect(second).toContain('Open chain of t00<');
    expect(second).not.toContain('Older tokens');
  });
});

describe('what acts for me', () => {
  async function chain() {
    const id = await startRequest({
      ...REQUEST,
      audience: 'agent:booker',
      scope: 'trips:read flights:book',
    });
    await b.store.decideApproval(id, 'approved', null, 'alice', b.clock.now);
    const root = (
      (await (await b.post('/token', { grant_type: CIBA, auth_req_id: id }, 'planner')).json()) as {
        access_token: string;
      }
    ).access_token;
    const handOff = await b.exchange('booker', {
      subject_token: root,
      audience: API,
      scope: 'flights:book',
    });
    expect(handOff.status).toBe(200);
    return { root: claimsOf(root).jti!, handOff: handOff.body.access_token as string };
  }

  it('draws the chain root first with the approval, and Revoke revokes the node and everything under it', async () => {
    const { root, handOff } = await chain();
    const below = await b.exchange('booker', { subject_token: handOff, audience: API });
    expect(below.status).toBe(200);
    await signIn(browser, 'alice', PASSWORDS.alice);
    const html = await (await browser.get('/console/chains')).text();
    expect(html).toContain('<section aria-label="planner → agent:booker">');
    expect(html).toContain('<section aria-label="booker → https://api.example.com">');
    expect(html).toContain('You approved planner at ');
    expect(html).toContain(
      '“Book Lisbon”; it asked for trips:read flights:book, you granted trips:read flights:book.',
    );
    expect(html.match(/>Revoke</g)).toHaveLength(3);
    const csrf = csrfOf(html);
    const handOffJti = claimsOf(handOff).jti!;
    const res = await browser.post('/console/chains', { csrf, jti: handOffJti });
    expect([res.status, res.headers.get('location')]).toEqual([
      303,
      '/console/chains?done=revoked',
    ]);
    expect(
      (await b.store.getToken(claimsOf(below.body.access_token).jti!))!.revokedAt,
    ).not.toBeNull();
    expect((await b.store.getToken(root))!.revokedAt).toBeNull();
    const again = await b.exchange('booker', { subject_token: handOff, audience: API });
    expect(again.status).toBe(400);
    const after = await (await browser.get('/console/chains?done=revoked')).text();
    expect(after).toContain('Revoked, with everything handed on from it.');
    expect(after.match(/>Revoke</g)).toHaveLength(1);
  });

  it('folds revoked chains apart from active ones, and never revokes someone else’s token', async () => {
    const { root } = await chain();
    await signIn(browser, 'bob', PASSWORDS.bob);
    const bobs = await (await browser.get('/console/chains')).text();
    expect(mainOf(bobs)).toContain('<h2>Active</h2><p>Nothing acts for you right now.</p>');
    const res = await browser.post('/console/chains', { csrf: csrfOf(bobs), jti: root });
    expect(res.status).toBe(404);
    expect((await b.store.getToken(root))!.revokedAt).toBeNull();

    await b.store.revokeCascade(root, b.clock.now);
    const alice = new Browser(browser.fetcher);
    await signIn(alice, 'alice', PASSWORDS.alice);
    const html = mainOf(await (await alice.get('/console/chains')).text());
    expect(html).toContain(
      '<h2>Active</h2><p>Nothing acts for you right now.</p><details><summary>Expired or revoked (1)</summary>',
    );
    expect(html).not.toContain('>Revoke<');
  });
});

describe('operator audit', () => {
  it('refuses a wrong admin token, then finds tokens by subject and opens a chain with its refusals', async () => {
    const id = await startRequest(REQUEST);
    await b.store.decideApproval(id, 'approved', null, 'alice', b.clock.now);
    const poll = (await (
      await b.post('/token', { grant_type: CIBA, auth_req_id: id }, 'planner')
    ).json()) as {
      access_token: string;
    };
    // planner may not hand a token to an audience outside its policy: refused, on the ledger.
    const refused = await b.exchange('planner', {
      subject_token: poll.access_token,
      audience: 'https://elsewhere.example',
    });
    expect(refused.status).toBe(400);

    const operator = new Browser(browser.fetcher);
    const form = await operator.get('/console/audit');
    expect(mainOf(await form.text())).toContain('<label for="admin_token">Admin token</label>');
    const wrong = await operator.post('/console/audit', {
      csrf: csrfOf(await (await operator.get('/console/audit')).text()),
      admin_token: 'nope',
    });
    expect(wrong.status).toBe(401);
    const ok = await operator.post('/console/audit', {
      csrf: csrfOf(await (await operator.get('/console/audit')).text()),
      admin_token: ADMIN_TOKEN,
    });
    expect([ok.status, ok.headers.get('location')]).toEqual([303, '/console/audit']);
    // An operator is not a person: no approvals page.
    expect((await operator.get('/console/approvals')).headers.get('location')).toBe('/console');

    const results = await (await operator.get('/console/audit?sub=alice&client_id=&since=')).text();
    const jti = claimsOf(poll.access_token).jti!;
    expect(results).toContain(
      `<a href="/console/audit/chain?jti=${jti}">Open chain of ${jti.slice(0, 8)}</a>`,
    );
    expect(await (await operator.get('/console/audit?sub=bob')).text()).toContain(
      '<p>No token matches.</p>',
    );
    const chainPage = await (await operator.get(`/console/audit/chain?jti=${jti}`)).text();
    expect(chainPage).toContain('<section aria-label="planner → https://api.example.com">');
    expect(chainPage).toMatch(
      /<p class="refusal">Refused at [^:]+:\d\d:\d\dZ: planner was told invalid_target: /,
    );
    expect(chainPage).toContain('Approved by alice for planner: “Book Lisbon”');
    // Alice's session cannot open the audit.
    await signIn(browser, 'alice', PASSWORDS.alice);
    expect(mainOf(await (await browser.get('/console/audit?sub=alice')).text())).toContain(
      'Admin token',
    );
  });
});
