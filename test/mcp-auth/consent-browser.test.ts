/**
 * The consent page in a real browser (SPEC §8): Debian's Chromium (playwright-core)
 * against a real broker on a loopback port, as a person meets it when an MCP client sends
 * them to `/authorize`: signed out, they sign in by keyboard, come back to the consent
 * page, untick one scope, press `Allow`, and land on the client's loopback redirect with
 * `code`, `state` and `iss`; the code then buys a token with the fewer scopes. The page's
 * CSP must let the form's redirect reach the client, which only a browser checks. No
 * Chromium: the test fails, it does not skip.
 */
import { createServer, type Server } from 'node:http';
import { existsSync, mkdirSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { chromium, type Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { consolePolicy, PASSWORDS, userHashes } from '../console/console-helpers.js';
import { startConsoleBroker, type ConsoleBroker } from '../console/live.js';
import { claimsOf } from '../helpers.js';
import { pkce } from './mcp-auth-helpers.js';

const CHROMIUM = '/usr/bin/chromium';
const ARTIFACTS = 'test-artifacts';

let broker: ConsoleBroker;
let browser: Browser;
let callback: Server;
let callbackUrl: string;

beforeAll(async () => {
  if (!existsSync(CHROMIUM)) {
    throw new Error(
      `No Chromium at ${CHROMIUM}: install Debian's chromium (apt-get install -y chromium); .ci/run does`,
    );
  }
  mkdirSync(ARTIFACTS, { recursive: true });
  broker = await startConsoleBroker(consolePolicy(await userHashes()));
  // The MCP client's loopback listener (RFC 8252 §7.3).
  callback = createServer((_req, res) => {
    res.writeHead(200, { 'content-type': 'text/plain' });
    res.end('You can close this window.');
  });
  await new Promise<void>((resolve) => callback.listen(0, '127.0.0.1', resolve));
  callbackUrl = `http://127.0.0.1:${(callback.address() as AddressInfo).port}/callback`;
  browser = await chromium.launch({
    executablePath: CHROMIUM,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--no-first-run', '--disable-sync'],
  });
});

afterAll(async () => {
  await browser?.close();
  await new Promise<void>((resolve) => (callback ? callback.close(() => resolve()) : resolve()));
  await broker?.close();
});

describe('the consent page in Chromium', () => {
  it('signs in, unticks a scope, allows, and lands on the redirect with code, state and iss', async () => {
    const reg = await fetch(`${broker.url}/register`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ client_name: 'Desk <b>Agent</b>', redirect_uris: [callbackUrl] }),
    });
    expect(reg.status).toBe(201);
    const clientId = ((await reg.json()) as { client_id: string }).client_id;
    const { verifier, challenge } = pkce();
    const resource = `${broker.url}/mcp`;
    const authorize = new URL(`${broker.url}/authorize`);
    for (const [k, v] of Object.entries({
      response_type: 'code',
      client_id: clientId,
      redirect_uri: callbackUrl,
      code_challenge: challenge,
      code_challenge_method: 'S256',
      state: 'state-from-the-client',
      resource,
      scope: 'trips:read trips:book',
    }))
      authorize.searchParams.set(k, v);

    const context = await browser.newContext({ viewport: { width: 390, height: 844 } });
    const page = await context.newPage();
    await page.goto(authorize.href);
    // Signed out: the console's sign-in, by keyboard.
    await page.getByLabel('Username').fill('alice');
    await page.keyboard.press('Tab');
    await page.keyboard.type(PASSWORDS.alice);
    await page.keyboard.press('Enter');

    await page.getByRole('button', { name: 'Allow' }).waitFor();
    expect(new URL(page.url()).pathname).toBe('/console/consent');
    // The client's name is text, not markup; the redirect's host is shown.
    await expect(page.getByText('Desk <b>Agent</b>').first().isVisible()).resolves.toBe(true);
    await expect(
      page.getByText(new URL(callbackUrl).host, { exact: true }).isVisible(),
    ).resolves.toBe(true);
    const read = page.getByLabel('trips:read');
    const book = page.getByLabel('trips:book');
    expect(await read.isChecked()).toBe(true);
    expect(await book.isChecked()).toBe(true);
    await book.uncheck();
    await page.screenshot({ path: `${ARTIFACTS}/mcp-consent.png`, fullPage: true });
    await page.getByRole('button', { name: 'Allow' }).click();

    await page.waitForURL((url) => url.href.startsWith(callbackUrl));
    const landed = new URL(page.url());
    expect(landed.searchParams.get('state')).toBe('state-from-the-client');
    expect(landed.searchParams.get('iss')).toBe(broker.url);
    const code = landed.searchParams.get('code');
    expect(code).toMatch(/^bac_/);
    await context.close();

    const token = await fetch(`${broker.url}/token`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({
        grant_type: 'authorization_code',
        client_id: clientId,
        code: code!,
        redirect_uri: callbackUrl,
        code_verifier: verifier,
        resource,
      }),
    });
    expect(token.status).toBe(200);
    const body = (await token.json()) as { access_token: string; scope: string };
    expect(body.scope).toBe('trips:read');
    const claims = claimsOf(body.access_token);
    expect(claims.sub).toBe('alice');
    expect(claims.act).toEqual({ sub: clientId });
    expect(claims.aud).toBe(resource);
  });
});
