/** @jsxImportSource hono/jsx */
/**
 * Consent (SPEC §8) at `/console/consent`: where `GET /authorize` sends a person. Signed
 * out, they go to the console's sign-in and come back here (`next`). Signed in, they see
 * the client's name (as the client wrote it, made inert by `forPage`) and where it will
 * send them (the redirect's host), one checked box per requested scope, and `Allow` /
 * `Deny`. The form carries the authorization request as hidden fields, and the answer
 * checks it all again (`authorization-request.ts`): nothing the browser carried is
 * trusted. `Allow` makes a one-time code (60 s, stored hashed) bound to the client, the
 * redirect, the PKCE challenge, the resource, the ticked scopes and the person, and
 * sends the browser back with `code`, `state` and `iss`; `Deny` sends back
 * `error=access_denied`.
 *
 * The console's CSP allows forms to post to itself only, and a browser applies
 * `form-action` to the redirect that follows a post, so this page's CSP also names the
 * one redirect target it may send the person to.
 * @module
 */
import type { Context } from 'hono';
import type { BrokerDeps } from '../deps.js';
import {
  checkAuthorizationRequest,
  rawParams,
  redirectBack,
  toQuery,
  type AuthorizationRequest,
  type RawParams,
} from '../mcp-auth/authorization-request.js';
import { CODE_PREFIX, newSecret, secretHash } from '../mcp-auth/secrets.js';
import type { ConsoleSession } from '../store/store.js';
import { forPage } from '../text/show.js';
import { errorPage } from './error-page.js';
import { field, readForm } from './form.js';
import { CONSOLE_CSP } from './headers.js';
import { Csrf, Layout, render, ScopeChoice } from './layout.js';
import { CSRF_FIELD, csrfMatches, currentSession } from './session.js';

export const CONSENT_PATH = '/console/consent';
/** An authorization code lives this long (RFC 6749 §4.1.2 recommends at most 10 minutes). */
export const CODE_SECONDS = 60;

/** Where the person is sent back: the host, or the scheme for a private-use redirect. */
function destination(redirectUri: string): string {
  const url = new URL(redirectUri);
  return url.host !== '' ? url.host : url.protocol;
}

/** `form-action` for this page: the console, and the one place the answer redirects to. */
function consentCsp(redirectUri: string): string {
  const url = new URL(redirectUri);
  const target = url.host !== '' ? url.origin : url.protocol;
  // A loopback redirect matches on any port (RFC 8252 §7.3), so the exact one is named.
  return CONSOLE_CSP.replace("form-action 'self'", `form-action 'self' ${target}`);
}

function ConsentPage(props: {
  session: ConsoleSession;
  request: AuthorizationRequest;
  raw: RawParams;
}) {
  const r = props.request;
  const name = r.client.name === undefined ? undefined : forPage(r.client.name, 200);
  const id = forPage(r.client.clientId, 300);
  return (
    <Layout title="Allow access?" session={props.session}>
      <article class="card" aria-labelledby="consent-title">
        <h2 id="consent-title">{`${name ?? id} wants to act for you`}</h2>
        <dl>
          <dt>Application</dt>
          <dd>{name === undefined ? id : `${name} (${id})`}</dd>
          <dt>Sends you back to</dt>
          <dd>{forPage(destination(r.redirectUri), 300)}</dd>
          <dt>For</dt>
          <dd>{forPage(r.resource, 300)}</dd>
        </dl>
        <form method="post" action={CONSENT_PATH}>
          <Csrf secret={props.session.csrfSecret} />
          {Object.entries(props.raw).map(([k, values]) =>
            values.map((v) => <input type="hidden" name={k} value={v} />),
          )}
          <ScopeChoice legend="Scopes to allow" name="granted" idPrefix="" scopes={r.scopes} />
          <div class="actions">
            <button type="submit" name="decision" value="allow" class="primary">
              Allow
            </button>
            <button type="submit" name="decision" value="deny" class="danger">
              Deny
            </button>
          </div>
        </form>
      </article>
    </Layout>
  );
}

/** Signed in as a person (not an operator), or undefined. */
async function personSession(c: Context, deps: BrokerDeps) {
  const session = await currentSession(c, deps);
  return session?.role === 'user' ? session : undefined;
}

export async function showConsent(c: Context, deps: BrokerDeps): Promise<Response> {
  const raw = rawParams((name) => c.req.queries(name));
  const checked = await checkAuthorizationRequest(deps, raw);
  if ('page' in checked) return errorPage(c, 400, 'Cannot sign you in', checked.page);
  if ('redirect' in checked) return c.redirect(checked.redirect, 302);
  const session = await personSession(c, deps);
  if (session === undefined) {
    const next = `${CONSENT_PATH}?${toQuery(raw)}`;
    return c.redirect(`/console?next=${encodeURIComponent(next)}`, 303);
  }
  const res = await render(c, <ConsentPage session={session} request={checked.ok} raw={raw} />);
  res.headers.set('Content-Security-Policy', consentCsp(checked.ok.redirectUri));
  return res;
}

export async function answerConsent(c: Context, deps: BrokerDeps): Promise<Response> {
  const session = await personSession(c, deps);
  if (session === undefined)
    return errorPage(c, 401, 'Signed out', 'You are not signed in. Start again from the app.');
  const form = await readForm(c);
  if (form === undefined || !csrfMatches(session.csrfSecret, field(form, CSRF_FIELD))) {
    return errorPage(
      c,
      403,
      'Form expired',
      'This form has expired or did not come from the console. Start again from the app.',
    );
  }
  const checked = await checkAuthorizationRequest(
    deps,
    rawParams((name) => form.get(name)),
  );
  if ('page' in checked) return errorPage(c, 400, 'Cannot sign you in', checked.page);
  if ('redirect' in checked) return c.redirect(checked.redirect, 303);
  const r = checked.ok;
  const back = (params: Record<string, string>) =>
    c.redirect(redirectBack(deps, r.redirectUri, r.state, params), 303);
  if (field(form, 'decision') !== 'allow')
    return back({ error: 'access_denied', error_description: 'the person denied the request' });
  // Only scopes that were asked for; unticking grants fewer, unticking all grants nothing.
  const granted = r.scopes.filter((s) => (form.get('granted') ?? []).includes(s));
  if (granted.length === 0)
    return back({ error: 'access_denied', error_description: 'no scope was allowed' });
  const now = deps.now();
  const code = newSecret(CODE_PREFIX);
  await deps.store.createAuthCode({
    codeHash: secretHash(code),
    clientId: r.client.clientId,
    redirectUri: r.redirectUri,
    codeChallenge: r.codeChallenge,
    resource: r.resource,
    scope: granted.join(' '),
    username: session.username,
    createdAt: now,
    expiresAt: now + CODE_SECONDS,
  });
  if (r.client.kind === 'registered') await deps.store.touchMcpClient(r.client.clientId, now);
  return back({ code });
}
