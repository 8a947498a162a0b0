/**
 * The console in a real browser (SPEC §3a, issue 10): Debian's Chromium driven by
 * playwright-core against a real broker on a loopback port, found by role and label the
 * way a person (and a screen reader) finds things. The whole story: an agent asks over
 * HTTP; alice signs in (after a wrong password), sees the request, unticks one scope and
 * approves; the agent's poll gets the narrower scope; a second request full of markup
 * appears by itself and stays text; alice watches the chain grow as the agent hands off,
 * revokes the hand-off, and the next exchange below it is refused; she signs out and the
 * session is gone; an operator searches the ledger and opens the chain with its refusal.
 * Screenshots of each page go to test-artifacts/ (not committed). No Chromium: the test
 * fails, it does not skip.
 */
import { existsSync, mkdirSync } from 'node:fs';
import { chromium, type Browser, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ADMIN_TOKEN, API, CIBA, claimsOf, SECRETS, TE, AT, basic } from '../helpers.js';
import { consolePolicy, PASSWORDS, userHashes } from './console-helpers.js';
import { startConsoleBroker, type ConsoleBroker } from './live.js';

export const CHROMIUM = '/usr/bin/chromium';
const ARTIFACTS = 'test-artifacts';

let broker: ConsoleBroker;
let browser: Browser;

beforeAll(async () => {
  if (!existsSync(CHROMIUM)) {
    throw new Error(
      `No Chromium at ${CHROMIUM}: install Debian's chromium (apt-get install -y chromium); .ci/run does`,
    );
  }
  mkdirSync(ARTIFACTS, { recursive: true });
  broker = await startConsoleBroker(consolePolicy(await userHashes()));
  browser = await chromium.launch({
    executablePath: CHROMIUM,
    args: [
      '--headless',
      '--no-sandbox',
      '--disable-gpu',
      '--disable-quic',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
    ],
  });
});

afterAll(async () => {
  await browser?.close();
  await broker?.close();
});

/** An agent's HTTP call with its client secret (HTTP Basic), as JSON. */
async function agent(client: string, path: string, form: Record<string, string>) {
  const res = await fetch(`${broker.url}${path}`, {
    method: 'POST',
    headers: {
      authorization: basic(client, SECRETS[client]),
      'content-type': 'application/x-www-form-urlencoded',
    },
    body: new URLSearchParams(form),
  });
  return { status: res.status, body: (await res.json()) as Record<string, string> };
}

const shot = (page: Page, name: string) =>
  page.screenshot({ path: `${ARTIFACTS}/console-${name}.png`, fullPage: true });

