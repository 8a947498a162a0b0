/**
 * The policy file (SPEC §2), validated with zod once at start. Objects are strict so a
 * typo'd key is refused; cross-field rules (auth method vs. credentials, duplicate ids,
 * `agent:` audiences that name no client) run in `superRefine`, so every mistake is
 * reported at start-up, never at the first request.
 * @module
 */
import { readFileSync } from 'node:fs';
import { z } from 'zod';
import { GRANT_CIBA, GRANT_CLIENT_CREDENTIALS, GRANT_TOKEN_EXCHANGE } from '../tokens/claims.js';
import { ConfigError, formatIssues, issueSentence, jsonSyntaxProblem } from './format-issues.js';
import { forTerminal } from '../text/show.js';
import { isUsername, USERNAME_RULE } from '../text/username.js';
import { isPasswordHash } from './password.js';
import { clientIdUrlProblem } from '../mcp-auth/cimd.js';
import {
  DEFAULT_RETENTION_FILE,
  RetentionSchema,
  toRetention,
  type Retention,
} from '../ledger/retention.js';
import { DEFAULT_KEYS_FILE, KeysSchema, toKeyRules, type KeyRules } from '../tokens/key-rules.js';

export const AUTH_METHODS = [
  'client_secret_basic',
  'client_secret_post',
  'private_key_jwt',
] as const;
export type AuthMethod = (typeof AUTH_METHODS)[number];
export const GRANT_TYPES = [GRANT_TOKEN_EXCHANGE, GRANT_CIBA, GRANT_CLIENT_CREDENTIALS] as const;
export type GrantType = (typeof GRANT_TYPES)[number];

/** RFC 6749 §3.3 scope-token: printable ASCII except space, `"` and `\`. */
const ScopeToken = z.string().regex(/^[\x21\x23-\x5B\x5D-\x7E]+$/, 'is not a valid scope token');

/**
 * JSON has no comments, so a policy file may carry notes in a `"$comment"` key (the name
 * JSON Schema uses) at the top and in each issuer, user and client: a string or a list of
 * lines. Baton ignores them; `npx baton init` writes its guidance there.
 */
const Comment = z
  .union([z.string(), z.array(z.string())], { error: 'must be a string or a list of strings' })
  .optional();

const Jwk = z
  .looseObject({ kty: z.string() })
  .refine((k) => !('d' in k), 'holds private key material ("d"); publish only public keys');
const Jwks = z.strictObject({ keys: z.array(Jwk) });
const HttpsUrl = z.url({ protocol: /^https?$/, error: 'must be an http(s) URL' });

/** Relaxations for a developer's machine, all off unless the file turns them on. */
const Development = z.strictObject({
  /**
   * `jwks_uri`, and an MCP client's metadata document URL (`mcp-auth/cimd.ts`), over
   * http and on private or loopback addresses (a local key server or MCP client).
   */
  allow_insecure_key_urls: z.boolean().default(false),
});

const Ttls = z
  .strictObject({
    default_ttl_seconds: z.number().int().min(1).max(86_400).default(300),
    max_ttl_seconds: z.number().int().min(1).max(86_400).default(3600),
  })
  .refine((t) => t.default_ttl_seconds <= t.max_ttl_seconds, {
    message: 'default_ttl_seconds must not exceed max_ttl_seconds',
    path: ['default_ttl_seconds'],
  });

const TrustedIssuer = z
  .strictObject({
    $comment: Comment,
    issuer: z.string().min(1),
    jwks: Jwks.optional(),
    jwks_uri: HttpsUrl.optional(),
    audience: z.string().min(1),
  })
  .superRefine((t, ctx) => {
    if ((t.jwks === undefined) === (t.jwks_uri === undefined)) {
      ctx.addIssue({
        code: 'custom',
        message: 'needs exactly one of jwks or jwks_uri',
        path: ['jwks'],
      });
    }
  });

