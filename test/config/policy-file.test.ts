/** SPEC §2: the policy file and SPEC §1: the environment, validated at start with `path: message` lines. */
import { createHash } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { parseEnv } from '../../broker/config/env.js';
import { ConfigError } from '../../broker/config/format-issues.js';
import { loadPolicyFile, parsePolicy } from '../../broker/config/policy.js';
import { DEFAULT_RETENTION } from '../../broker/ledger/retention.js';
import { DEFAULT_KEY_RULES } from '../../broker/tokens/key-rules.js';

const ISSUER = 'http://127.0.0.1:8787';
const TE = 'urn:ietf:params:oauth:grant-type:token-exchange';
const CIBA = 'urn:openid:params:grant-type:ciba';
const sha256 = (s: string) => createHash('sha256').update(s).digest('hex');
const PLANNER_SHA = sha256('planner-secret-0123456789abcdef0123456789');
const BOOKER_SHA = sha256('booker-secret-0123456789abcdef01234567890');
/** A well-formed scrypt hash (format as `npx baton hash-password` prints it). */
const ALICE_HASH =
  'scrypt$32768$8$1$DcadO1QLDwRQ1N90bHCF5Q$uON62YlXAeJkXMDqD_o-TU8j4N-wfNG25ZT2Z8Cmck4';
const IDP_KEY = {
  kty: 'EC',
  crv: 'P-256',
  x: 'f83OJ3D2xF1Bg8vub9tLe1gHMzV76e8Tus9uPHvRVEU',
  y: 'x_FEzRu9m36HLN_tue659LNpXW6pCyStikYjKIWI5a0',
};

type Json = Record<string, unknown>;

/** The SPEC §2 example, completed: a planner handing off to a booker, one IdP, one user. */
function example() {
  return {
    tokens: { default_ttl_seconds: 300, max_ttl_seconds: 3600 },
    max_delegation_depth: 4,
    trusted_issuers: [
      { issuer: 'https://idp.example', jwks: { keys: [IDP_KEY] }, audience: 'baton' },
    ] as Json[],
    users: [{ username: 'alice', password_hash: ALICE_HASH }] as Json[],
    clients: [
      {
        client_id: 'planner',
        client_secret_sha256: PLANNER_SHA,
        token_endpoint_auth_method: 'client_secret_basic',
        grant_types: [TE, CIBA, 'client_credentials'],
        scopes: ['trips:read', 'trips:book', 'flights:book'],
        audiences: ['https://api.airline.example', 'agent:flight-booker'],
        max_ttl_seconds: 900,
      },
      {
        client_id: 'flight-booker',
        client_secret_sha256: BOOKER_SHA,
        token_endpoint_auth_method: 'client_secret_post',
        grant_types: [TE],
        scopes: ['flights:book', 'flights:read'],
        audiences: ['https://api.airline.example'],
      },
    ] as Json[],
  };
}

/** The example with one client replaced or changed. */
function withClient(i: number, change: Json, drop: string[] = []) {
  const p = example();
  const c: Json = { ...p.clients[i], ...change };
  for (const key of drop) delete c[key];
  p.clients[i] = c;
  return p;
}

/** What parsing threw: its class name and message, so a test asserts the exact text. */
function failure(run: () => unknown): { name: string; message: string } {
  try {
    run();
  } catch (error) {
    return {
      name: error instanceof ConfigError ? 'ConfigError' : String(error),
      message: (error as Error).message,
    };
  }
  return { name: 'nothing thrown', message: '' };
}

const refused = (message: string) => ({ name: 'ConfigError', message });

/** SPEC §10: per-client rate limits are on when the file says nothing. */
const DEFAULT_RATE_LIMIT_POLICY = {
  perClient: { ratePerSecond: 50, burst: 100 },
  clients: new Map(),
  failedAuthentication: { ratePerSecond: 5, burst: 50 },
};

