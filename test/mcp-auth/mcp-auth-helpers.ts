/**
 * Helpers for the MCP authorization tests: a broker with `/mcp` mounted and people who
 * sign in, a registered public client, PKCE pairs, and the whole browser leg of the code
 * flow (authorize → sign in → consent) driven through `app.request` with a cookie jar.
 */
import { createHash, randomBytes } from 'node:crypto';
import { createApp } from '../../broker/app.js';
import { mountMcp } from '../../mcp-server/http.js';
import {
  Browser,
  consolePolicy,
  csrfOf,
  PASSWORDS,
  userHashes,
} from '../console/console-helpers.js';
import { ISSUER, makeBroker, toBody, type TestBroker } from '../helpers.js';

export const RESOURCE = `${ISSUER}/mcp`;
export const REDIRECT = 'http://127.0.0.1:33418/callback';

export interface McpAuthBroker extends TestBroker {
  /** The app with `/mcp` mounted, sharing the broker's deps. */
  mcpApp: ReturnType<typeof createApp>;
}

export async function makeMcpAuthBroker(): Promise<McpAuthBroker> {
  const b = await makeBroker({ policy: consolePolicy(await userHashes()) });
  return { ...b, mcpApp: createApp(b.deps, [mountMcp]) };
}

export function pkce(): { verifier: string; challenge: string } {
  const verifier = randomBytes(32).toString('base64url');
  return { verifier, challenge: createHash('sha256').update(verifier).digest('base64url') };
}

export async function register(
  b: TestBroker,
  metadata: Record<string, unknown> = { client_name: 'Test MCP client', redirect_uris: [REDIRECT] },
): Promise<Response> {
  return b.app.request('/register', {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(metadata),
  });
}

export async function registeredClient(b: TestBroker): Promise<string> {
  const res = await register(b);
  if (res.status !== 201) throw new Error(`registration failed: ${res.status}`);
  return ((await res.json()) as { client_id: string }).client_id;
}

export function authorizeUrl(params: Record<string, string | undefined>): string {
  const q = new URLSearchParams();
  for (const [k, v] of Object.entries(params)) if (v !== undefined) q.set(k, v);
  return `/authorize?${q.toString()}`;
}

export interface CodeResult {
  code: string;
  state: string | null;
  iss: string | null;
  verifier: string;
  location: URL;
}

/**
 * The browser leg: GET /authorize, sign in as alice (when not yet), the consent page,
 * then `Allow` with only `grant` ticked (all requested when omitted).
 */
export async function consentFlow(
  browser: Browser,
  clientId: string,
  options: { scope?: string; grant?: string[]; decision?: 'allow' | 'deny' } = {},
): Promise<CodeResult & { consentHtml: string }> {
  const { verifier, challenge } = pkce();
  const state = randomBytes(8).toString('hex');
  let res = await browser.get(
    authorizeUrl({
      response_type: 'code',
      client_id: clientId,
      redirect_uri: REDIRECT,
      code_challenge: challenge,
      code_challenge_method: 'S256',
      state,
      resource: RESOURCE,
      scope: options.scope,
    }),
  );
  if (res.status !== 302) throw new Error(`authorize answered ${res.status}`);
  let next = res.headers.get('location')!;
  res = await browser.get(next);
  if (res.status === 303) {
    // Signed out: the sign-in page carries `next`, and sends us back after.
    const signInPath = res.headers.get('location')!;
    const page = await browser.get(signInPath);
    const html = await page.text();
    const nextField = /name="next" value="([^"]+)"/.exec(html)?.[1];
    if (nextField === undefined) throw new Error('the sign-in page lost the way back');
    const signedIn = await browser.post('/console', {
      csrf: csrfOf(html),
      username: 'alice',
      password: PASSWORDS.alice,
      next: nextField.replaceAll('&amp;', '&'),
    });
    next = signedIn.headers.get('location')!;
    res = await browser.get(next);
  }
  if (res.status !== 200) throw new Error(`consent page answered ${res.status}`);
  const consentHtml = await res.text();
  const hidden: Record<string, string> = {};
  for (const m of consentHtml.matchAll(/type="hidden" name="([^"]+)" value="([^"]*)"/g))
    hidden[m[1]!] = m[2]!.replaceAll('&amp;', '&');
  const offered = [...consentHtml.matchAll(/name="granted" value="([^"]+)"/g)].map((m) => m[1]!);
  const answer = await browser.post('/console/consent', {
    ...hidden,
    granted: options.grant ?? offered,
    decision: options.decision ?? 'allow',
  });
  if (answer.status !== 303) throw new Error(`consent answered ${answer.status}`);
  const location = new URL(answer.headers.get('location')!);
  return {
    code: location.searchParams.get('code') ?? '',
    state: location.searchParams.get('state'),
    iss: location.searchParams.get('iss'),
    verifier,
    location,
    consentHtml,
  };
}

export async function tokenRequest(
  b: TestBroker,
  form: Record<string, string>,
): Promise<{ status: number; body: Record<string, unknown> }> {
  const res = await b.app.request('/token', {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: toBody(form),
  });
  return { status: res.status, body: (await res.json()) as Record<string, unknown> };
}

export function redeem(b: TestBroker, clientId: string, r: CodeResult, extra = {}) {
  return tokenRequest(b, {
    grant_type: 'authorization_code',
    client_id: clientId,
    code: r.code,
    redirect_uri: REDIRECT,
    code_verifier: r.verifier,
    resource: RESOURCE,
    ...extra,
  });
}

export function refresh(b: TestBroker, clientId: string, token: string, extra = {}) {
  return tokenRequest(b, {
    grant_type: 'refresh_token',
    client_id: clientId,
    refresh_token: token,
    ...extra,
  });
}

/** RFC 7662 through a policy client (`api`). */
export async function active(b: TestBroker, token: string): Promise<boolean> {
  const res = await b.post('/introspect', { token }, 'api');
  return ((await res.json()) as { active: boolean }).active;
}