const User = z.strictObject({
  $comment: Comment,
  // The one username rule, shared with CIBA login_hint and MCP request_approval.
  username: z.string().refine(isUsername, USERNAME_RULE),
  password_hash: z.string().refine(isPasswordHash, 'is not a hash from `npx baton hash-password`'),
});

/**
 * SPEC §10: a token bucket (requests per second, refilled continuously, up to `burst`).
 * Bounded so a typo cannot overflow the arithmetic; 1,000,000 is "effectively off".
 */
const RateLimitSchema = z.strictObject({
  requests_per_second: z.number().positive().max(1_000_000),
  burst: z.number().int().min(1).max(1_000_000),
});
export const DEFAULT_RATE_LIMITS = {
  requests_per_second: 50,
  burst: 100,
  failed_authentication: { requests_per_second: 5, burst: 50 },
} as const;
const RateLimits = z.strictObject({
  requests_per_second: RateLimitSchema.shape.requests_per_second.default(
    DEFAULT_RATE_LIMITS.requests_per_second,
  ),
  burst: RateLimitSchema.shape.burst.default(DEFAULT_RATE_LIMITS.burst),
  /** Per remote address, counting failed client authentications only. */
  failed_authentication: RateLimitSchema.default(DEFAULT_RATE_LIMITS.failed_authentication),
});

/** Longest consent an MCP client can hold (and so its refresh tokens): one year. */
export const MAX_CONSENT_TTL_SECONDS = 31_536_000;
export const DEFAULT_CONSENT_TTL_SECONDS = 2_592_000;

/**
 * SPEC §8: which standard MCP clients (Client ID Metadata Documents, dynamic
 * registration) may get a person's consent, and what they may hold. Absent: all accepted.
 */
const McpClients = z.strictObject({
  $comment: Comment,
  /** `all`, `none`, or the CIMD URLs (client_id) accepted. */
  accept: z
    .union([z.literal('all'), z.literal('none'), z.array(z.string())], {
      error: 'must be "all", "none" or a list of client metadata document URLs',
    })
    .default('all'),
  /** RFC 7591 registration; default true when `accept` is `all`, else false (a list is closed). */
  dynamic_registration: z.boolean().optional(),
  /** Scopes MCP clients may ask for; default: every scope a policy client holds. */
  scopes: z.array(ScopeToken).optional(),
  /** Audiences an MCP client's token may be exchanged for through the /mcp tools. */
  audiences: z.array(z.string()).optional(),
  consent_ttl_seconds: z
    .number()
    .int()
    .min(60)
    .max(MAX_CONSENT_TTL_SECONDS)
    .default(DEFAULT_CONSENT_TTL_SECONDS),
});

const Client = z.strictObject({
  $comment: Comment,
  client_id: z
    .string()
    .regex(/^[A-Za-z0-9._~-]{1,128}$/, 'must be 1-128 characters of A-Z a-z 0-9 . _ ~ -'),
  client_secret_sha256: z
    .string()
    .regex(
      /^[0-9a-f]{64}$/,
      'must be the 64 lowercase hex characters of a SHA-256 (npx baton new-client)',
    )
    .optional(),
  token_endpoint_auth_method: z.enum(AUTH_METHODS).default('client_secret_basic'),
  jwks: Jwks.optional(),
  jwks_uri: HttpsUrl.optional(),
  grant_types: z.array(z.enum(GRANT_TYPES)).min(1),
  scopes: z.array(ScopeToken).default([]),
  audiences: z.array(z.string()).default([]),
  max_ttl_seconds: z.number().int().min(1).max(86_400).optional(),
  /** Overrides `rate_limits` for this client. */
  rate_limit: RateLimitSchema.optional(),
});