describe('parsePolicy: a valid file', () => {
  it('accepts the SPEC §2 example and camelCases it', () => {
    expect(parsePolicy(example(), ISSUER)).toEqual({
      defaultTtlSeconds: 300,
      maxTtlSeconds: 3600,
      maxDelegationDepth: 4,
      allowInsecureKeyUrls: false,
      trustedIssuers: new Map([
        [
          'https://idp.example',
          {
            issuer: 'https://idp.example',
            jwks: { keys: [IDP_KEY] },
            jwksUri: undefined,
            audience: 'baton',
          },
        ],
      ]),
      users: new Map([['alice', ALICE_HASH]]),
      clients: new Map([
        [
          'planner',
          {
            clientId: 'planner',
            secretSha256: Buffer.from(PLANNER_SHA, 'hex'),
            authMethod: 'client_secret_basic',
            jwks: undefined,
            jwksUri: undefined,
            grantTypes: new Set([TE, CIBA, 'client_credentials']),
            scopes: ['trips:read', 'trips:book', 'flights:book'],
            audiences: new Set(['https://api.airline.example', 'agent:flight-booker']),
            maxTtlSeconds: 900,
          },
        ],
        [
          'flight-booker',
          {
            clientId: 'flight-booker',
            secretSha256: Buffer.from(BOOKER_SHA, 'hex'),
            authMethod: 'client_secret_post',
            jwks: undefined,
            jwksUri: undefined,
            grantTypes: new Set([TE]),
            scopes: ['flights:book', 'flights:read'],
            audiences: new Set(['https://api.airline.example']),
            maxTtlSeconds: 3600,
          },
        ],
      ]),
      scopesSupported: ['flights:book', 'flights:read', 'trips:book', 'trips:read'],
      rateLimits: DEFAULT_RATE_LIMIT_POLICY,
      retention: DEFAULT_RETENTION,
      keys: DEFAULT_KEY_RULES,
      mcpClients: {
        accept: 'all',
        dynamicRegistration: true,
        scopes: ['flights:book', 'flights:read', 'trips:book', 'trips:read'],
        audiences: ['agent:flight-booker', 'https://api.airline.example'],
        consentTtlSeconds: 2_592_000,
      },
    });
  });

  it('fills in the documented defaults for a minimal file', () => {
    const policy = parsePolicy(
      {
        clients: [
          {
            client_id: 'solo',
            client_secret_sha256: PLANNER_SHA,
            grant_types: ['client_credentials'],
          },
        ],
      },
      ISSUER,
    );
    expect(policy).toEqual({
      defaultTtlSeconds: 300,
      maxTtlSeconds: 3600,
      maxDelegationDepth: 4,
      allowInsecureKeyUrls: false,
      trustedIssuers: new Map(),
      users: new Map(),
      clients: new Map([
        [
          'solo',
          {
            clientId: 'solo',
            secretSha256: Buffer.from(PLANNER_SHA, 'hex'),
            authMethod: 'client_secret_basic',
            jwks: undefined,
            jwksUri: undefined,
            grantTypes: new Set(['client_credentials']),
            scopes: [],
            audiences: new Set(),
            maxTtlSeconds: 3600,
          },
        ],
      ]),
      scopesSupported: [],
      rateLimits: DEFAULT_RATE_LIMIT_POLICY,
      retention: DEFAULT_RETENTION,
      keys: DEFAULT_KEY_RULES,
      mcpClients: {
        accept: 'all',
        dynamicRegistration: true,
        scopes: [],
        audiences: [],
        consentTtlSeconds: 2_592_000,
      },
    });
  });

  it('accepts "$comment" notes (a string or lines) at the top and in each entry, and ignores them', () => {
    const p = example();
    const noted = {
      $comment: ['A starter policy.', 'Fill in the IdP.'],
      ...p,
      trusted_issuers: p.trusted_issuers.map((t) => ({ $comment: 'your IdP', ...t })),
      users: p.users.map((u) => ({ $comment: 'a person', ...u })),
      clients: p.clients.map((c) => ({ $comment: 'an agent', ...c })),
    };
    expect(parsePolicy(noted, ISSUER)).toEqual(parsePolicy(example(), ISSUER));
  });

  it('refuses a "$comment" that is not text', () => {
    expect(failure(() => parsePolicy({ ...example(), $comment: 5 }, ISSUER))).toEqual(
      refused('$comment: must be a string or a list of strings'),
    );
  });

  it('accepts a private_key_jwt client with jwks_uri and no secret', () => {
    const p = withClient(
      1,
      { token_endpoint_auth_method: 'private_key_jwt', jwks_uri: 'https://booker.example/jwks' },
      ['client_secret_sha256'],
    );
    expect(parsePolicy(p, ISSUER).clients.get('flight-booker')).toEqual({
      clientId: 'flight-booker',
      secretSha256: undefined,
      authMethod: 'private_key_jwt',
      jwks: undefined,
      jwksUri: 'https://booker.example/jwks',
      grantTypes: new Set([TE]),
      scopes: ['flights:book', 'flights:read'],
      audiences: new Set(['https://api.airline.example']),
      maxTtlSeconds: 3600,
    });
  });

  it('accepts a private_key_jwt client with public jwks', () => {
    const p = withClient(
      1,
      { token_endpoint_auth_method: 'private_key_jwt', jwks: { keys: [IDP_KEY] } },
      ['client_secret_sha256'],
    );
    expect(parsePolicy(p, ISSUER).clients.get('flight-booker')?.jwks).toEqual({ keys: [IDP_KEY] });
  });

  it('accepts a trusted issuer with jwks_uri in place of jwks', () => {
    const p = example();
    p.trusted_issuers = [
      { issuer: 'https://idp.example', jwks_uri: 'https://idp.example/jwks', audience: 'baton' },
    ];
    expect(parsePolicy(p, ISSUER).trustedIssuers).toEqual(
      new Map([
        [
          'https://idp.example',
          {
            issuer: 'https://idp.example',
            jwks: undefined,
            jwksUri: 'https://idp.example/jwks',
            audience: 'baton',
          },
        ],
      ]),
    );
  });

  it('dedupes a client’s scopes', () => {
    const p = withClient(1, { scopes: ['flights:book', 'flights:book', 'flights:read'] });
    expect(parsePolicy(p, ISSUER).clients.get('flight-booker')?.scopes).toEqual([
      'flights:book',
      'flights:read',
    ]);
  });
});

