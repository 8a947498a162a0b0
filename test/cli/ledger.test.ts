/**
 * `openExistingStore`, the one way CLI commands open the ledger: a missing database is
 * refused (and nothing is created) unless the caller asks to create one, and the file in
 * use is named as an absolute path.
 */
import { existsSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { openExistingStore } from '../../broker/cli/ledger.js';
import { parseEnv } from '../../broker/config/env.js';
import { ConfigError } from '../../broker/config/format-issues.js';
import { describeStore, storeLocation } from '../../broker/store/open-store.js';

let dir: string;
beforeEach(() => {
  dir = mkdtempSync(path.join(tmpdir(), 'baton-ledger-'));
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

describe('openExistingStore', () => {
  it('refuses a missing database and creates nothing', async () => {
    const file = path.join(dir, 'data', 'baton.db');
    const said: string[] = [];
    await expect(
      openExistingStore(parseEnv({ BATON_DB: file }), { say: (l) => said.push(l) }),
    ).rejects.toThrow(
      new ConfigError(
        `no ledger at ${file} (BATON_DB): point BATON_DB at the broker's database, or start the broker once (npm start) to create it`,
      ),
    );
    expect({ said, exists: existsSync(path.join(dir, 'data')) }).toEqual({
      said: [],
      exists: false,
    });
  });

  it('creates one when asked, names it, and then opens it as an existing ledger', async () => {
    const file = path.join(dir, 'data', 'baton.db');
    const said: string[] = [];
    const created = await openExistingStore(parseEnv({ BATON_DB: file }), {
      create: true,
      say: (l) => said.push(l),
    });
    await created.close();
    const reopened = await openExistingStore(parseEnv({ BATON_DB: file }), {
      say: (l) => said.push(l),
    });
    await reopened.close();
    expect(said).toEqual([`ledger: ${file}`, `ledger: ${file}`]);
  });

  it('refuses a folder in place of the database file', async () => {
    mkdirSync(path.join(dir, 'baton.db'));
    await expect(
      openExistingStore(parseEnv({ BATON_DB: path.join(dir, 'baton.db') }), { say: () => {} }),
    ).rejects.toThrow(new ConfigError(`BATON_DB: ${path.join(dir, 'baton.db')} is not a file`));
  });

  it('names a PostgreSQL database without its password, and refuses a URL of another kind', async () => {
    const env = { ...parseEnv({ BATON_DB: path.join(dir, 'absent.db') }) };
    const where = storeLocation({
      ...env,
      databaseUrl: 'postgres://baton:s3cret@db.internal:5432/baton',
    });
    expect(describeStore(where)).toBe('postgres://baton:***@db.internal:5432/baton');
    expect(() => storeLocation({ ...env, databaseUrl: 'mysql://db/baton' })).toThrow(
      /^BATON_DATABASE_URL: must be a postgres:\/\/ \(or postgresql:\/\/\) URL/,
    );
    expect(storeLocation(env)).toEqual({ kind: 'sqlite', file: path.join(dir, 'absent.db') });
  });
});
