/**
 * The operator's CLI as a person runs it (issue 2 names each command): `new-client`,
 * `hash-password`, `audit` and `demo-token`, as real processes, including their error
 * paths (bad id, short password, unknown jti, unknown command).
 */
import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { createLocalJWKSet, decodeJwt, importJWK, jwtVerify, SignJWT, type JWK } from 'jose';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { parsePolicy } from '../../broker/config/policy.js';
import { verifyPassword } from '../../broker/config/password.js';
import { API, ISSUER, claimsOf, makeBroker, type TestBroker } from '../helpers.js';

const ROOT = path.resolve(import.meta.dirname, '../..');

function baton(
  args: string[],
  env: Record<string, string> = {},
  input?: string,
): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = execFile(
      process.execPath,
      ['--import', 'tsx', 'broker/cli.ts', ...args],
      { cwd: ROOT, env: { ...process.env, BATON_POLICY: '', ...env } },
      (error, stdout, stderr) =>
        resolve({ code: error === null ? 0 : Number(error.code), stdout, stderr }),
    );
    child.stdin!.end(input ?? '');
  });
}

describe('npx baton new-client', () => {
  it('prints a fresh secret once and a policy entry that holds only its hash and validates', async () => {
    const { code, stdout } = await baton([
      'new-client',
      'my-agent',
      '--scope',
      'a:read',
      '--audience',
      'https://api.example',
    ]);
    expect(code).toBe(0);
    const secret = /^client secret: (\S+)$/m.exec(stdout)?.[1];
    expect(secret).toMatch(/^[A-Za-z0-9_-]{43}$/);
    const entry = JSON.parse(stdout.slice(stdout.indexOf('{'))) as Record<string, unknown>;
    expect(entry).toEqual({
      client_id: 'my-agent',
      client_secret_sha256: createHash('sha256').update(secret!).digest('hex'),
      token_endpoint_auth_method: 'client_secret_basic',
      grant_types: ['urn:ietf:params:oauth:grant-type:token-exchange', 'client_credentials'],
      scopes: ['a:read'],
      audiences: ['https://api.example'],
    });
    expect(parsePolicy({ clients: [entry] }, ISSUER).clients.get('my-agent')?.scopes).toEqual([
      'a:read',
    ]);
  });

  it('refuses a client_id that policy would refuse, with exit code 1', async () => {
    const { code, stdout, stderr } = await baton(['new-client', 'bad id!']);
    expect({ code, stdout }).toEqual({ code: 1, stdout: '' });
    expect(stderr).toBe(
      'baton: new-client: client_id: must be 1-128 characters of A-Z a-z 0-9 . _ ~ -\n',
    );
  });
});