describe('parsePolicy: refusals name the path', () => {
  it('refuses a clear client_secret shorter than 32 characters', () => {
    expect(
      failure(() =>
        parsePolicy(withClient(0, { client_secret: 'hunter2' }, ['client_secret_sha256']), ISSUER),
      ),
    ).toEqual(
      refused(
        'clients.0.client_secret: secrets are never stored in clear (and it is shorter than 32 characters); put its SHA-256 in client_secret_sha256 (npx baton new-client makes both)',
      ),
    );
  });

  it('refuses a clear client_secret of 32 characters or more', () => {
    const p = withClient(1, { client_secret: 'x'.repeat(40) }, ['client_secret_sha256']);
    expect(failure(() => parsePolicy(p, ISSUER))).toEqual(
      refused(
        'clients.1.client_secret: secrets are never stored in clear; put its SHA-256 in client_secret_sha256 (npx baton new-client makes both)',
      ),
    );
  });

  it('refuses a clear client_secret even next to a valid client_secret_sha256', () => {
    expect(
      failure(() => parsePolicy(withClient(0, { client_secret: 'y'.repeat(32) }), ISSUER)),
    ).toEqual(
      refused(
        'clients.0.client_secret: secrets are never stored in clear; put its SHA-256 in client_secret_sha256 (npx baton new-client makes both)',
      ),
    );
  });

  it('refuses an unknown top-level key', () => {
    expect(failure(() => parsePolicy({ ...example(), max_delegation_dept: 3 }, ISSUER))).toEqual(
      refused('max_delegation_dept: unknown key'),
    );
  });

  it('refuses an unknown key inside a client', () => {
    expect(failure(() => parsePolicy(withClient(1, { scope: 'flights:book' }), ISSUER))).toEqual(
      refused('clients.1.scope: unknown key'),
    );
  });

  it('refuses an unknown key inside tokens', () => {
    const p = { ...example(), tokens: { default_ttl_seconds: 300, max_ttl: 3600 } };
    expect(failure(() => parsePolicy(p, ISSUER))).toEqual(refused('tokens.max_ttl: unknown key'));
  });

  it('refuses a duplicate client_id', () => {
    expect(failure(() => parsePolicy(withClient(1, { client_id: 'planner' }), ISSUER))).toEqual(
      refused(
        'clients.1.client_id: duplicate client_id "planner"\nclients.0.audiences.1: "agent:flight-booker" names no client in this file',
      ),
    );
  });

  it('accepts logical names, absolute URIs of any scheme and agent:<id> as audiences (SPEC §2, RFC 8693 §2.1)', () => {
    const audiences = [
      'mail-api',
      'https://api.airline.example',
      'urn:example:calendar',
      'api://default',
      'agent:planner',
    ];
    expect([
      ...parsePolicy(withClient(1, { audiences }), ISSUER).clients.get('flight-booker')!.audiences,
    ]).toEqual(audiences);
  });

  it('refuses an empty audience', () => {
    expect(failure(() => parsePolicy(withClient(1, { audiences: [''] }), ISSUER))).toEqual(
      refused('clients.1.audiences.0: must not be empty'),
    );
  });

  it('refuses an audience with whitespace, showing it without acting on the terminal', () => {
    expect(failure(() => parsePolicy(withClient(1, { audiences: ['mail api'] }), ISSUER))).toEqual(
      refused(
        'clients.1.audiences.0: "mail api" must not contain whitespace or control characters',
      ),
    );
    expect(failure(() => parsePolicy(withClient(1, { audiences: [' mail-api'] }), ISSUER))).toEqual(
      refused(
        'clients.1.audiences.0: " mail-api" must not contain whitespace or control characters',
      ),
    );
  });

  it('refuses an audience with control characters, made visible in the message', () => {
    expect(
      failure(() => parsePolicy(withClient(1, { audiences: ['mail-api\u001b[2J'] }), ISSUER)),
    ).toEqual(
      refused(
        'clients.1.audiences.0: "mail-api<U+001B>[2J" must not contain whitespace or control characters',
      ),
    );
    expect(
      failure(() => parsePolicy(withClient(1, { audiences: ['mail\u202eipa'] }), ISSUER)),
    ).toEqual(
      refused(
        'clients.1.audiences.0: "mail<U+202E>ipa" must not contain whitespace or control characters',
      ),
    );
  });

  it('refuses an audience URI with a fragment', () => {
    expect(
      failure(() => parsePolicy(withClient(1, { audiences: ['https://api.example/#x'] }), ISSUER)),
    ).toEqual(refused('clients.1.audiences.0: "https://api.example/#x" must not have a fragment'));
    expect(
      failure(() => parsePolicy(withClient(1, { audiences: ['urn:example:mail#inbox'] }), ISSUER)),
    ).toEqual(refused('clients.1.audiences.0: "urn:example:mail#inbox" must not have a fragment'));
  });

  it('refuses agent:<id> naming no client', () => {
    expect(
      failure(() => parsePolicy(withClient(0, { audiences: ['agent:hotel-booker'] }), ISSUER)),
    ).toEqual(refused('clients.0.audiences.0: "agent:hotel-booker" names no client in this file'));
  });

  it('refuses a client_secret_sha256 in uppercase hex', () => {
    expect(
      failure(() =>
        parsePolicy(withClient(0, { client_secret_sha256: PLANNER_SHA.toUpperCase() }), ISSUER),
      ),
    ).toEqual(
      refused(
        'clients.0.client_secret_sha256: must be the 64 lowercase hex characters of a SHA-256 (npx baton new-client)',
      ),
    );
  });

  it('refuses a client_secret_sha256 of the wrong length', () => {
    expect(
      failure(() =>
        parsePolicy(withClient(1, { client_secret_sha256: PLANNER_SHA.slice(1) }), ISSUER),
      ),
    ).toEqual(
      refused(
        'clients.1.client_secret_sha256: must be the 64 lowercase hex characters of a SHA-256 (npx baton new-client)',
      ),
    );
  });

  it('refuses a secret client without a client_secret_sha256', () => {
    expect(failure(() => parsePolicy(withClient(1, {}, ['client_secret_sha256']), ISSUER))).toEqual(
      refused('clients.1.client_secret_sha256: required for client_secret_post'),
    );
  });

  it('refuses a private_key_jwt client that has a secret', () => {
    const p = withClient(1, {
      token_endpoint_auth_method: 'private_key_jwt',
      jwks_uri: 'https://booker.example/jwks',
    });
    expect(failure(() => parsePolicy(p, ISSUER))).toEqual(
      refused('clients.1.client_secret_sha256: a private_key_jwt client has no secret'),
    );
  });

  it('refuses a private_key_jwt client without jwks or jwks_uri', () => {
    const p = withClient(1, { token_endpoint_auth_method: 'private_key_jwt' }, [
      'client_secret_sha256',
    ]);
    expect(failure(() => parsePolicy(p, ISSUER))).toEqual(
      refused('clients.1.jwks: private_key_jwt needs exactly one of jwks or jwks_uri'),
    );
  });

  it('refuses a private_key_jwt client with both jwks and jwks_uri', () => {
    const p = withClient(
      1,
      {
        token_endpoint_auth_method: 'private_key_jwt',
        jwks: { keys: [IDP_KEY] },
        jwks_uri: 'https://booker.example/jwks',
      },
      ['client_secret_sha256'],
    );
    expect(failure(() => parsePolicy(p, ISSUER))).toEqual(
      refused('clients.1.jwks: private_key_jwt needs exactly one of jwks or jwks_uri'),
    );
  });

  it('refuses a secret client that also has jwks', () => {
    expect(
      failure(() => parsePolicy(withClient(0, { jwks: { keys: [IDP_KEY] } }), ISSUER)),
    ).toEqual(
      refused('clients.0.token_endpoint_auth_method: jwks/jwks_uri only go with private_key_jwt'),
    );
  });

  it('refuses a secret client that also has jwks_uri', () => {
    expect(
      failure(() =>
        parsePolicy(withClient(1, { jwks_uri: 'https://booker.example/jwks' }), ISSUER),
      ),
    ).toEqual(
      refused('clients.1.token_endpoint_auth_method: jwks/jwks_uri only go with private_key_jwt'),
    );
  });

  it('refuses an unknown token_endpoint_auth_method', () => {
    expect(
      failure(() =>
        parsePolicy(withClient(1, { token_endpoint_auth_method: 'client_secret_jwt' }), ISSUER),
      ),
    ).toEqual(
      refused(
        'clients.1.token_endpoint_auth_method: must be one of: client_secret_basic, client_secret_post, private_key_jwt',
      ),
    );
  });

  it('refuses a grant type Baton does not offer', () => {
    expect(
      failure(() => parsePolicy(withClient(1, { grant_types: [TE, 'password'] }), ISSUER)),
    ).toEqual(
      refused(`clients.1.grant_types.1: must be one of: ${TE}, ${CIBA}, client_credentials`),
    );
  });

  it('refuses a scope token with a space in it', () => {
    expect(
      failure(() => parsePolicy(withClient(1, { scopes: ['flights:book flights:read'] }), ISSUER)),
    ).toEqual(refused('clients.1.scopes.0: is not a valid scope token'));
  });

  it('refuses a trusted issuer with both jwks and jwks_uri', () => {
    const p = example();
    p.trusted_issuers = [
      {
        issuer: 'https://idp.example',
        jwks: { keys: [] },
        jwks_uri: 'https://idp.example/jwks',
        audience: 'baton',
      },
    ];
    expect(failure(() => parsePolicy(p, ISSUER))).toEqual(
      refused('trusted_issuers.0.jwks: needs exactly one of jwks or jwks_uri'),
    );
  });

  it('refuses a trusted issuer with neither jwks nor jwks_uri', () => {
    const p = example();
    p.trusted_issuers = [{ issuer: 'https://idp.example', audience: 'baton' }];
    expect(failure(() => parsePolicy(p, ISSUER))).toEqual(
      refused('trusted_issuers.0.jwks: needs exactly one of jwks or jwks_uri'),
    );
  });

  it('refuses a trusted issuer jwks_uri that is not http(s)', () => {
    const p = example();
    p.trusted_issuers = [
      { issuer: 'https://idp.example', jwks_uri: 'file:///etc/jwks.json', audience: 'baton' },
    ];
    expect(failure(() => parsePolicy(p, ISSUER))).toEqual(
      refused('trusted_issuers.0.jwks_uri: must be an http(s) URL'),
    );
  });

  it('refuses a trusted issuer JWK that holds the private "d"', () => {
    const p = example();
    p.trusted_issuers = [
      {
        issuer: 'https://idp.example',
        jwks: { keys: [IDP_KEY, { ...IDP_KEY, d: 'secret' }] },
        audience: 'baton',
      },
    ];
    expect(failure(() => parsePolicy(p, ISSUER))).toEqual(
      refused(
        'trusted_issuers.0.jwks.keys.1: holds private key material ("d"); publish only public keys',
      ),
    );
  });

  it('refuses a client JWK that holds the private "d"', () => {
    const p = withClient(
      1,
      {
        token_endpoint_auth_method: 'private_key_jwt',
        jwks: { keys: [{ ...IDP_KEY, d: 'secret' }] },
      },
      ['client_secret_sha256'],
    );
    expect(failure(() => parsePolicy(p, ISSUER))).toEqual(
      refused('clients.1.jwks.keys.0: holds private key material ("d"); publish only public keys'),
    );
  });

  it('refuses a duplicate trusted issuer', () => {
    const p = example();
    p.trusted_issuers = [
      { issuer: 'https://idp.example', jwks: { keys: [] }, audience: 'baton' },
      { issuer: 'https://idp.example', jwks_uri: 'https://idp.example/jwks', audience: 'baton' },
    ];
    expect(failure(() => parsePolicy(p, ISSUER))).toEqual(
      refused('trusted_issuers.1.issuer: duplicate issuer "https://idp.example"'),
    );
  });

  it('refuses a trusted issuer equal to Baton’s own issuer', () => {
    const p = example();
    p.trusted_issuers = [
      { issuer: 'https://idp.example', jwks: { keys: [] }, audience: 'baton' },
      { issuer: ISSUER, jwks: { keys: [] }, audience: 'baton' },
    ];
    expect(failure(() => parsePolicy(p, ISSUER))).toEqual(
      refused(
        `trusted_issuers.1.issuer: is Baton's own issuer (${ISSUER}); list other issuers only`,
      ),
    );
  });

  it('refuses default_ttl_seconds above max_ttl_seconds', () => {
    const p = { ...example(), tokens: { default_ttl_seconds: 3601, max_ttl_seconds: 3600 } };
    expect(failure(() => parsePolicy(p, ISSUER))).toEqual(
      refused('tokens.default_ttl_seconds: default_ttl_seconds must not exceed max_ttl_seconds'),
    );
  });

  it('refuses a default_ttl_seconds above the default max when max is left out', () => {
    const p = { ...example(), tokens: { default_ttl_seconds: 7200 } };
    expect(failure(() => parsePolicy(p, ISSUER))).toEqual(
      refused('tokens.default_ttl_seconds: default_ttl_seconds must not exceed max_ttl_seconds'),
    );
  });

  it('refuses a client max_ttl_seconds above the policy max', () => {
    expect(failure(() => parsePolicy(withClient(1, { max_ttl_seconds: 3601 }), ISSUER))).toEqual(
      refused('clients.1.max_ttl_seconds: exceeds tokens.max_ttl_seconds (3600)'),
    );
  });

  it('refuses a non-integer or zero lifetime', () => {
    expect(failure(() => parsePolicy(withClient(1, { max_ttl_seconds: 0 }), ISSUER))).toEqual(
      refused('clients.1.max_ttl_seconds: must be at least 1'),
    );
    expect(failure(() => parsePolicy(withClient(1, { max_ttl_seconds: 1.5 }), ISSUER))).toEqual(
      refused('clients.1.max_ttl_seconds: must be a whole number'),
    );
  });

  it('refuses a password_hash that is not a scrypt hash', () => {
    const p = example();
    p.users = [{ username: 'alice', password_hash: 'alice-password' }];
    expect(failure(() => parsePolicy(p, ISSUER))).toEqual(
      refused('users.0.password_hash: is not a hash from `npx baton hash-password`'),
    );
  });

  it('refuses a password_hash whose cost is too low', () => {
    const p = example();
    p.users = [{ username: 'alice', password_hash: ALICE_HASH.replace('$32768$', '$512$') }];
    expect(failure(() => parsePolicy(p, ISSUER))).toEqual(
      refused('users.0.password_hash: is not a hash from `npx baton hash-password`'),
    );
  });

  it('refuses a password in clear under an unknown key', () => {
    const p = example();
    p.users = [{ username: 'alice', password_hash: ALICE_HASH, password: 'alice-password' }];
    expect(failure(() => parsePolicy(p, ISSUER))).toEqual(refused('users.0.password: unknown key'));
  });

  it('refuses a username the login_hint rule would refuse, so policy and CIBA agree on who a person is', () => {
    for (const username of [
      'alice\u001b[2J',
      'alice bob',
      '-alice',
      'al\u202eice',
      'x'.repeat(129),
      '',
    ]) {
      const p = example();
      p.users = [{ username, password_hash: ALICE_HASH }];
      expect(failure(() => parsePolicy(p, ISSUER))).toEqual(
        refused(
          'users.0.username: must be 1-128 characters of ASCII letters, digits and . _ @ + -, starting with a letter or digit',
        ),
      );
    }
    const p = example();
    p.users = [{ username: 'alice.smith+ops@example.com', password_hash: ALICE_HASH }];
    expect([...parsePolicy(p, ISSUER).users.keys()]).toEqual(['alice.smith+ops@example.com']);
  });

  it('shows a duplicate issuer inert, so the message cannot drive the terminal', () => {
    const p = example();
    const idp = {
      issuer: 'https://idp.example/\u001b[2J',
      jwks: { keys: [IDP_KEY] },
      audience: 'baton',
    };
    p.trusted_issuers = [idp, idp];
    expect(failure(() => parsePolicy(p, ISSUER))).toEqual(
      refused('trusted_issuers.1.issuer: duplicate issuer "https://idp.example/<U+001B>[2J"'),
    );
  });

  it('refuses a duplicate username', () => {
    const p = example();
    p.users = [
      { username: 'alice', password_hash: ALICE_HASH },
      { username: 'alice', password_hash: ALICE_HASH },
    ];
    expect(failure(() => parsePolicy(p, ISSUER))).toEqual(
      refused('users.1.username: duplicate username "alice"'),
    );
  });

  it('refuses a file with no clients', () => {
    expect(failure(() => parsePolicy({ ...example(), clients: [] }, ISSUER))).toEqual(
      refused('clients: at least one client is needed'),
    );
  });

  it('refuses a max_delegation_depth of zero', () => {
    expect(failure(() => parsePolicy({ ...example(), max_delegation_depth: 0 }, ISSUER))).toEqual(
      refused('max_delegation_depth: must be at least 1'),
    );
  });

  it('refuses JSON that is not an object, at the root', () => {
    expect(failure(() => parsePolicy([], ISSUER))).toEqual(
      refused('(root): must be an object, not an array'),
    );
    expect(failure(() => parsePolicy(null, ISSUER))).toEqual(
      refused('(root): must be an object, not null'),
    );
  });

  it('refuses a wrongly typed field with a ConfigError, not a crash', () => {
    expect(
      failure(() =>
        parsePolicy(withClient(0, { audiences: 'https://api.airline.example' }), ISSUER),
      ),
    ).toEqual(refused('clients.0.audiences: must be an array, not a string'));
  });

  it('reports every problem at once, one line each', () => {
    const p = withClient(1, {
      client_secret_sha256: 'abc',
      audiences: ['agent:nobody'],
      max_ttl_seconds: 99_999,
    });
    p.users = [{ username: 'alice', password_hash: 'x' }];
    expect(failure(() => parsePolicy(p, ISSUER))).toEqual(
      refused(
        [
          'users.0.password_hash: is not a hash from `npx baton hash-password`',
          'clients.1.client_secret_sha256: must be the 64 lowercase hex characters of a SHA-256 (npx baton new-client)',
          'clients.1.max_ttl_seconds: must be at most 86400',
          'clients.1.max_ttl_seconds: exceeds tokens.max_ttl_seconds (3600)',
          'clients.1.audiences.0: "agent:nobody" names no client in this file',
        ].join('\n'),
      ),
    );
  });
});

