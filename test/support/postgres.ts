/**
 * A fresh PostgreSQL database for one test file, on the server the globalSetup started
 * (`postgres-global.ts`) or the one `BATON_TEST_DATABASE_URL` names. Fails loudly when
 * there is none: PostgreSQL tests never skip.
 */
import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { inject } from 'vitest';

/** Creates a database with a random name (dropped after the run); resolves its URL. */
export async function freshPgDatabase(): Promise<string> {
  const admin = inject('batonPgAdminUrl');
  if (typeof admin !== 'string' || admin === '')
    throw new Error('no PostgreSQL for the tests: the vitest globalSetup did not provide one');
  const name = `baton_test_${inject('batonPgRunId')}_${randomBytes(6).toString('hex')}`;
  const client = new pg.Client({ connectionString: admin });
  await client.connect();
  try {
    await client.query(`CREATE DATABASE ${name}`);
  } finally {
    await client.end();
  }
  const url = new URL(admin);
  url.pathname = `/${name}`;
  return url.toString();
}
