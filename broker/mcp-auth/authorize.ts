/**
 * `GET /authorize` (RFC 6749 §4.1.1, SPEC §8). Checks the request
 * (`authorization-request.ts`): a bad client or redirect is an error page, any other
 * problem goes back to the client's redirect; a good request goes on to the consent page
 * in the console (`/console/consent`, where the console's session cookie is sent), which
 * checks it all again and asks the person, signing them in first when needed.
 * @module
 */
import type { Context, Hono } from 'hono';
import { CONSENT_PATH } from '../console/consent.js';
import { errorPage } from '../console/error-page.js';
import { CONSOLE_HEADERS } from '../console/headers.js';
import type { BrokerDeps } from '../deps.js';
import { PATHS } from '../endpoints/urls.js';
import { checkAuthorizationRequest, rawParams, toQuery } from './authorization-request.js';

async function withConsoleHeaders(res: Response | Promise<Response>): Promise<Response> {
  const r = await res;
  for (const [name, value] of Object.entries(CONSOLE_HEADERS)) r.headers.set(name, value);
  return r;
}

export function mountAuthorize(app: Hono, deps: BrokerDeps): void {
  app.get(PATHS.authorization, async (c: Context) => {
    const raw = rawParams((name) => c.req.queries(name));
    const checked = await checkAuthorizationRequest(deps, raw);
    if ('page' in checked)
      return withConsoleHeaders(errorPage(c, 400, 'Cannot sign you in', checked.page));
    if ('redirect' in checked) return c.redirect(checked.redirect, 302);
    return c.redirect(`${CONSENT_PATH}?${toQuery(raw)}`, 302);
  });
}