const PolicySchema = z
  .strictObject({
    $comment: Comment,
    tokens: Ttls.default({ default_ttl_seconds: 300, max_ttl_seconds: 3600 }),
    max_delegation_depth: z.number().int().min(1).max(32).default(4),
    /** How long the ledger keeps expired rows (`ledger/retention.ts`). */
    retention: RetentionSchema.default(DEFAULT_RETENTION_FILE),
    development: Development.default({ allow_insecure_key_urls: false }),
    trusted_issuers: z.array(TrustedIssuer).default([]),
    users: z.array(User).default([]),
    clients: z.array(Client).min(1, 'at least one client is needed'),
    rate_limits: RateLimits.default(DEFAULT_RATE_LIMITS),
    /** Signing-key rotation and timing (`tokens/key-rules.ts`). */
    keys: KeysSchema.default(DEFAULT_KEYS_FILE),
    mcp_clients: McpClients.optional(),
  })
  .superRefine((p, ctx) => {
    const ids = new Set<string>();
    p.clients.forEach((c, i) => {
      if (ids.has(c.client_id)) {
        ctx.addIssue({
          code: 'custom',
          message: `duplicate client_id "${forTerminal(c.client_id)}"`,
          path: ['clients', i, 'client_id'],
        });
      }
      ids.add(c.client_id);
      const usesSecret = c.token_endpoint_auth_method !== 'private_key_jwt';
      if (usesSecret && c.client_secret_sha256 === undefined) {
        ctx.addIssue({
          code: 'custom',
          message: `required for ${c.token_endpoint_auth_method}`,
          path: ['clients', i, 'client_secret_sha256'],
        });
      }
      if (usesSecret && (c.jwks !== undefined || c.jwks_uri !== undefined)) {
        ctx.addIssue({
          code: 'custom',
          message: 'jwks/jwks_uri only go with private_key_jwt',
          path: ['clients', i, 'token_endpoint_auth_method'],
        });
      }
      if (!usesSecret) {
        if (c.client_secret_sha256 !== undefined) {
          ctx.addIssue({
            code: 'custom',
            message: 'a private_key_jwt client has no secret',
            path: ['clients', i, 'client_secret_sha256'],
          });
        }
        if ((c.jwks === undefined) === (c.jwks_uri === undefined)) {
          ctx.addIssue({
            code: 'custom',
            message: 'private_key_jwt needs exactly one of jwks or jwks_uri',
            path: ['clients', i, 'jwks'],
          });
        }
      }
      if ((c.max_ttl_seconds ?? 0) > p.tokens.max_ttl_seconds) {
        ctx.addIssue({
          code: 'custom',
          message: `exceeds tokens.max_ttl_seconds (${p.tokens.max_ttl_seconds})`,
          path: ['clients', i, 'max_ttl_seconds'],
        });
      }
    });
    // Audiences are checked once every client id is known, so agent:<id> can be resolved.
    p.clients.forEach((c, i) => {
      c.audiences.forEach((aud, j) => {
        const problem = audienceProblem(aud, ids);
        if (problem)
          ctx.addIssue({ code: 'custom', message: problem, path: ['clients', i, 'audiences', j] });
      });
    });
    const issuers = new Set<string>();
    p.trusted_issuers.forEach((t, i) => {
      if (issuers.has(t.issuer)) {
        ctx.addIssue({
          code: 'custom',
          message: `duplicate issuer "${forTerminal(t.issuer, 200)}"`,
          path: ['trusted_issuers', i, 'issuer'],
        });
      }
      issuers.add(t.issuer);
    });
    // A key set fetched over http can be swapped in transit; http is for a local key server only.
    if (!p.development.allow_insecure_key_urls) {
      const message = 'must be https (http only with development.allow_insecure_key_urls)';
      const isHttp = (uri: string | undefined) =>
        uri !== undefined && new URL(uri).protocol === 'http:';
      p.trusted_issuers.forEach((t, i) => {
        if (isHttp(t.jwks_uri))
          ctx.addIssue({ code: 'custom', message, path: ['trusted_issuers', i, 'jwks_uri'] });
      });
      p.clients.forEach((c, i) => {
        if (isHttp(c.jwks_uri))
          ctx.addIssue({ code: 'custom', message, path: ['clients', i, 'jwks_uri'] });
      });
    }
    if (p.mcp_clients !== undefined) {
      const m = p.mcp_clients;
      if (Array.isArray(m.accept)) {
        m.accept.forEach((url, i) => {
          const problem = clientIdUrlProblem(url, p.development.allow_insecure_key_urls);
          if (problem)
            ctx.addIssue({ code: 'custom', message: problem, path: ['mcp_clients', 'accept', i] });
        });
      }
      m.audiences?.forEach((aud, j) => {
        const problem = audienceProblem(aud, ids);
        if (problem)
          ctx.addIssue({ code: 'custom', message: problem, path: ['mcp_clients', 'audiences', j] });
      });
    }
    const users = new Set<string>();
    p.users.forEach((u, i) => {
      // Case-insensitively: usernames match that way (approvals/policy-user.ts).
      if (users.has(u.username.toLowerCase())) {
        ctx.addIssue({
          code: 'custom',
          message: `duplicate username "${forTerminal(u.username)}"`,
          path: ['users', i, 'username'],
        });
      }
      users.add(u.username.toLowerCase());
    });
  });

