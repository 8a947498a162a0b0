/**
 * The environment (SPEC §1), parsed once at start into a readonly config. Every
 * variable is optional; a bad value stops start-up with `NAME: what is wrong`.
 * @module
 */
import { z } from 'zod';
import { ConfigError, formatIssues, issueSentence } from './format-issues.js';

/** A count of connections, 1 to `max`. */
const connections = (max: number, fallback: number) =>
  z
    .string()
    .regex(/^\d{1,7}$/, `must be a whole number of connections (1-${max})`)
    .transform(Number)
    .pipe(z.number().min(1, 'must be at least 1').max(max, `must be at most ${max}`))
    .default(fallback);

/** A duration in milliseconds, 1 ms to 1 hour. */
const millis = (fallback: number) =>
  z
    .string()
    .regex(/^\d{1,7}$/, 'must be a whole number of milliseconds')
    .transform(Number)
    .pipe(
      z
        .number()
        .min(1, 'must be at least 1 ms')
        .max(3_600_000, 'must be at most 3600000 ms (1 hour)'),
    )
    .default(fallback);

/** `scheme://host[:port]` exactly: an http(s) origin as a browser sends it. */
function isOrigin(value: string): boolean {
  try {
    const url = new URL(value);
    return (url.protocol === 'http:' || url.protocol === 'https:') && url.origin === value;
  } catch {
    return false;
  }
}

/** A PostgreSQL connection URL with a server: a host, or a socket folder as `?host=`. */
function isPostgresUrl(value: string): boolean {
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    return false;
  }
  return (
    (url.protocol === 'postgres:' || url.protocol === 'postgresql:') &&
    (url.hostname !== '' || url.searchParams.has('host'))
  );
}

const EnvSchema = z.object({
  PORT: z
    .string()
    .regex(/^\d{1,5}$/, 'must be a port number (0-65535; 0 picks a free port)')
    .transform(Number)
    .pipe(z.number().max(65535, 'must be a port number (0-65535; 0 picks a free port)'))
    .default(8787),
  HOST: z.string().min(1).default('127.0.0.1'),
  BATON_ISSUER: z
    .url({ protocol: /^https?$/, error: 'must be an http(s) URL' })
    .refine((u) => !u.includes('#') && !u.includes('?'), 'must not have a query or fragment')
    .optional(),
  BATON_DB: z.string().min(1).default('./data/baton.db'),
  BATON_POLICY: z.string().min(1).optional(),
  BATON_ADMIN_TOKEN: z
    .string()
    .min(32, 'must be at least 32 characters (use: openssl rand -hex 32)')
    .optional(),
  BATON_SYNC: z.enum(['FULL', 'NORMAL']).default('FULL'),
  // SPEC §9: several brokers on one PostgreSQL. The message never repeats the value: it
  // may hold a password.
  BATON_DATABASE_URL: z
    .string()
    .refine(
      isPostgresUrl,
      'must be a postgres:// (or postgresql://) URL naming a server, e.g. postgres://baton:PASSWORD@db.internal:5432/baton; unset it to use the SQLite file at BATON_DB',
    )
    .optional(),
  // Each broker holds at most this many; brokers × pool must stay under the server's
  // max_connections (100 by default), so ten brokers want 9 or fewer.
  BATON_DATABASE_POOL: connections(1000, 10),
  // Browser origins /mcp serves besides the issuer's own (browser-based MCP clients).
  BATON_MCP_ALLOWED_ORIGINS: z
    .string()
    .transform((v) =>
      v
        .split(',')
        .map((o) => o.trim())
        .filter((o) => o !== ''),
    )
    .refine(
      (list) => list.every(isOrigin),
      'must be a comma-separated list of origins like http://localhost:6274 (http or https, no path)',
    )
    .default([]),
  // SPEC §10 operations: connection limits (milliseconds) and logging.
  BATON_HEADERS_TIMEOUT_MS: millis(10_000),
  BATON_REQUEST_TIMEOUT_MS: millis(30_000),
  BATON_IDLE_TIMEOUT_MS: millis(5_000),
  BATON_SHUTDOWN_TIMEOUT_MS: millis(10_000),
  BATON_MAX_CONNECTIONS: connections(100_000, 512),
  BATON_LOG_LEVEL: z.enum(['silent', 'fatal', 'error', 'warn', 'info', 'debug']).default('info'),
});

export interface BrokerEnv {
  readonly port: number;
  readonly host: string;
  /** The public URL, without a trailing slash. */
  readonly issuer: string;
  readonly dbFile: string;
  readonly policyFile: string | undefined;
  readonly adminToken: string | undefined;
  readonly synchronous: 'FULL' | 'NORMAL';
  /** `BATON_DATABASE_URL`: the PostgreSQL server several brokers share (SPEC §9); SQLite when unset. */
  readonly databaseUrl: string | undefined;
  /** `BATON_DATABASE_POOL`: connections this broker keeps to PostgreSQL at most. */
  readonly databasePool: number;
  /** `BATON_MCP_ALLOWED_ORIGINS`: browser origins `/mcp` serves besides the issuer's. */
  readonly mcpAllowedOrigins: readonly string[];
  /** SPEC §10: slow and idle connections are cut, and there are at most so many. */
  readonly server: {
    readonly headersTimeoutMs: number;
    readonly requestTimeoutMs: number;
    readonly idleTimeoutMs: number;
    readonly shutdownTimeoutMs: number;
    readonly maxConnections: number;
  };
  readonly logLevel: 'silent' | 'fatal' | 'error' | 'warn' | 'info' | 'debug';
}

/** Empty strings count as unset, as a shell's `VAR=` means "no value". */
function definedOnly(env: NodeJS.ProcessEnv): Record<string, string> {
  return Object.fromEntries(
    Object.entries(env).filter(([, v]) => v !== undefined && v !== ''),
  ) as Record<string, string>;
}

export function parseEnv(env: NodeJS.ProcessEnv = process.env): BrokerEnv {
  const parsed = EnvSchema.safeParse(definedOnly(env), { error: issueSentence });
  if (!parsed.success) throw new ConfigError(formatIssues(parsed.error));
  const e = parsed.data;
  const issuer = (
    e.BATON_ISSUER ?? `http://${e.HOST.includes(':') ? `[${e.HOST}]` : e.HOST}:${e.PORT}`
  ).replace(/\/+$/, '');
  return Object.freeze({
    port: e.PORT,
    host: e.HOST,
    issuer,
    dbFile: e.BATON_DB,
    policyFile: e.BATON_POLICY,
    adminToken: e.BATON_ADMIN_TOKEN,
    synchronous: e.BATON_SYNC,
    databaseUrl: e.BATON_DATABASE_URL,
    databasePool: e.BATON_DATABASE_POOL,
    mcpAllowedOrigins: Object.freeze(e.BATON_MCP_ALLOWED_ORIGINS),
    server: Object.freeze({
      headersTimeoutMs: e.BATON_HEADERS_TIMEOUT_MS,
      requestTimeoutMs: e.BATON_REQUEST_TIMEOUT_MS,
      idleTimeoutMs: e.BATON_IDLE_TIMEOUT_MS,
      shutdownTimeoutMs: e.BATON_SHUTDOWN_TIMEOUT_MS,
      maxConnections: e.BATON_MAX_CONNECTIONS,
    }),
    logLevel: e.BATON_LOG_LEVEL,
  });
}
