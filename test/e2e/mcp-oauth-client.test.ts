/**
 * SPEC §8 end to end, as a person adding Baton to an MCP client meets it: the MCP SDK's own
 * OAuth client (`StreamableHTTPClientTransport` with an `OAuthClientProvider`, `auth()`
 * inside it, unmodified) knows only `<broker>/mcp` of a real `npm start` broker. It
 * follows the 401 to the metadata, identifies itself, and its `redirectToAuthorization` is
 * driven through sign-in and the consent page in Debian's Chromium; then it lists and
 * calls the tools. Twice: once with a Client ID Metadata Document the test serves over
 * https (a certificate made with openssl, trusted by the broker through
 * NODE_EXTRA_CA_CERTS; loopback allowed by the development switch), once through dynamic
 * registration. Then the person revokes the consent on the console's Chains page and
 * the client's next call fails. Last, a client that registers for a secret uses it at
 * /token and, once its access token is refused, refreshes on its own and carries on; and a
 * consent outlives a broker restart on the same database. No Chromium: the test fails, it
 * does not skip.
 */
import { randomUUID } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import https from 'node:https';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import type { OAuthClientProvider } from '@modelcontextprotocol/sdk/client/auth.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import type {
  OAuthClientInformationMixed,
  OAuthClientMetadata,
  OAuthTokens,
} from '@modelcontextprotocol/sdk/shared/auth.js';
import { decodeJwt } from 'jose';
import { chromium, type Browser, type BrowserContext } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { selfSignedCertificate } from '../support/self-signed.js';
import { consolePolicy, PASSWORDS, userHashes } from '../console/console-helpers.js';
import { API, makeIdp, testPolicy } from '../helpers.js';
import { freePort, startBrokerProcess, type BrokerProcess } from './broker-process.js';

const CHROMIUM = '/usr/bin/chromium';

let dir: string;
let broker: BrokerProcess;
/** How the broker was started, so a test can restart it the same way. */
let brokerEnv: Record<string, string>;
let brokerPort: number;
let mcpUrl: string;
let browser: Browser;
let callback: Server;
let callbackUrl: string;
let metadataServer: https.Server;
let metadataUrl: string;

/** What a desktop MCP client keeps between runs, in memory; the redirect is the test's. */
class TestProvider implements OAuthClientProvider {
  #client: OAuthClientInformationMixed | undefined;
  #tokens: OAuthTokens | undefined;
  #verifier = '';
  /** The authorization URLs the SDK asked to open, oldest first. */
  readonly redirects: URL[] = [];

  constructor(
    readonly redirectUrl: string,
    readonly clientMetadataUrl?: string,
    /** What it registers for: `none` (a public client) or a secret. */
    readonly authMethod: 'none' | 'client_secret_basic' | 'client_secret_post' = 'none',
  ) {}

  get clientMetadata(): OAuthClientMetadata {
    return {
      client_name: 'SDK test client',
      redirect_uris: [this.redirectUrl],
      grant_types: ['authorization_code', 'refresh_token'],
      response_types: ['code'],
      token_endpoint_auth_method: this.authMethod,
    };
  }
  clientInformation() {
    return this.#client;
  }
  saveClientInformation(info: OAuthClientInformationMixed) {
    this.#client = info;
  }
  tokens() {
    return this.#tokens;
  }
  saveTokens(tokens: OAuthTokens) {
    this.#tokens = tokens;
  }
  redirectToAuthorization(url: URL) {
    this.redirects.push(url);
  }
  saveCodeVerifier(verifier: string) {
    this.#verifier = verifier;
  }
  codeVerifier() {
    return this.#verifier;
  }
  /** A fresh `state` for each authorization request, as desktop clients send. */
  state() {
    return randomUUID();
  }
  /** The SDK calls this when the broker refuses what it holds (invalid_grant: the tokens). */
  invalidateCredentials(scope: 'all' | 'client' | 'tokens' | 'verifier' | 'discovery') {
    this.invalidated.push(scope);
    if (scope === 'all' || scope === 'tokens') this.#tokens = undefined;
    if (scope === 'all' || scope === 'client') this.#client = undefined;
  }
  readonly invalidated: string[] = [];
}