describe('the console in Chromium', () => {
  it('walks the whole story: approve with fewer scopes, watch the chain grow, revoke a hand-off, sign out, audit', async () => {
    const asked = await agent('planner', '/bc-authorize', {
      login_hint: 'alice',
      scope: 'trips:read flights:book',
      audience: 'agent:booker',
      binding_message: 'Book the Lisbon flight you chose',
    });
    expect(asked.status).toBe(200);

    const context = await browser.newContext({ viewport: { width: 390, height: 844 } });
    const page = await context.newPage();
    const blocked: string[] = [];
    page.on('console', (m) => {
      if (/Content Security Policy/i.test(m.text())) blocked.push(m.text());
    });

    // A wrong password: the page says only that it failed.
    await page.goto(`${broker.url}/console`);
    await shot(page, 'sign-in');
    // By keyboard alone: Tab to each field in order, Enter to send.
    await page.keyboard.press('Tab');
    expect(await page.evaluate(() => document.activeElement?.id)).toBe('username');
    await page.keyboard.type('alice');
    await page.keyboard.press('Tab');
    expect(await page.evaluate(() => document.activeElement?.id)).toBe('password');
    await page.keyboard.type('not her password');
    await page.keyboard.press('Enter');
    await page.getByRole('alert').waitFor();
    expect(await page.getByRole('alert').textContent()).toBe('Sign-in failed.');
    await shot(page, 'sign-in-failed');

    await page.getByLabel('Username').fill('alice');
    await page.getByLabel('Password').fill(PASSWORDS.alice);
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.getByRole('heading', { name: 'Approvals', level: 1 }).waitFor();
    const request = page
      .getByRole('article')
      .filter({ hasText: 'Book the Lisbon flight you chose' });
    expect(await request.getByRole('heading').textContent()).toBe('Request from planner');
    expect(await request.getByLabel('trips:read').isChecked()).toBe(true);
    expect(await request.getByLabel('flights:book').isChecked()).toBe(true);
    await shot(page, 'approvals');
    await request.getByLabel('trips:read').uncheck();
    await request.getByRole('button', { name: 'Approve' }).click();
    expect(await page.getByRole('status').textContent()).toBe(
      'Approved. The agent gets its token on its next poll.',
    );

    const polled = await agent('planner', '/token', {
      grant_type: CIBA,
      auth_req_id: asked.body.auth_req_id!,
    });
    expect([polled.status, polled.body.scope]).toEqual([200, 'flights:book']);
    const root = polled.body.access_token!;
    expect(claimsOf(root)).toMatchObject({
      sub: 'alice',
      scope: 'flights:book',
      aud: 'agent:booker',
      act: { sub: 'planner' },
    });

    // A request full of markup arrives while alice looks: it appears by itself, as text.
    const markup = '<img src=x onerror="document.title=1"><b>Urgent</b><script>alert(1)</script>';
    const hostile = await agent('planner', '/bc-authorize', {
      login_hint: 'alice',
      scope: 'trips:read',
      audience: API,
      binding_message: markup,
    });
    expect(hostile.status).toBe(200);
    const shown = page.getByRole('article').filter({ hasText: markup });
    await shown.waitFor({ timeout: 15_000 });
    expect(await page.locator('main img, main b, main script').count()).toBe(0);
    expect(await page.title()).toBe('Approvals · Baton');
    await shot(page, 'approvals-markup');
    await shown.getByRole('button', { name: 'Deny' }).click();
    expect(await page.getByRole('status').textContent()).toBe(
      'Denied. The agent is told on its next poll.',
    );

    // What acts for alice: the approval at the root; then booker takes the hand-off.
    await page.getByRole('link', { name: 'What acts for me' }).click();
    const rootNode = page.getByRole('region', { name: 'planner → agent:booker', exact: true });
    expect(await rootNode.getByText('You approved planner').count()).toBe(1);
    const handOff = await agent('booker', '/token', {
      grant_type: TE,
      subject_token_type: AT,
      subject_token: root,
      audience: API,
      scope: 'flights:book',
    });
    expect(handOff.status).toBe(200);
    await page.reload();
    const handOffNode = page.getByRole('region', { name: `booker → ${API}`, exact: true });
    expect(await handOffNode.getByRole('definition').allTextContents()).toEqual([
      'booker',
      'flights:book',
      API,
      expect.stringMatching(/^\d{4}-\d\d-\d\d \d\d:\d\d:\d\dZ$/),
      expect.stringMatching(/^active, /),
    ]);
    await shot(page, 'chains');
    await handOffNode.getByRole('button', { name: 'Revoke' }).click();
    expect(await page.getByRole('status').textContent()).toBe(
      'Revoked, with everything handed on from it.',
    );
    expect(
      await page
        .getByRole('region', { name: `booker → ${API}`, exact: true })
        .getByRole('button')
        .count(),
    ).toBe(0);
    expect(await rootNode.getByRole('button', { name: 'Revoke' }).count()).toBe(1);
    await shot(page, 'chains-revoked');
    const below = await agent('booker', '/token', {
      grant_type: TE,
      subject_token_type: AT,
      subject_token: handOff.body.access_token!,
      audience: API,
    });
    expect([below.status, below.body.error]).toEqual([400, 'invalid_request']);

    // Sign out: the session is gone, so the pages ask to sign in again.
    await page.getByRole('button', { name: 'Sign out' }).click();
    await page.getByRole('button', { name: 'Sign in' }).waitFor();
    await page.goto(`${broker.url}/console/approvals`);
    expect(await page.getByRole('heading', { level: 1 }).textContent()).toBe('Sign in');
    expect(blocked).toEqual([]);

    // An operator searches the ledger and opens the chain; the refused exchange is marked on its node.
    await page.goto(`${broker.url}/console/audit`);
    await page.getByLabel('Admin token').fill(ADMIN_TOKEN);
    await page.getByRole('button', { name: 'Sign in as operator' }).click();
    await page.getByLabel('Subject').fill('alice');
    await page.getByRole('button', { name: 'Search' }).click();
    const rows = page.getByRole('table').getByRole('row');
    expect(await rows.count()).toBe(3);
    await shot(page, 'audit-search');
    await page
      .getByRole('link', { name: `Open chain of ${claimsOf(root).jti!.slice(0, 8)}` })
      .click();
    const refusedNode = page.getByRole('region', { name: `booker → ${API}`, exact: true });
    expect(await refusedNode.locator('.refusal').textContent()).toMatch(
      /^Refused at .*: booker was told invalid_request: /,
    );
    await shot(page, 'audit-chain');
    await context.close();
  }, 60_000);
});
