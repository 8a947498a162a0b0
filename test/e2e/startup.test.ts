/**
 * Start-up as a user meets it: the demo policy by default, and a bad policy file or
 * environment value stopping the broker with `field: what is wrong` and exit code 1.
 */
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import net from 'node:net';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ROOT, startBrokerProcess } from './broker-process.js';

let dir: string;
beforeEach(() => {
  dir = mkdtempSync(path.join(tmpdir(), 'baton-start-'));
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

async function runMain(
  env: Record<string, string>,
): Promise<{ code: number | null; output: string }> {
  const child = spawn(process.execPath, ['--import', 'tsx', 'broker/main.ts'], {
    cwd: ROOT,
    env: { ...process.env, PORT: '0', BATON_DB: path.join(dir, 'baton.db'), ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  child.stdout.on('data', (b: Buffer) => (output += b.toString()));
  child.stderr.on('data', (b: Buffer) => (output += b.toString()));
  const [code] = (await once(child, 'exit')) as [number | null];
  return { code, output };
}

describe('start-up', () => {
  it('runs the demo policy when BATON_POLICY is unset, creating the database and printing the demo clients', async () => {
    const broker = await startBrokerProcess({ BATON_DB: path.join(dir, 'data', 'baton.db') });
    try {
      expect(existsSync(path.join(dir, 'data', 'baton.db'))).toBe(true);
      expect(broker.output()).toContain('trip-planner');
      expect(broker.output()).toContain('npx baton demo-token alice');
      const metadata = (await (
        await fetch(`${broker.url}/.well-known/oauth-authorization-server`)
      ).json()) as Record<string, unknown>;
      expect(metadata.issuer).toBe(broker.url);
    } finally {
      await broker.stop();
    }
  });

  it('refuses a policy file with a clear-text secret, naming the field, with exit code 1', async () => {
    const file = path.join(dir, 'policy.json');
    writeFileSync(
      file,
      JSON.stringify({
        clients: [{ client_id: 'a', client_secret: 'short', grant_types: ['client_credentials'] }],
      }),
    );
    const { code, output } = await runMain({ BATON_POLICY: file });
    expect(code).toBe(1);
    expect(output).toContain(
      'clients.0.client_secret: secrets are never stored in clear (and it is shorter than 32 characters)',
    );
    expect(output).not.toMatch(/\n\s+at /); // no stack trace
  });

  it('refuses an unknown key and an agent: audience naming no client at start, not at the first request', async () => {
    const file = path.join(dir, 'policy.json');
    const hash = 'a'.repeat(64);
    writeFileSync(
      file,
      JSON.stringify({
        max_delegation_dept: 3,
        clients: [
          {
            client_id: 'a',
            client_secret_sha256: hash,
            grant_types: ['client_credentials'],
            audiences: ['mail-api', 'agent:nobody'],
          },
        ],
      }),
    );
    const { code, output } = await runMain({ BATON_POLICY: file });
    expect(code).toBe(1);
    expect(output).toContain('max_delegation_dept');
    expect(output).toContain('clients.0.audiences.1: "agent:nobody" names no client in this file');
    expect(output).not.toContain('audiences.0');
  });

  it('explains a policy mistake in sentences, and a JSON syntax error by line and column', async () => {
    const file = path.join(dir, 'policy.json');
    writeFileSync(
      file,
      JSON.stringify(
        {
          tokens: { max_ttl_seconds: 99_999 },
          clients: [{ client_id: 'a', client_secret_sha256: 'a'.repeat(64) }],
        },
        null,
        2,
      ),
    );
    const wrong = await runMain({ BATON_POLICY: file });
    expect(wrong.code).toBe(1);
    expect(wrong.output).toContain(
      `${file} is not a valid policy:\ntokens.max_ttl_seconds: must be at most 86400\nclients.0.grant_types: is required\n`,
    );
    expect(wrong.output).not.toMatch(/Invalid input|Too big|expected .*, received/);

    writeFileSync(file, '{\n  "clients": [\n    { "client_id": "a", }\n  ]\n}\n');
    const broken = await runMain({ BATON_POLICY: file });
    expect(broken.code).toBe(1);
    expect(broken.output).toContain(
      `${file}: not valid JSON at line 3, column 25: unexpected "}" (JSON allows no trailing comma)`,
    );
  });

  it('refuses a bad environment value, naming the variable', async () => {
    const { code, output } = await runMain({ PORT: 'eighty' });
    expect(code).toBe(1);
    expect(output).toMatch(/PORT: /);
  });

  it('says the port is taken, with exit code 1, when another process holds it', async () => {
    const holder = net.createServer().listen(0, '127.0.0.1');
    await once(holder, 'listening');
    try {
      const { code, output } = await runMain({
        PORT: String((holder.address() as net.AddressInfo).port),
      });
      expect(code).toBe(1);
      expect(output).toContain(
        'Baton cannot start: the port is already in use (set PORT to another one)',
      );
    } finally {
      holder.close();
    }
  });
});
