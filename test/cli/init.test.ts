/**
 * `npx baton init [file]` (issue 9, "an operator's first hour"): a starter policy with one
 * person, one agent and an identity provider to fill in, run as a real process. The
 * file loads as written; once the IdP is filled in, a broker started on it (`startBroker`,
 * what `npm start` runs, on a real port and SQLite file) exchanges that IdP's token for
 * the agent. The password and secret are shown once; the file holds only their hashes.
 */
import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { decodeJwt, exportJWK, generateKeyPair, SignJWT } from 'jose';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { verifyPassword } from '../../broker/config/password.js';
import { loadPolicyFile } from '../../broker/config/policy.js';
import { startBroker } from '../../broker/main.js';

const ROOT = path.resolve(import.meta.dirname, '../..');
const TE = 'urn:ietf:params:oauth:grant-type:token-exchange';
const AT = 'urn:ietf:params:oauth:token-type:access_token';

function baton(
  args: string[],
  cwd = ROOT,
): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      [path.join(ROOT, 'bin/baton.js'), ...args],
      { cwd, env: { ...process.env, BATON_POLICY: '', BATON_ISSUER: '' } },
      (error, stdout, stderr) =>
        resolve({ code: error === null ? 0 : Number(error.code), stdout, stderr }),
    );
  });
}

const shown = (stdout: string, label: string) =>
  new RegExp(`^${label}: +(\\S+)$`, 'm').exec(stdout)?.[1];

let dir: string;
beforeEach(() => {
  dir = mkdtempSync(path.join(tmpdir(), 'baton-init-'));
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

describe('npx baton init', () => {
  it('writes a 0600 starter policy that loads, holding only hashes of the password and secret it shows once', async () => {
    const file = path.join(dir, 'policy.json');
    const { code, stdout, stderr } = await baton([
      'init',
      file,
      '--user',
      'alice',
      '--agent',
      'mailer',
    ]);
    expect({ code, stderr }).toEqual({ code: 0, stderr: '' });
    expect(statSync(file).mode & 0o777).toBe(0o600);
    const password = shown(stdout, 'password')!;
    const secret = shown(stdout, 'client secret')!;
    expect(password).toMatch(/^[A-Za-z0-9_-]{24}$/);
    expect(secret).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(stdout).toContain(`BATON_POLICY=${file} npm start`);

    const text = readFileSync(file, 'utf8');
    expect(text).not.toContain(password);
    expect(text).not.toContain(secret);
    const json = JSON.parse(text) as {
      $comment: string[];
      trusted_issuers: Array<Record<string, unknown>>;
      users: Array<{ username: string; password_hash: string }>;
      clients: Array<Record<string, unknown>>;
    };
    expect(json.$comment.join('\n')).toContain('$comment');
    expect((json.trusted_issuers[0]!.$comment as string[])[0]).toMatch(
      /^FILL IN your identity provider/,
    );
    expect(json.users[0]!.username).toBe('alice');
    expect(await verifyPassword(password, json.users[0]!.password_hash)).toBe(true);
    expect(json.clients[0]).toMatchObject({
      client_id: 'mailer',
      client_secret_sha256: createHash('sha256').update(secret).digest('hex'),
      audiences: ['example-api'],
    });

    const policy = loadPolicyFile(file, 'http://127.0.0.1:8787');
    expect([...policy.users.keys()]).toEqual(['alice']);
    expect([...policy.clients.keys()]).toEqual(['mailer']);
    // SPEC §8: MCP clients accepted, asking for what the starter agent holds.
    expect(policy.mcpClients).toEqual({
      accept: 'all',
      dynamicRegistration: true,
      scopes: ['example:read', 'example:write'],
      audiences: ['example-api'],
      consentTtlSeconds: 2_592_000,
    });
  });

  it('never overwrites an existing file', async () => {
    const file = path.join(dir, 'policy.json');
    writeFileSync(file, '{"mine": true}\n');
    const { code, stdout, stderr } = await baton(['init', file]);
    expect({ code, stdout, stderr }).toEqual({
      code: 1,
      stdout: '',
      stderr: `baton: ${file} already exists; init never overwrites a policy (give another file name)\n`,
    });
    expect(readFileSync(file, 'utf8')).toBe('{"mine": true}\n');
  });

  it('refuses a username or client_id the policy would refuse, with the policy’s sentence', async () => {
    const file = path.join(dir, 'policy.json');
    const { code, stderr } = await baton(['init', file, '--user', 'alice smith']);
    expect({ code, stderr }).toEqual({
      code: 1,
      stderr:
        'baton: init: users.0.username: must be 1-128 characters of ASCII letters, digits and . _ @ + -, starting with a letter or digit\n',
    });
    expect(() => statSync(file)).toThrow();
  });

  it('writes baton-policy.json in the folder it runs in when no file is named', async () => {
    const { code, stdout } = await baton(['init'], dir);
    expect(code).toBe(0);
    expect(stdout).toContain(`Wrote ${path.join(dir, 'baton-policy.json')}`);
    expect(statSync(path.join(dir, 'baton-policy.json')).isFile()).toBe(true);
  });

  it('once the IdP is filled in, starts a broker that exchanges that IdP’s token for the agent', async () => {
    const file = path.join(dir, 'policy.json');
    const { stdout } = await baton(['init', file, '--agent', 'mailer']);
    const secret = shown(stdout, 'client secret')!;

    // The operator fills in trusted_issuers[0]: here a real key pair stands in for the IdP.
    const { privateKey, publicKey } = await generateKeyPair('ES256');
    const json = JSON.parse(readFileSync(file, 'utf8')) as {
      trusted_issuers: Array<Record<string, unknown>>;
    };
    const audience = json.trusted_issuers[0]!.audience as string;
    json.trusted_issuers[0] = {
      ...json.trusted_issuers[0],
      issuer: 'https://idp.test',
      jwks_uri: undefined,
      jwks: { keys: [{ ...(await exportJWK(publicKey)), kid: 'k1', alg: 'ES256' }] },
    };
    writeFileSync(file, JSON.stringify(json, null, 2));

    const broker = await startBroker({
      PORT: '0',
      HOST: '127.0.0.1',
      BATON_ISSUER: audience,
      BATON_DB: path.join(dir, 'baton.db'),
      BATON_POLICY: file,
      BATON_LOG_LEVEL: 'silent',
    });
    try {
      const now = Math.floor(Date.now() / 1000);
      const alice = await new SignJWT({ scope: 'example:read example:write' })
        .setProtectedHeader({ alg: 'ES256', kid: 'k1' })
        .setIssuer('https://idp.test')
        .setSubject('alice')
        .setAudience(audience)
        .setIssuedAt(now)
        .setExpirationTime(now + 300)
        .sign(privateKey);
      const res = await fetch(`${broker.url}/token`, {
        method: 'POST',
        headers: { authorization: `Basic ${Buffer.from(`mailer:${secret}`).toString('base64')}` },
        body: new URLSearchParams({
          grant_type: TE,
          subject_token_type: AT,
          subject_token: alice,
          audience: 'example-api',
          scope: 'example:read',
        }),
      });
      const body = (await res.json()) as { access_token: string };
      expect(res.status).toBe(200);
      expect(decodeJwt(body.access_token)).toMatchObject({
        sub: 'alice',
        aud: 'example-api',
        scope: 'example:read',
        act: { sub: 'mailer' },
      });
    } finally {
      await broker.close();
    }
  });
});