beforeAll(async () => {
  if (!existsSync(CHROMIUM))
    throw new Error(
      `No Chromium at ${CHROMIUM}: install Debian's chromium (apt-get install -y chromium); .ci/run does`,
    );
  dir = mkdtempSync(path.join(tmpdir(), 'baton-mcp-oauth-'));

  callback = createServer((_req, res) => {
    res.writeHead(200, { 'content-type': 'text/plain' });
    res.end('Signed in. You can close this window.');
  });
  await new Promise<void>((resolve) => callback.listen(0, '127.0.0.1', resolve));
  callbackUrl = `http://127.0.0.1:${(callback.address() as AddressInfo).port}/callback`;

  // The client's metadata document, over https with a certificate made here.
  const { key, cert } = selfSignedCertificate(dir);
  metadataServer = https.createServer(
    { key: readFileSync(key), cert: readFileSync(cert) },
    (_req, res) => {
      res.writeHead(200, { 'content-type': 'application/json', 'cache-control': 'max-age=300' });
      res.end(
        JSON.stringify({
          client_id: metadataUrl,
          client_name: 'SDK client by metadata document',
          redirect_uris: [callbackUrl],
          grant_types: ['authorization_code', 'refresh_token'],
          response_types: ['code'],
          token_endpoint_auth_method: 'none',
        }),
      );
    },
  );
  await new Promise<void>((resolve) => metadataServer.listen(0, '127.0.0.1', resolve));
  metadataUrl = `https://127.0.0.1:${(metadataServer.address() as AddressInfo).port}/client.json`;

  const idp = await makeIdp(() => Math.floor(Date.now() / 1000));
  const policy = consolePolicy(await userHashes())(testPolicy(idp.jwk));
  const policyFile = path.join(dir, 'policy.json');
  writeFileSync(
    policyFile,
    JSON.stringify({
      ...policy,
      development: { allow_insecure_key_urls: true },
      mcp_clients: { accept: 'all', scopes: ['trips:read', 'trips:book'], audiences: [API] },
    }),
  );
  brokerPort = await freePort();
  brokerEnv = {
    BATON_DB: path.join(dir, 'baton.db'),
    BATON_POLICY: policyFile,
    BATON_LOG_LEVEL: 'warn',
    NODE_EXTRA_CA_CERTS: cert,
  };
  broker = await startBrokerProcess(brokerEnv, brokerPort);
  mcpUrl = `${broker.url}/mcp`;
  browser = await chromium.launch({
    executablePath: CHROMIUM,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--no-first-run', '--disable-sync'],
  });
}, 90_000);

afterAll(async () => {
  await browser?.close();
  await broker?.stop();
  callback?.closeAllConnections();
  await new Promise<void>((resolve) => (callback ? callback.close(() => resolve()) : resolve()));
  metadataServer?.closeAllConnections();
  await new Promise<void>((resolve) =>
    metadataServer ? metadataServer.close(() => resolve()) : resolve(),
  );
  if (dir) rmSync(dir, { recursive: true, force: true });
});

/** The person's part: open what the SDK asked for, sign in if needed, Allow; the code. */
async function consentInBrowser(context: BrowserContext, authorization: URL): Promise<string> {
  const page = await context.newPage();
  await page.goto(authorization.href);
  if (await page.getByLabel('Username').isVisible()) {
    await page.getByLabel('Username').fill('alice');
    await page.getByLabel('Password').fill(PASSWORDS.alice);
    await page.getByRole('button', { name: 'Sign in' }).click();
  }
  await page.getByRole('button', { name: 'Allow' }).click();
  await page.waitForURL((u) => u.href.startsWith(callbackUrl));
  const landed = new URL(page.url());
  await page.close();
  expect(landed.searchParams.get('iss')).toBe(broker.url);
  expect(authorization.searchParams.get('state')).toMatch(/^[0-9a-f-]{36}$/);
  expect(landed.searchParams.get('state')).toBe(authorization.searchParams.get('state'));
  const code = landed.searchParams.get('code');
  expect(code).toMatch(/^bac_/);
  return code!;
}