/** Whitespace, control (Cc), format (Cf: bidi, zero-width) and separator characters. */
const UNMEANT_CHARACTERS = /[\s\p{C}\p{Z}]/u;

/**
 * SPEC §2: an audience is a logical name (RFC 8693 §2.1 `audience`, e.g. `mail-api`), an
 * absolute URI (an API's URL, an RFC 8707 resource, a URN), or `agent:<client_id>`, a
 * hand-off to a client in this file. Only what cannot be meant is refused: an empty value,
 * whitespace or control characters, an `agent:` naming no client, a URI with a fragment
 * (RFC 8707 §2). Returns the problem as a sentence, or undefined. (`npx baton
 * new-client` runs its entry through `parsePolicy`, so it applies this very rule.)
 */
function audienceProblem(aud: string, clientIds: ReadonlySet<string>): string | undefined {
  if (aud === '') return 'must not be empty';
  const shown = `"${forTerminal(aud, 200)}"`;
  if (UNMEANT_CHARACTERS.test(aud))
    return `${shown} must not contain whitespace or control characters`;
  if (aud.startsWith('agent:')) {
    return clientIds.has(aud.slice('agent:'.length))
      ? undefined
      : `${shown} names no client in this file`;
  }
  if (aud.includes('#') && URL.canParse(aud)) return `${shown} must not have a fragment`;
  return undefined;
}

export type PolicyFile = z.input<typeof PolicySchema>;
type ParsedPolicy = z.output<typeof PolicySchema>;
type ParsedClient = ParsedPolicy['clients'][number];

/** A registered client, camelCased for use inside the broker. */
export interface ClientPolicy {
  readonly clientId: string;
  readonly secretSha256: Buffer | undefined;
  readonly authMethod: AuthMethod;
  readonly jwks: { keys: Array<Record<string, unknown>> } | undefined;
  readonly jwksUri: string | undefined;
  readonly grantTypes: ReadonlySet<string>;
  readonly scopes: readonly string[];
  readonly audiences: ReadonlySet<string>;
  readonly maxTtlSeconds: number;
}

export interface TrustedIssuerPolicy {
  readonly issuer: string;
  readonly jwks: { keys: Array<Record<string, unknown>> } | undefined;
  readonly jwksUri: string | undefined;
  readonly audience: string;
}

/** A token bucket: sustained `ratePerSecond`, at most `burst` at once. */
export interface RateLimit {
  readonly ratePerSecond: number;
  readonly burst: number;
}

export interface RateLimitPolicy {
  /** Each authenticated client's limit, unless `clients` has its own. */
  readonly perClient: RateLimit;
  readonly clients: ReadonlyMap<string, RateLimit>;
  /** Failed client authentications per remote address. */
  readonly failedAuthentication: RateLimit;
}

