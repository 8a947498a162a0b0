/**
 * Test fixtures: a real broker app on a temp-file SQLite with the real migrations, a
 * test identity provider (a trusted issuer whose key the test holds), and helpers to
 * call the token endpoint the way a client would.
 */
import { createHash } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { decodeJwt, exportJWK, generateKeyPair, SignJWT, type JWTPayload } from 'jose';
import { createApp } from '../broker/app.js';
import { buildDeps } from '../broker/build.js';
import { parsePolicy, type PolicyFile } from '../broker/config/policy.js';
import type { BrokerDeps } from '../broker/deps.js';
import { openSqliteStore, type SqliteStore } from '../broker/store/sqlite-store.js';
import type { ApprovalRecord, LedgerRefusal, LedgerToken, Store } from '../broker/store/store.js';

export const ISSUER = 'http://baton.test';
export const IDP = 'https://idp.test';
export const API = 'https://api.example.com';
export const TE = 'urn:ietf:params:oauth:grant-type:token-exchange';
export const AT = 'urn:ietf:params:oauth:token-type:access_token';
export const JWT_TYPE = 'urn:ietf:params:oauth:token-type:jwt';
export const ADMIN_TOKEN = 'admin-token-for-tests-0123456789abcdef';
export const CIBA = 'urn:openid:params:grant-type:ciba';
/** A well-formed scrypt hash; approvals never check passwords, so it need not match one. */
const TEST_PASSWORD_HASH =
  'scrypt$1024$8$1$dGVzdC1zYWx0LXRlc3Qtc2FsdA$dGVzdC1oYXNoLXRlc3QtaGFzaC10ZXN0LWhhc2gtdGVzdA';

export const SECRETS: Record<string, string> = {
  planner: 'planner-secret-0123456789abcdef0123456789',
  booker: 'booker-secret-0123456789abcdef01234567890',
  api: 'api-secret-0123456789abcdef0123456789abcdef',
  poster: 'poster-secret-0123456789abcdef0123456789ab',
  narrow: 'narrow-secret-0123456789abcdef0123456789ab',
};

const sha = (s: string) => createHash('sha256').update(s).digest('hex');

/** A policy exercising every rule: a hand-off chain planner → booker → API. */
export function testPolicy(idpJwk: Record<string, unknown>): PolicyFile {
  return {
    tokens: { default_ttl_seconds: 300, max_ttl_seconds: 3600 },
    max_delegation_depth: 4,
    // The clock of a test broker stands still, so the default per-client limit (burst 100)
    // would never refill; test/http/ops.test.ts checks the limits with its own policy.
    rate_limits: { requests_per_second: 1_000_000, burst: 1_000_000 },
    trusted_issuers: [
      { issuer: IDP, jwks: { keys: [idpJwk as { kty: string }] }, audience: ISSUER },
    ],
    users: [],
    clients: [
      {
        client_id: 'planner',
        client_secret_sha256: sha(SECRETS.planner!),
        grant_types: [TE, 'client_credentials'],
        scopes: ['trips:read', 'trips:book', 'flights:book'],
        audiences: ['agent:booker', API, 'agent:narrow'],
        max_ttl_seconds: 900,
      },
      {
        client_id: 'booker',
        client_secret_sha256: sha(SECRETS.booker!),
        grant_types: [TE, 'client_credentials'],
        scopes: ['flights:book', 'trips:read'],
        audiences: [API, 'agent:planner', 'agent:narrow'],
      },
      {
        client_id: 'api',
        client_secret_sha256: sha(SECRETS.api!),
        grant_types: ['client_credentials'],
      },
      {
        client_id: 'poster',
        client_secret_sha256: sha(SECRETS.poster!),
        token_endpoint_auth_method: 'client_secret_post',
        grant_types: [TE],
        scopes: ['trips:read'],
        audiences: [API],
      },
      {
        client_id: 'narrow',
        client_secret_sha256: sha(SECRETS.narrow!),
        grant_types: [TE],
        scopes: ['trips:read', 'flights:book'],
        audiences: [API, 'agent:booker', 'agent:planner'],
      },
    ],
  };
}

/**
 * The test policy with approvals: users alice and bob, and the CIBA grant for planner
 * and booker (narrow, poster and api still lack it).
 */
export function withApprovals(p: PolicyFile): PolicyFile {
  return {
    ...p,
    users: [
      { username: 'alice', password_hash: TEST_PASSWORD_HASH },
      { username: 'bob', password_hash: TEST_PASSWORD_HASH },
    ],
    clients: p.clients.map((c) =>
      c.client_id === 'planner' || c.client_id === 'booker'
        ? { ...c, grant_types: [...c.grant_types, CIBA] }
        : c,
    ),
  };
}

