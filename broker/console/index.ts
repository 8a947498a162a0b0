/**
 * The console (SPEC §3a): server-rendered pages under `/console` where a person signs in,
 * approves or denies what agents ask (`approvals.tsx`), sees what acts for them and
 * revokes it (`chains.tsx`), and where an operator audits the ledger (`audit.tsx`).
 * `mountConsole` wires the routes and the console's own middleware: security headers on
 * every answer (`headers.ts`), readable error pages instead of OAuth JSON
 * (`error-page.tsx`), a session from the database on every page (`session.ts`), and a
 * CSRF check on every POST before anything else reads the form. Not on the token
 * endpoint's path: nothing here runs for `/token`.
 * @module
 */
import type { Context, Hono } from 'hono';
import type { BrokerDeps } from '../deps.js';
import type { ConsoleSession } from '../store/store.js';
import { approvalsStamp, decide, showApprovals } from './approvals.js';
import { REFRESH_JS, STYLE_CSS } from './assets.js';
import { showAudit, showChain } from './audit.js';
import { revoke, showChains } from './chains.js';
import { answerConsent, CONSENT_PATH, showConsent } from './consent.js';
import { consoleErrors, errorPage } from './error-page.js';
import { field, readForm, type ConsoleForm } from './form.js';
import { safeNext } from './next.js';
import { consoleHeaders } from './headers.js';
import { CSRF_FIELD, csrfMatches, currentSession, endSession } from './session.js';
import { mountSignIn } from './sign-in.js';

type Role = ConsoleSession['role'];
type Page = (c: Context, deps: BrokerDeps, session: ConsoleSession) => Response | Promise<Response>;
type Action = (
  c: Context,
  deps: BrokerDeps,
  session: ConsoleSession,
  form: ConsoleForm,
) => Response | Promise<Response>;

/** Where each kind of session starts. */
const HOME: Record<Role, string> = { user: '/console/approvals', operator: '/console/audit' };

export function mountConsole(app: Hono, deps: BrokerDeps): void {
  const signIn = mountSignIn(deps);
  app.use('/console', consoleHeaders, consoleErrors);
  app.use('/console/*', consoleHeaders, consoleErrors);

  /** A page for one kind of session; anyone else is sent to sign in. */
  const page =
    (role: Role, show: Page) =>
    async (c: Context): Promise<Response> => {
      const session = await currentSession(c, deps);
      if (session === undefined || session.role !== role) {
        return role === 'operator' ? signIn.operatorPage(c) : c.redirect('/console', 303);
      }
      return show(c, deps, session);
    };

  /** A form post: a session of this kind and its CSRF token, or a refusal page. */
  const action =
    (role: Role | 'any', act: Action) =>
    async (c: Context): Promise<Response> => {
      const session = await currentSession(c, deps);
      if (session === undefined) {
        return errorPage(
          c,
          401,
          'Signed out',
          'You are not signed in (or your session has ended). Sign in again.',
        );
      }
      const form = await readForm(c);
      if (form === undefined || !csrfMatches(session.csrfSecret, field(form, CSRF_FIELD))) {
        return errorPage(
          c,
          403,
          'Form expired',
          'This form has expired or did not come from the console. Reload the page and try again.',
        );
      }
      if (role !== 'any' && session.role !== role) return c.redirect(HOME[session.role], 303);
      return act(c, deps, session, form);
    };

  app.get('/console/style.css', (c) =>
    c.body(STYLE_CSS, 200, { 'Content-Type': 'text/css; charset=utf-8' }),
  );
  app.get('/console/refresh.js', (c) =>
    c.body(REFRESH_JS, 200, { 'Content-Type': 'text/javascript; charset=utf-8' }),
  );

  app.get('/console', async (c) => {
    const session = await currentSession(c, deps);
    if (session === undefined) return signIn.signInPage(c);
    // Already signed in on the way to a consent page: straight there.
    const next = session.role === 'user' ? safeNext(c.req.query('next')) : undefined;
    return c.redirect(next ?? HOME[session.role], 303);
  });
  app.post('/console', (c) => signIn.signIn(c));
  app.post(
    '/console/sign-out',
    action('any', async (c) => {
      await endSession(c, deps);
      return c.redirect('/console', 303);
    }),
  );

  app.get(
    '/console/approvals',
    page('user', (c, d, s) => showApprovals(c, d, s)),
  );
  app.get('/console/approvals/stamp', page('user', approvalsStamp));
  app.post('/console/approvals', action('user', decide));
  app.get(
    '/console/chains',
    page('user', (c, d, s) => showChains(c, d, s)),
  );
  app.post('/console/chains', action('user', revoke));
  app.get('/console/audit', page('operator', showAudit));
  app.get('/console/audit/chain', page('operator', showChain));
  app.post('/console/audit', (c) => signIn.operatorSignIn(c));

  // SPEC §8: consent to an MCP client (`GET /authorize` sends people here).
  app.get(CONSENT_PATH, (c) => showConsent(c, deps));
  app.post(CONSENT_PATH, (c) => answerConsent(c, deps));

  app.all('/console/*', (c) => errorPage(c, 404, 'Not found', 'The console has no such page.'));
}