describe('loadPolicyFile', () => {
  const dir = mkdtempSync(path.join(tmpdir(), 'baton-policy-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('names BATON_POLICY and the file when it cannot be read', () => {
    const file = path.join(dir, 'missing.json');
    expect(failure(() => loadPolicyFile(file, ISSUER))).toEqual(
      refused(`BATON_POLICY: cannot read ${file}: ENOENT`),
    );
  });

  it('refuses a directory in place of a file', () => {
    expect(failure(() => loadPolicyFile(dir, ISSUER))).toEqual(
      refused(`BATON_POLICY: cannot read ${dir}: EISDIR`),
    );
  });

  it('names the file when it is not valid JSON', () => {
    const file = path.join(dir, 'broken.json');
    writeFileSync(file, '{ "clients": [ }');
    expect(failure(() => loadPolicyFile(file, ISSUER))).toEqual(
      refused(`${file}: not valid JSON at line 1, column 16: unexpected "}"`),
    );
  });

  it('names the file and each bad field when the policy is invalid', () => {
    const file = path.join(dir, 'invalid.json');
    writeFileSync(file, JSON.stringify(withClient(1, { client_id: 'planner' })));
    expect(failure(() => loadPolicyFile(file, ISSUER))).toEqual(
      refused(
        `${file} is not a valid policy:\nclients.1.client_id: duplicate client_id "planner"\nclients.0.audiences.1: "agent:flight-booker" names no client in this file`,
      ),
    );
  });

  it('loads a valid file the same as parsePolicy', () => {
    const file = path.join(dir, 'policy.json');
    writeFileSync(file, JSON.stringify(example(), null, 2));
    expect(loadPolicyFile(file, ISSUER)).toEqual(parsePolicy(example(), ISSUER));
  });
});