/** The policy with `audience` added to what `clientId` may ask for. */
export function withAudience(p: PolicyFile, clientId: string, audience: string): PolicyFile {
  return {
    ...p,
    clients: p.clients.map((c) =>
      c.client_id === clientId ? { ...c, audiences: [...(c.audiences ?? []), audience] } : c,
    ),
  };
}

export interface TestIdp {
  jwk: Record<string, unknown>;
  sign(claims: JWTPayload, opts?: { exp?: number; iat?: number }): Promise<string>;
}

export async function makeIdp(now: () => number): Promise<TestIdp> {
  const { privateKey, publicKey } = await generateKeyPair('ES256', { extractable: true });
  const jwk = { ...(await exportJWK(publicKey)), kid: 'idp-1', alg: 'ES256', use: 'sig' };
  return {
    jwk,
    sign: (claims, opts = {}) => {
      const iat = opts.iat ?? now();
      return new SignJWT({
        iss: IDP,
        aud: ISSUER,
        scope: 'trips:read trips:book flights:book',
        ...claims,
      })
        .setProtectedHeader({ alg: 'ES256', kid: 'idp-1' })
        .setIssuedAt(iat)
        .setExpirationTime(opts.exp ?? iat + 3600)
        .sign(privateKey);
    },
  };
}

export interface TestBroker {
  app: ReturnType<typeof createApp>;
  deps: BrokerDeps;
  store: SqliteStore;
  idp: TestIdp;
  dir: string;
  clock: { now: number };
  /** POSTs a form to a path, with Basic auth for `client` unless `auth: false`. */
  post(
    p: string,
    form: Record<string, string | string[]>,
    client?: string | null,
    headers?: Record<string, string>,
  ): Promise<Response>;
  /** A token exchange by `client`; returns status and parsed JSON. */
  exchange(
    client: string,
    form: Record<string, string | string[]>,
  ): Promise<{ status: number; body: Record<string, unknown> }>;
  /** A person's token from the test IdP, exchanged by planner into a hand-off for `to`. */
  close(): Promise<void>;
}

export function basic(client: string, secret = SECRETS[client]!): string {
  return `Basic ${Buffer.from(`${encodeURIComponent(client)}:${encodeURIComponent(secret)}`).toString('base64')}`;
}

export function toBody(form: Record<string, string | string[]>): string {
  const params = new URLSearchParams();
  for (const [k, v] of Object.entries(form))
    for (const one of Array.isArray(v) ? v : [v]) params.append(k, one);
  return params.toString();
}

export async function makeBroker(
  options: { policy?: (p: PolicyFile) => PolicyFile; dir?: string } = {},
): Promise<TestBroker> {
  const dir = options.dir ?? mkdtempSync(path.join(tmpdir(), 'baton-test-'));
  const clock = { now: Math.floor(Date.now() / 1000) };
  const now = () => clock.now;
  const idp = await makeIdp(now);
  const policyFile = (options.policy ?? ((p) => p))(testPolicy(idp.jwk));
  const store = openSqliteStore(path.join(dir, 'baton.db'));
  const deps = await buildDeps({
    issuer: ISSUER,
    policy: parsePolicy(policyFile, ISSUER),
    store,
    adminToken: ADMIN_TOKEN,
    now,
  });
  const app = createApp(deps);
  const post: TestBroker['post'] = async (p, form, client = null, headers = {}) =>
    app.request(p, {
      method: 'POST',
      headers: {
        'content-type': 'application/x-www-form-urlencoded',
        ...(client ? { authorization: basic(client) } : {}),
        ...headers,
      },
      body: toBody(form),
    });
  return {
    app,
    deps,
    store,
    idp,
    dir,
    clock,
    post,
    async exchange(client, form) {
      const res = await post('/token', { grant_type: TE, subject_token_type: AT, ...form }, client);
      return { status: res.status, body: (await res.json()) as Record<string, unknown> };
    },
    async close() {
      await store.close();
      if (options.dir === undefined) rmSync(dir, { recursive: true, force: true });
    },
  };
}

export function claimsOf(token: unknown): JWTPayload & Record<string, unknown> {
  return decodeJwt(String(token)) as JWTPayload & Record<string, unknown>;
}

/** Every time there is, for reading a whole (small) test ledger through the Store's export. */
const WHOLE_LEDGER = { since: 0, until: Number.MAX_SAFE_INTEGER, limit: 100_000 };

/** Every token in the ledger, by (iat, jti), read through the Store interface. */
export const ledgerTokens = (store: Store): Promise<LedgerToken[]> =>
  store.exportTokens(WHOLE_LEDGER);

/** Every refusal in the ledger, oldest first (by at, then id). */
export const ledgerRefusals = (store: Store): Promise<LedgerRefusal[]> =>
  store.exportRefusals(WHOLE_LEDGER);

/** Every approval request, by (created_at, auth_req_id). */
export const ledgerApprovals = (store: Store): Promise<ApprovalRecord[]> =>
  store.exportApprovals(WHOLE_LEDGER);
