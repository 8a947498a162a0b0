/**
 * `npm start` points people to the console: the banner names `/console`, and the real
 * process serves the sign-in page there, where the demo user signs in.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DEMO_USERS } from '../../broker/config/demo-policy.js';
import { startBrokerProcess, type BrokerProcess } from '../e2e/broker-process.js';
import { Browser, signIn } from './console-helpers.js';

let dir: string;
let broker: BrokerProcess;
beforeAll(async () => {
  dir = mkdtempSync(path.join(tmpdir(), 'baton-console-start-'));
  broker = await startBrokerProcess({ BATON_DB: path.join(dir, 'baton.db') });
});
afterAll(async () => {
  await broker?.stop();
  rmSync(dir, { recursive: true, force: true });
});

describe('the console at start-up', () => {
  it('is named in the banner, and the demo user signs in there', async () => {
    expect(broker.output()).toContain(`\n  console  ${broker.url}/console\n`);
    const browser = new Browser((p, init) =>
      fetch(`${broker.url}${p}`, { ...init, redirect: 'manual' }),
    );
    const res = await signIn(browser, 'alice', DEMO_USERS.alice);
    expect([res.status, res.headers.get('location')]).toEqual([303, '/console/approvals']);
    const page = await browser.get('/console/approvals');
    expect(page.status).toBe(200);
    expect(await page.text()).toContain('<h1>Approvals</h1>');
  });
});
