/**
 * `npm run demo` is part of the product: run it as a user would and hold it to its word
 * (exit code 0 only when every step behaved as shown).
 */
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { describe, expect, it } from 'vitest';
import { ROOT } from './broker-process.js';

describe('npm run demo', () => {
  it('tells the whole story and exits 0', async () => {
    const child = spawn('npm', ['run', 'demo'], {
      cwd: ROOT,
      env: { ...process.env, NO_COLOR: '1' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let output = '';
    child.stdout.on('data', (b: Buffer) => (output += b.toString()));
    child.stderr.on('data', (b: Buffer) => (output += b.toString()));
    const [code] = (await once(child, 'exit')) as [number | null];
    expect(output).toMatch(
      /agent {5}trip-planner\n\s+user {6}alice\n\s+scope {5}trips:read flights:read flights:book/,
    );
    expect(output).toContain('Approved by alice: trip-planner acting for alice.');
    expect(output).toContain('trip-planner acting for alice  [ciba]');
    expect(output).toContain('act: {"sub":"flight-booker","act":{"sub":"trip-planner"}}');
    expect(output).toMatch(
      /POST \/bookings → 201 \{"booking":"BA-[0-9A-F]{6}","for":"alice","by":\["flight-booker","trip-planner"\]\}/,
    );
    expect(output).toContain(
      'invalid_scope (scope not allowed: trips:book (may ask for: flights:read flights:book))',
    );
    expect(output).toContain('flight-booker acting for alice, via trip-planner');
    expect(output).toContain('the subject token has been revoked');
    expect(output).not.toMatch(/^ {3}✗ /m); // no failed check (refusals in the audit tree are deeper)
    expect(output).toContain('Every step behaved as shown.');
    expect(code).toBe(0);
  }, 120_000);
});
