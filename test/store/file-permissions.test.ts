/**
 * Issue 9 point 12: the database holds the private signing key, so its folder is created
 * 0700 and the file, with SQLite's -wal and -shm, 0600; an existing file others can read
 * is tightened when the store opens it.
 */
import { chmodSync, mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { openSqliteStore } from '../../broker/store/sqlite-store.js';

const mode = (file: string) => statSync(file).mode & 0o777;

let dir: string;
beforeEach(() => {
  dir = mkdtempSync(path.join(tmpdir(), 'baton-perm-'));
});
afterEach(() => {
  rmSync(dir, { recursive: true, force: true });
});

describe('the database file', () => {
  it('is created 0600 in a folder created 0700, and so are its -wal and -shm', async () => {
    const file = path.join(dir, 'data', 'nested', 'baton.db');
    const store = openSqliteStore(file);
    try {
      // A write makes sure the WAL and shared-memory files exist.
      await store.addSigningKey({
        kid: 'k',
        alg: 'ES256',
        privateJwk: '{}',
        publicJwk: '{}',
        createdAt: 1,
        retiredAt: null,
      });
      expect({
        data: mode(path.join(dir, 'data')),
        nested: mode(path.dirname(file)),
        db: mode(file),
        wal: mode(`${file}-wal`),
        shm: mode(`${file}-shm`),
      }).toEqual({ data: 0o700, nested: 0o700, db: 0o600, wal: 0o600, shm: 0o600 });
    } finally {
      await store.close();
    }
  });

  it('tightens an existing database file that others could read', async () => {
    const file = path.join(dir, 'baton.db');
    writeFileSync(file, '');
    chmodSync(file, 0o644);
    const store = openSqliteStore(file);
    try {
      expect(mode(file)).toBe(0o600);
    } finally {
      await store.close();
    }
  });

  it('leaves an existing folder as it is', async () => {
    chmodSync(dir, 0o755);
    const store = openSqliteStore(path.join(dir, 'baton.db'));
    await store.close();
    expect(mode(dir)).toBe(0o755);
  });
});