/** Connects the way an MCP client does: 401, OAuth in the browser, finishAuth, connect again. */
async function connectWithConsent(
  provider: TestProvider,
  context: BrowserContext,
): Promise<Client> {
  const first = new StreamableHTTPClientTransport(new URL(mcpUrl), { authProvider: provider });
  const refused = new Client({ name: 'sdk-oauth-test', version: '1.0.0' });
  await expect(refused.connect(first)).rejects.toThrow(/Unauthorized/i);
  expect(provider.redirects).toHaveLength(1);
  const authorization = provider.redirects[0]!;
  expect(authorization.origin + authorization.pathname).toBe(`${broker.url}/authorize`);
  expect(authorization.searchParams.get('code_challenge_method')).toBe('S256');
  expect(authorization.searchParams.get('resource')).toBe(mcpUrl);

  await first.finishAuth(await consentInBrowser(context, authorization));
  const tokens = provider.tokens()!;
  expect(tokens.refresh_token).toMatch(/^brt_/);
  const claims = decodeJwt(tokens.access_token);
  expect(claims.sub).toBe('alice');
  expect(claims.aud).toBe(mcpUrl);

  const client = new Client({ name: 'sdk-oauth-test', version: '1.0.0' });
  await client.connect(
    new StreamableHTTPClientTransport(new URL(mcpUrl), { authProvider: provider }),
  );
  return client;
}

async function useTools(client: Client, clientId: string): Promise<string> {
  const { tools } = await client.listTools();
  expect(tools.map((t) => t.name)).toEqual(
    expect.arrayContaining(['get_task_token', 'inspect_token', 'audit_chain', 'revoke_token']),
  );
  const task = await client.callTool({
    name: 'get_task_token',
    arguments: { audience: API, scope: 'trips:read' },
  });
  expect(task.isError).not.toBe(true);
  const issued = task.structuredContent as { access_token: string; jti: string };
  const claims = decodeJwt(issued.access_token);
  expect(claims).toMatchObject({ sub: 'alice', aud: API, scope: 'trips:read' });
  expect((claims.act as { sub: string }).sub).toBe(clientId);
  // The model's text names the token by its jti, never the token itself.
  expect(JSON.stringify(task.content)).not.toContain(issued.access_token);
  const inspected = await client.callTool({
    name: 'inspect_token',
    arguments: { jti: issued.jti },
  });
  expect(inspected.structuredContent).toMatchObject({ active: true, sub: 'alice' });
  return issued.jti;
}

/** The same token with a signature the broker never made: refused at /mcp like an expired one. */
function forged(accessToken: string): string {
  const [header, payload] = accessToken.split('.');
  return `${header}.${payload}.${'A'.repeat(86)}`;
}