const toRateLimit = (r: { requests_per_second: number; burst: number }): RateLimit =>
  Object.freeze({ ratePerSecond: r.requests_per_second, burst: r.burst });

export interface Policy {
  readonly defaultTtlSeconds: number;
  readonly maxTtlSeconds: number;
  readonly maxDelegationDepth: number;
  /** How long the ledger keeps expired rows; the background pruner reads it. */
  readonly retention: Retention;
  /** `development.allow_insecure_key_urls`: http and non-public addresses for `jwks_uri` and CIMD URLs. */
  readonly allowInsecureKeyUrls: boolean;
  readonly trustedIssuers: ReadonlyMap<string, TrustedIssuerPolicy>;
  readonly users: ReadonlyMap<string, string>;
  readonly clients: ReadonlyMap<string, ClientPolicy>;
  /** Every scope any client may hold, for `scopes_supported`. */
  readonly scopesSupported: readonly string[];
  readonly rateLimits: RateLimitPolicy;
  /** Signing-key rotation and timing, with `maxTtlSeconds` (`tokens/key-rules.ts`). */
  readonly keys: KeyRules;
  /** `mcp_clients`, defaults filled in; read it through `mcp-auth/mcp-clients-policy.ts`. */
  readonly mcpClients: McpClientsPolicy;
}

/** SPEC §8: which standard MCP clients are accepted and what they may hold. */
export interface McpClientsPolicy {
  /** Clients identified by a metadata document: `all`, `none`, or the URLs accepted. */
  readonly accept: 'all' | 'none' | readonly string[];
  /** RFC 7591 registration (default: on when `accept` is `all`). */
  readonly dynamicRegistration: boolean;
  /** Scopes an MCP client may ask a person for. */
  readonly scopes: readonly string[];
  /** Audiences an MCP client's token may be exchanged for through the /mcp tools. */
  readonly audiences: readonly string[];
  /** How long a consent (and every refresh token under it) lasts. */
  readonly consentTtlSeconds: number;
}

function toClient(c: ParsedClient, policyMax: number): ClientPolicy {
  return Object.freeze({
    clientId: c.client_id,
    secretSha256:
      c.client_secret_sha256 === undefined ? undefined : Buffer.from(c.client_secret_sha256, 'hex'),
    authMethod: c.token_endpoint_auth_method,
    jwks: c.jwks,
    jwksUri: c.jwks_uri,
    grantTypes: new Set(c.grant_types),
    scopes: [...new Set(c.scopes)],
    audiences: new Set(c.audiences),
    maxTtlSeconds: Math.min(c.max_ttl_seconds ?? policyMax, policyMax),
  });
}

/**
 * Validates a parsed JSON value as a policy. Throws `ConfigError` listing every
 * problem as `path.to.field: what is wrong`.
 */
export function parsePolicy(input: unknown, issuer: string): Policy {
  const secretInClear = findClearSecret(input);
  if (secretInClear) throw new ConfigError(secretInClear);
  const parsed = PolicySchema.safeParse(input, { error: issueSentence });
  if (!parsed.success) throw new ConfigError(formatIssues(parsed.error));
  const p = parsed.data;
  const own = p.trusted_issuers.findIndex((t) => t.issuer === issuer);
  if (own >= 0) {
    throw new ConfigError(
      `trusted_issuers.${own}.issuer: is Baton's own issuer (${issuer}); list other issuers only`,
    );
  }
  return Object.freeze({
    defaultTtlSeconds: p.tokens.default_ttl_seconds,
    maxTtlSeconds: p.tokens.max_ttl_seconds,
    maxDelegationDepth: p.max_delegation_depth,
    retention: toRetention(p.retention),
    allowInsecureKeyUrls: p.development.allow_insecure_key_urls,
    trustedIssuers: new Map(
      p.trusted_issuers.map((t) => [
        t.issuer,
        Object.freeze({
          issuer: t.issuer,
          jwks: t.jwks,
          jwksUri: t.jwks_uri,
          audience: t.audience,
        }),
      ]),
    ),
    users: new Map(p.users.map((u) => [u.username, u.password_hash])),
    clients: new Map(p.clients.map((c) => [c.client_id, toClient(c, p.tokens.max_ttl_seconds)])),
    scopesSupported: scopesSupported(p),
    keys: toKeyRules(p.keys, p.tokens.max_ttl_seconds),
    rateLimits: Object.freeze({
      perClient: toRateLimit(p.rate_limits),
      clients: new Map(
        p.clients.flatMap((c) =>
          c.rate_limit ? [[c.client_id, toRateLimit(c.rate_limit)] as const] : [],
        ),
      ),
      failedAuthentication: toRateLimit(p.rate_limits.failed_authentication),
    }),
    mcpClients: toMcpClients(p),
  });
}