describe('npx baton new-client checks with the policy’s own rules', () => {
  let dir: string;
  beforeEach(() => {
    dir = mkdtempSync(path.join(tmpdir(), 'baton-newclient-'));
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it('refuses an audience the broker would refuse at start, with the same sentence', async () => {
    const { code, stdout, stderr } = await baton([
      'new-client',
      'mailer',
      '--audience',
      'mail-api',
      '--audience',
      'mail api',
    ]);
    expect({ code, stdout, stderr }).toEqual({
      code: 1,
      stdout: '',
      stderr:
        'baton: new-client: --audience 2: "mail api" must not contain whitespace or control characters\n',
    });
  });

  it('refuses a grant Baton does not offer, listing those it does', async () => {
    const { code, stdout, stderr } = await baton(['new-client', 'mailer', '--grant', 'password']);
    expect({ code, stdout, stderr }).toEqual({
      code: 1,
      stdout: '',
      stderr:
        'baton: new-client: --grant 1: must be one of: urn:ietf:params:oauth:grant-type:token-exchange, urn:openid:params:grant-type:ciba, client_credentials (or token-exchange, ciba)\n',
    });
  });

  it('checks agent: audiences against the clients of the policy file in BATON_POLICY', async () => {
    const alone = await baton(['new-client', 'mailer', '--audience', 'agent:booker']);
    expect({ code: alone.code, stderr: alone.stderr }).toEqual({
      code: 1,
      stderr:
        'baton: new-client: --audience 1: "agent:booker" names no client in this file (set BATON_POLICY to the policy file so agent: audiences are checked against its clients)\n',
    });
    const file = path.join(dir, 'policy.json');
    writeFileSync(
      file,
      JSON.stringify({
        clients: [
          {
            client_id: 'booker',
            client_secret_sha256: 'a'.repeat(64),
            grant_types: ['client_credentials'],
          },
        ],
      }),
    );
    const withFile = await baton(
      [
        'new-client',
        'mailer',
        '--audience',
        'agent:booker',
        '--audience',
        'mail-api',
        '--grant',
        'ciba',
      ],
      { BATON_POLICY: file },
    );
    expect(withFile.code).toBe(0);
    expect(JSON.parse(withFile.stdout.slice(withFile.stdout.indexOf('{')))).toMatchObject({
      audiences: ['agent:booker', 'mail-api'],
      grant_types: ['urn:openid:params:grant-type:ciba'],
    });
    const taken = await baton(['new-client', 'booker'], { BATON_POLICY: file });
    expect({ code: taken.code, stderr: taken.stderr }).toEqual({
      code: 1,
      stderr: 'baton: new-client: client_id: duplicate client_id "booker"\n',
    });
  });

  it('makes a private_key_jwt key pair: the private JWK printed once, the policy entry with only the public key', async () => {
    const { code, stdout } = await baton([
      'new-client',
      'signer',
      '--method',
      'private_key_jwt',
      '--scope',
      'a:read',
      '--audience',
      'mail-api',
    ]);
    expect(code).toBe(0);
    const [, privateLine] = /^private key \(JWK\): (\{.*\})$/m.exec(stdout) ?? [];
    const privateJwk = JSON.parse(privateLine!) as JWK;
    expect(privateJwk).toMatchObject({
      kty: 'EC',
      crv: 'P-256',
      alg: 'ES256',
      use: 'sig',
      d: expect.any(String),
    });
    const entry = JSON.parse(stdout.slice(stdout.indexOf('{\n'))) as { jwks: { keys: JWK[] } };
    const { d: _d, ...publicJwk } = privateJwk;
    expect(entry).toEqual({
      client_id: 'signer',
      token_endpoint_auth_method: 'private_key_jwt',
      jwks: { keys: [publicJwk] },
      grant_types: ['urn:ietf:params:oauth:grant-type:token-exchange', 'client_credentials'],
      scopes: ['a:read'],
      audiences: ['mail-api'],
    });
    expect(parsePolicy({ clients: [entry] }, ISSUER).clients.get('signer')?.authMethod).toBe(
      'private_key_jwt',
    );
    // The pair matches: an assertion signed with the private key verifies with the published key.
    const assertion = await new SignJWT({})
      .setProtectedHeader({ alg: 'ES256', kid: privateJwk.kid! })
      .setIssuer('signer')
      .sign(await importJWK(privateJwk));
    expect((await jwtVerify(assertion, createLocalJWKSet(entry.jwks))).payload.iss).toBe('signer');

    // And the broker takes the entry: a client assertion (RFC 7523) signed with the key gets a token.
    const b = await makeBroker({
      policy: (p) => ({ ...p, clients: [...p.clients, entry as never] }),
    });
    try {
      const now = b.clock.now;
      const clientAssertion = await new SignJWT({ jti: 'one-use' })
        .setProtectedHeader({ alg: 'ES256', kid: privateJwk.kid! })
        .setIssuer('signer')
        .setSubject('signer')
        .setAudience(ISSUER)
        .setIssuedAt(now)
        .setExpirationTime(now + 60)
        .sign(await importJWK(privateJwk));
      const res = await b.post('/token', {
        grant_type: 'client_credentials',
        audience: 'mail-api',
        client_assertion_type: 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer',
        client_assertion: clientAssertion,
      });
      expect(res.status).toBe(200);
      const token = ((await res.json()) as { access_token: string }).access_token;
      expect(claimsOf(token)).toMatchObject({ sub: 'signer', aud: 'mail-api', scope: 'a:read' });
    } finally {
      await b.close();
    }
  });

  it('writes the private key to a 0600 file with --key-out, never to stdout, and never over an existing file', async () => {
    const keyFile = path.join(dir, 'signer.jwk.json');
    const { code, stdout } = await baton([
      'new-client',
      'signer',
      '--method',
      'private_key_jwt',
      '--key-out',
      keyFile,
    ]);
    expect(code).toBe(0);
    expect(stdout).not.toContain('"d"');
    expect(stdout).toContain(`private key (JWK) written to ${keyFile}`);
    expect(statSync(keyFile).mode & 0o777).toBe(0o600);
    const privateJwk = JSON.parse(readFileSync(keyFile, 'utf8')) as JWK;
    const entry = JSON.parse(stdout.slice(stdout.indexOf('{\n'))) as { jwks: { keys: JWK[] } };
    expect(entry.jwks.keys[0]!.x).toBe(privateJwk.x);
    const again = await baton([
      'new-client',
      'signer',
      '--method',
      'private_key_jwt',
      '--key-out',
      keyFile,
    ]);
    expect({ code: again.code, stdout: again.stdout, stderr: again.stderr }).toEqual({
      code: 1,
      stdout: '',
      stderr: `baton: ${keyFile} already exists; new-client never overwrites a key\n`,
    });
  });
});

describe('npx baton hash-password', () => {
  it('prints a scrypt hash of the password read from stdin', async () => {
    const { code, stdout } = await baton(['hash-password'], {}, 'correct horse battery staple\n');
    expect(code).toBe(0);
    const hash = stdout.trim();
    expect(await verifyPassword('correct horse battery staple', hash)).toBe(true);
    expect(await verifyPassword('correct horse battery stable', hash)).toBe(false);
  });

  it('refuses a password shorter than 8 characters', async () => {
    const { code, stdout, stderr } = await baton(['hash-password'], {}, 'short\n');
    expect({ code, stdout, stderr }).toEqual({
      code: 1,
      stdout: '',
      stderr: 'baton: the password must be at least 8 characters\n',
    });
  });
});

describe('npx baton audit', () => {
  let b: TestBroker;
  let handoffJti: string;
  beforeEach(async () => {
    b = await makeBroker();
    const alice = await b.idp.sign({ sub: 'alice' });
    const handoff = (
      await b.exchange('planner', {
        subject_token: alice,
        audience: 'agent:booker',
        scope: 'flights:book',
      })
    ).body.access_token;
    handoffJti = claimsOf(handoff).jti!;
    await b.exchange('booker', {
      subject_token: String(handoff),
      audience: API,
      scope: 'trips:read',
    }); // refused
    await b.exchange('booker', { subject_token: String(handoff), audience: API });
  });
  afterEach(async () => {
    await b.close();
  });

  it('prints the tree around a token from the ledger, with the refusal beside it', async () => {
    const { code, stdout } = await baton(['audit', handoffJti], {
      BATON_DB: path.join(b.dir, 'baton.db'),
    });
    expect(code).toBe(0);
    const lines = stdout.split('\n');
    expect(lines[0]).toBe('planner acting for alice  [token-exchange]  active   ◀ this token');
    expect(lines[1]).toBe(`  jti ${handoffJti}  client planner`);
    expect(stdout).toContain('✗ refused');
    expect(stdout).toContain(
      'to booker: invalid_scope (scope not allowed: trips:read (may ask for: flights:book))',
    );
    expect(stdout).toMatch(
      /└─ booker acting for alice, via planner {2}\[token-exchange\] {2}active/,
    );
    expect(stdout).toContain(
      '1 token(s) from the root to this one, 1 derived from it, 1 refusal(s).',
    );
  });

  it('prints the audit API JSON with --json', async () => {
    const { code, stdout } = await baton(['audit', handoffJti, '--json'], {
      BATON_DB: path.join(b.dir, 'baton.db'),
    });
    expect(code).toBe(0);
    const report = JSON.parse(stdout) as {
      chain: Array<{ jti: string }>;
      descendants: { children: unknown[] };
      refusals: unknown[];
    };
    expect(report.chain.map((t) => t.jti)).toEqual([handoffJti]);
    expect(report.descendants.children).toHaveLength(1);
    expect(report.refusals).toHaveLength(1);
  });

  it('says so, with exit code 1, for a jti the ledger does not hold', async () => {
    const db = path.join(b.dir, 'baton.db');
    const { code, stdout, stderr } = await baton(['audit', 'no-such-jti'], { BATON_DB: db });
    expect({ code, stdout, stderr }).toEqual({
      code: 1,
      stdout: '',
      stderr: `ledger: ${db}\nNo token no-such-jti in the ledger at ${db}\n`,
    });
  });

  it('says on stderr which ledger it reads, as an absolute path, keeping stdout for the report', async () => {
    const { code, stdout, stderr } = await baton(['audit', handoffJti, '--json'], {
      BATON_DB: path.relative(ROOT, path.join(b.dir, 'baton.db')),
    });
    expect(code).toBe(0);
    expect(stderr).toBe(`ledger: ${path.join(b.dir, 'baton.db')}\n`);
    expect(JSON.parse(stdout)).toMatchObject({ chain: [{ jti: handoffJti }] });
  });
});

describe('the CLI never opens a ledger that is not there', () => {
  let dir: string;
  beforeEach(() => {
    dir = mkdtempSync(path.join(tmpdir(), 'baton-noledger-'));
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  for (const args of [
    ['audit', 'some-jti'],
    ['approvals'],
    ['approve', 'some-id'],
    ['deny', 'some-id'],
  ]) {
    it(`refuses a missing database for ${args[0]}, naming the file, and creates nothing`, async () => {
      const db = path.join(dir, 'typo', 'baton.db');
      const { code, stdout, stderr } = await baton(args, { BATON_DB: db });
      expect({ code, stdout, stderr }).toEqual({
        code: 1,
        stdout: '',
        stderr: `baton: no ledger at ${db} (BATON_DB): point BATON_DB at the broker's database, or start the broker once (npm start) to create it\n`,
      });
      expect(existsSync(path.join(dir, 'typo'))).toBe(false);
    });
  }
});

describe('npx baton demo-token and unknown commands', () => {
  let b: TestBroker;
  beforeEach(async () => {
    b = await makeBroker();
  });
  afterEach(async () => {
    await b.close();
  });

  it('mints a person token from the demo identity provider for the configured issuer', async () => {
    const { code, stdout } = await baton(['demo-token', 'alice', '--scope', 'flights:book'], {
      BATON_DB: path.join(b.dir, 'demo.db'),
      BATON_ISSUER: 'http://127.0.0.1:8787',
    });
    expect(code).toBe(0);
    expect(decodeJwt(stdout.trim())).toMatchObject({
      iss: 'https://idp.demo.baton.invalid',
      sub: 'alice',
      aud: 'http://127.0.0.1:8787',
      scope: 'flights:book',
    });
  });

  it('answers an unknown command with the usage and exit code 1', async () => {
    const { code, stderr } = await baton(['frobnicate']);
    expect(code).toBe(1);
    expect(stderr).toMatch(/^Unknown command "frobnicate"\.\nUsage: baton <command>/);
  });
});
