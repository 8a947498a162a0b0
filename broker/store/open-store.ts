/**
 * The one place that turns configuration into a `Store`: the broker (`main.ts`) and every
 * CLI command that reads or changes the ledger (`cli/ledger.ts`) open it here, so which
 * database Baton uses is decided once. SQLite at `BATON_DB` is the default; a
 * `BATON_DATABASE_URL` of `postgres://` (or `postgresql://`) selects the PostgreSQL store
 * that several brokers share (issue 12, SPEC §9).
 * @module
 */
import { ConfigError } from '../config/format-issues.js';
import { openPgStore } from './pg-store.js';
import { openSqliteStore } from './sqlite-store.js';
import type { Store } from './store.js';

/** What `openStore` reads from the environment (`BrokerEnv` has it). */
export interface StoreEnv {
  /** `BATON_DB`: the SQLite file, used when no database URL is set. */
  readonly dbFile: string;
  /** `BATON_SYNC`: SQLite's durability. */
  readonly synchronous: 'FULL' | 'NORMAL';
  /** `BATON_DATABASE_URL`: a PostgreSQL server in place of the SQLite file. */
  readonly databaseUrl?: string | undefined;
  /** `BATON_DATABASE_POOL`: PostgreSQL connections at most (default 10). */
  readonly databasePool?: number | undefined;
}

/** Which database the environment names. */
export type StoreLocation = { kind: 'sqlite'; file: string } | { kind: 'postgres'; url: string };

export function storeLocation(env: StoreEnv): StoreLocation {
  if (env.databaseUrl === undefined) return { kind: 'sqlite', file: env.dbFile };
  const scheme = /^([a-z][a-z0-9+.-]*):\/\//i.exec(env.databaseUrl)?.[1]?.toLowerCase();
  if (scheme === 'postgres' || scheme === 'postgresql')
    return { kind: 'postgres', url: env.databaseUrl };
  throw new ConfigError(
    'BATON_DATABASE_URL: must be a postgres:// (or postgresql://) URL; unset it to use the SQLite file at BATON_DB',
  );
}

/** The database as people may read it: the SQLite file, or the URL without its password. */
export function describeStore(where: StoreLocation): string {
  if (where.kind === 'sqlite') return where.file;
  try {
    const url = new URL(where.url);
    if (url.password !== '') url.password = '***';
    return url.toString();
  } catch {
    return 'postgres://(unparsable URL)';
  }
}

/** Opens the configured store, applying its migrations; callers `close()` it. */
export async function openStore(env: StoreEnv): Promise<Store> {
  const where = storeLocation(env);
  switch (where.kind) {
    case 'sqlite':
      return openSqliteStore(where.file, { synchronous: env.synchronous });
    case 'postgres':
      return openPgStore(where.url, { maxConnections: env.databasePool ?? 10 });
    default: {
      const unknown: never = where;
      throw new TypeError(`unknown store ${String(unknown)}`);
    }
  }
}