/**
 * Every scope a client of this broker may hold: policy clients' and, when MCP clients are
 * accepted at all, the scopes they may ask a person for (a standard MCP client reads
 * `scopes_supported` to know what to request).
 */
function scopesSupported(p: ParsedPolicy): string[] {
  const mcp = toMcpClients(p);
  const mcpScopes = mcp.accept === 'none' && !mcp.dynamicRegistration ? [] : mcp.scopes;
  return [...new Set([...p.clients.flatMap((c) => c.scopes), ...mcpScopes])].sort();
}

function toMcpClients(p: ParsedPolicy): McpClientsPolicy {
  const m = p.mcp_clients;
  const accept = m?.accept ?? 'all';
  return Object.freeze({
    accept: Array.isArray(accept) ? Object.freeze([...new Set(accept)]) : accept,
    dynamicRegistration: m?.dynamic_registration ?? accept === 'all',
    scopes: [...new Set(m?.scopes ?? p.clients.flatMap((c) => c.scopes))].sort(),
    audiences: [...new Set(m?.audiences ?? p.clients.flatMap((c) => c.audiences))].sort(),
    consentTtlSeconds: m?.consent_ttl_seconds ?? DEFAULT_CONSENT_TTL_SECONDS,
  });
}

/** A clear-text secret gets a message that says what to do, not just "unknown key". */
function findClearSecret(input: unknown): string | undefined {
  if (typeof input !== 'object' || input === null) return undefined;
  const clients = (input as { clients?: unknown }).clients;
  if (!Array.isArray(clients)) return undefined;
  for (const [i, c] of clients.entries()) {
    if (typeof c !== 'object' || c === null || !('client_secret' in c)) continue;
    const secret = (c as { client_secret: unknown }).client_secret;
    const short =
      typeof secret === 'string' && secret.length < 32
        ? ' (and it is shorter than 32 characters)'
        : '';
    return `clients.${i}.client_secret: secrets are never stored in clear${short}; put its SHA-256 in client_secret_sha256 (npx baton new-client makes both)`;
  }
  return undefined;
}

/** Reads a policy file as JSON, without validating it; the error names the file. */
export function readPolicyJson(file: string): unknown {
  let text: string;
  try {
    // RFC 8259 §8.1: a byte order mark (some editors write one) may be ignored.
    text = readFileSync(file, 'utf8').replace(/^\uFEFF/, '');
  } catch (error) {
    throw new ConfigError(
      `BATON_POLICY: cannot read ${file}: ${(error as NodeJS.ErrnoException).code ?? 'error'}`,
    );
  }
  const syntax = jsonSyntaxProblem(text);
  if (syntax !== undefined) throw new ConfigError(`${file}: not valid JSON at ${syntax}`);
  return JSON.parse(text) as unknown;
}

/** Reads and validates the policy file; the error names the file and each bad field. */
export function loadPolicyFile(file: string, issuer: string): Policy {
  const json = readPolicyJson(file);
  try {
    return parsePolicy(json, issuer);
  } catch (error) {
    if (error instanceof ConfigError)
      throw new ConfigError(`${file} is not a valid policy:\n${error.message}`);
    throw error;
  }
}