describe('parseEnv', () => {
  const DEFAULTS = {
    port: 8787,
    host: '127.0.0.1',
    issuer: 'http://127.0.0.1:8787',
    dbFile: './data/baton.db',
    policyFile: undefined,
    adminToken: undefined,
    synchronous: 'FULL',
    databaseUrl: undefined,
    databasePool: 10,
    mcpAllowedOrigins: [],
    server: {
      headersTimeoutMs: 10_000,
      requestTimeoutMs: 30_000,
      idleTimeoutMs: 5_000,
      shutdownTimeoutMs: 10_000,
      maxConnections: 512,
    },
    logLevel: 'info',
  };

  it('uses the documented defaults for an empty environment', () => {
    expect(parseEnv({})).toEqual(DEFAULTS);
  });

  it('returns a frozen config', () => {
    expect(Object.isFrozen(parseEnv({}))).toBe(true);
  });

  it('ignores unrelated variables', () => {
    expect(parseEnv({ PATH: '/usr/bin', NODE_ENV: 'test' })).toEqual(DEFAULTS);
  });

  it('treats empty strings as unset', () => {
    expect(
      parseEnv({
        PORT: '',
        HOST: '',
        BATON_ISSUER: '',
        BATON_DB: '',
        BATON_POLICY: '',
        BATON_ADMIN_TOKEN: '',
        BATON_SYNC: '',
      }),
    ).toEqual(DEFAULTS);
  });

  it('reads every variable', () => {
    const admin = 'a'.repeat(64);
    expect(
      parseEnv({
        PORT: '9000',
        HOST: '0.0.0.0',
        BATON_ISSUER: 'https://baton.example',
        BATON_DB: '/var/lib/baton.db',
        BATON_POLICY: './policy.json',
        BATON_ADMIN_TOKEN: admin,
        BATON_SYNC: 'NORMAL',
        BATON_HEADERS_TIMEOUT_MS: '2000',
        BATON_REQUEST_TIMEOUT_MS: '4000',
        BATON_IDLE_TIMEOUT_MS: '1000',
        BATON_SHUTDOWN_TIMEOUT_MS: '3000',
        BATON_MAX_CONNECTIONS: '64',
        BATON_LOG_LEVEL: 'warn',
        BATON_DATABASE_URL: 'postgres://baton:pw@db.internal:5432/baton',
        BATON_DATABASE_POOL: '9',
        BATON_MCP_ALLOWED_ORIGINS: 'http://localhost:6274',
      }),
    ).toEqual({
      port: 9000,
      host: '0.0.0.0',
      issuer: 'https://baton.example',
      dbFile: '/var/lib/baton.db',
      policyFile: './policy.json',
      adminToken: admin,
      synchronous: 'NORMAL',
      databaseUrl: 'postgres://baton:pw@db.internal:5432/baton',
      databasePool: 9,
      mcpAllowedOrigins: ['http://localhost:6274'],
      server: {
        headersTimeoutMs: 2000,
        requestTimeoutMs: 4000,
        idleTimeoutMs: 1000,
        shutdownTimeoutMs: 3000,
        maxConnections: 64,
      },
      logLevel: 'warn',
    });
  });

  it('derives the default issuer from HOST and PORT', () => {
    expect(parseEnv({ HOST: 'localhost', PORT: '3000' }).issuer).toEqual('http://localhost:3000');
  });

  it('brackets an IPv6 HOST in the default issuer', () => {
    expect(parseEnv({ HOST: '::1' }).issuer).toEqual('http://[::1]:8787');
  });

  it('strips trailing slashes from BATON_ISSUER', () => {
    expect(parseEnv({ BATON_ISSUER: 'https://baton.example/' }).issuer).toEqual(
      'https://baton.example',
    );
    expect(parseEnv({ BATON_ISSUER: 'https://baton.example/tenant//' }).issuer).toEqual(
      'https://baton.example/tenant',
    );
  });

  it('refuses a PORT that is not a number', () => {
    expect(failure(() => parseEnv({ PORT: 'eighty' }))).toEqual(
      refused('PORT: must be a port number (0-65535; 0 picks a free port)'),
    );
  });

  it('refuses a PORT out of range', () => {
    expect(failure(() => parseEnv({ PORT: '65536' }))).toEqual(
      refused('PORT: must be a port number (0-65535; 0 picks a free port)'),
    );
    expect(failure(() => parseEnv({ PORT: '-1' }))).toEqual(
      refused('PORT: must be a port number (0-65535; 0 picks a free port)'),
    );
  });

  it('refuses a fractional PORT', () => {
    expect(failure(() => parseEnv({ PORT: '80.5' }))).toEqual(
      refused('PORT: must be a port number (0-65535; 0 picks a free port)'),
    );
  });

  it('refuses a BATON_ISSUER that is not a URL', () => {
    expect(failure(() => parseEnv({ BATON_ISSUER: 'baton.example' }))).toEqual(
      refused('BATON_ISSUER: must be an http(s) URL'),
    );
  });

  it('refuses a BATON_ISSUER that is not http(s)', () => {
    expect(failure(() => parseEnv({ BATON_ISSUER: 'ftp://baton.example' }))).toEqual(
      refused('BATON_ISSUER: must be an http(s) URL'),
    );
  });

  it('refuses a BATON_ISSUER with a query or fragment', () => {
    expect(failure(() => parseEnv({ BATON_ISSUER: 'https://baton.example/?tenant=1' }))).toEqual(
      refused('BATON_ISSUER: must not have a query or fragment'),
    );
    expect(failure(() => parseEnv({ BATON_ISSUER: 'https://baton.example/#top' }))).toEqual(
      refused('BATON_ISSUER: must not have a query or fragment'),
    );
  });

  it('refuses a BATON_ADMIN_TOKEN shorter than 32 characters', () => {
    expect(failure(() => parseEnv({ BATON_ADMIN_TOKEN: 'a'.repeat(31) }))).toEqual(
      refused('BATON_ADMIN_TOKEN: must be at least 32 characters (use: openssl rand -hex 32)'),
    );
  });

  it('accepts a BATON_ADMIN_TOKEN of exactly 32 characters', () => {
    expect(parseEnv({ BATON_ADMIN_TOKEN: 'b'.repeat(32) }).adminToken).toEqual('b'.repeat(32));
  });

  it('refuses an unknown BATON_SYNC', () => {
    expect(failure(() => parseEnv({ BATON_SYNC: 'OFF' }))).toEqual(
      refused('BATON_SYNC: must be one of: FULL, NORMAL'),
    );
  });

  it('reports every bad variable at once, one line each', () => {
    expect(
      failure(() => parseEnv({ PORT: 'x', BATON_ISSUER: 'nope', BATON_ADMIN_TOKEN: 'short' })),
    ).toEqual(
      refused(
        [
          'PORT: must be a port number (0-65535; 0 picks a free port)',
          'BATON_ISSUER: must be an http(s) URL',
          'BATON_ADMIN_TOKEN: must be at least 32 characters (use: openssl rand -hex 32)',
        ].join('\n'),
      ),
    );
  });
});