describe('the MCP SDK OAuth client against a broker process', () => {
  it('identifies by a Client ID Metadata Document, gets alice’s consent in Chromium, and uses the tools', async () => {
    const context = await browser.newContext();
    try {
      const provider = new TestProvider(callbackUrl, metadataUrl);
      const client = await connectWithConsent(provider, context);
      expect(provider.clientInformation()?.client_id).toBe(metadataUrl);
      expect(provider.redirects[0]!.searchParams.get('client_id')).toBe(metadataUrl);
      await useTools(client, metadataUrl);
      await client.close();
    } finally {
      await context.close();
    }
  }, 60_000);

  it('registers dynamically, uses the tools, and loses access once alice revokes the consent in the console', async () => {
    const context = await browser.newContext();
    try {
      const provider = new TestProvider(callbackUrl);
      const client = await connectWithConsent(provider, context);
      const clientId = provider.clientInformation()!.client_id;
      expect(clientId).toMatch(/^mcp_/);
      await useTools(client, clientId);

      // Alice (still signed in in this browser) revokes the consent on her Chains page.
      const page = await context.newPage();
      await page.goto(`${broker.url}/console/chains`);
      const root = page.getByRole('region', { name: `${clientId} → ${mcpUrl}`, exact: true });
      await root.getByRole('button', { name: 'Revoke' }).click();
      expect(await page.getByRole('status').textContent()).toBe(
        'Revoked, with everything handed on from it.',
      );
      await page.close();

      const revokedAccess = provider.tokens()!.access_token;
      // The next call is refused; the SDK's refresh is refused too (invalid_grant), so it
      // drops its tokens and asks for consent again.
      await expect(
        client.callTool({ name: 'get_task_token', arguments: { audience: API } }),
      ).rejects.toThrow(/Unauthorized/i);
      expect(provider.invalidated).toContain('tokens');
      expect(provider.tokens()).toBeUndefined();
      expect(provider.redirects).toHaveLength(2);
      const token = await fetch(mcpUrl, {
        method: 'POST',
        headers: {
          authorization: `Bearer ${revokedAccess}`,
          'content-type': 'application/json',
          accept: 'application/json, text/event-stream',
        },
        body: JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'tools/list' }),
      });
      expect(token.status).toBe(401);
      await client.close().catch(() => undefined);
    } finally {
      await context.close();
    }
  }, 60_000);
  it('registers for a client secret, signs in with it at /token, and refreshes on its own once its access token is refused', async () => {
    const context = await browser.newContext();
    try {
      const provider = new TestProvider(callbackUrl, undefined, 'client_secret_basic');
      const client = await connectWithConsent(provider, context);
      const info = provider.clientInformation()!;
      expect(info.client_id).toMatch(/^mcp_/);
      expect(info.client_secret).toEqual(expect.any(String));
      const before = provider.tokens()!;

      // Its refresh token without its secret is refused: the secret is what /token checks.
      const bare = await fetch(`${broker.url}/token`, {
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
        body: new URLSearchParams({
          grant_type: 'refresh_token',
          refresh_token: before.refresh_token!,
          client_id: info.client_id,
          resource: mcpUrl,
        }),
      });
      expect(bare.status).toBe(401);
      expect(((await bare.json()) as { error: string }).error).toBe('invalid_client');

      // The broker stops accepting the access token (as when it expires): the SDK's next call
      // gets 401, refreshes with its secret and `resource`, and retries, with no new consent.
      provider.saveTokens({ ...before, access_token: forged(before.access_token) });
      await useTools(client, info.client_id);
      const after = provider.tokens()!;
      expect(provider.redirects).toHaveLength(1);
      expect(provider.invalidated).toEqual([]);
      expect(after.refresh_token).toMatch(/^brt_/);
      expect(after.refresh_token).not.toBe(before.refresh_token);
      expect(after.access_token).not.toBe(before.access_token);
      expect(decodeJwt(after.access_token)).toMatchObject({
        sub: 'alice',
        aud: mcpUrl,
        act: { sub: info.client_id },
      });
      await client.close();
    } finally {
      await context.close();
    }
  }, 60_000);
  it('keeps its consent across a broker restart on the same database: the next call just works', async () => {
    const context = await browser.newContext();
    try {
      const provider = new TestProvider(callbackUrl);
      const client = await connectWithConsent(provider, context);
      const clientId = provider.clientInformation()!.client_id;
      const held = provider.tokens()!;

      await broker.stop();
      broker = await startBrokerProcess(brokerEnv, brokerPort);
      // The signing key, the ledger and the registration are in the database: the token it
      // holds is still good, so it neither refreshes nor asks the person again.
      await useTools(client, clientId);
      expect(provider.tokens()!.access_token).toBe(held.access_token);
      expect(provider.redirects).toHaveLength(1);
      expect(provider.invalidated).toEqual([]);
      await client.close();
    } finally {
      await context.close();
    }
  }, 90_000);
});
