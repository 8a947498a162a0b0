/**
 * Migration 0004 fills in `root_jti` and `hop` for a ledger written before it (its
 * hand-written backfill): each chain walked from its root, a token whose parent is absent
 * counted as a root; a deep legacy chain then stops growing at the chain bound.
 */
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import Database from 'better-sqlite3';
import { drizzle } from 'drizzle-orm/better-sqlite3';
import { migrate } from 'drizzle-orm/better-sqlite3/migrator';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { MIGRATIONS_FOLDER, openSqliteStore } from '../../broker/store/sqlite-store.js';

let dir: string;
beforeEach(() => {
  dir = mkdtempSync(path.join(tmpdir(), 'baton-mig-'));
});
afterEach(() => {
  rmSync(dir, { recursive: true, force: true });
});

/** A database migrated only up to 0003, as a broker from before 0004 left it. */
function legacyDatabase(file: string): Database.Database {
  const folder = path.join(dir, 'migrations-0003');
  cpSync(MIGRATIONS_FOLDER, folder, { recursive: true });
  const journalFile = path.join(folder, 'meta', '_journal.json');
  const journal = JSON.parse(readFileSync(journalFile, 'utf8')) as {
    entries: Array<{ idx: number }>;
  };
  journal.entries = journal.entries.filter((e) => e.idx <= 3);
  writeFileSync(journalFile, JSON.stringify(journal));
  const sqlite = new Database(file);
  migrate(drizzle(sqlite), { migrationsFolder: folder });
  return sqlite;
}

describe('migration 0004', () => {
  it('gives every legacy token its chain root and hop', async () => {
    const file = path.join(dir, 'baton.db');
    const legacy = legacyDatabase(file);
    const insert = legacy.prepare(
      `INSERT INTO tokens (jti, parent_jti, sub, client_id, grant_type, scope, aud, iat, exp)
       VALUES (?, ?, 'alice', 'planner', 'g', 's', '[]', 1, 2)`,
    );
    const deep = Array.from({ length: 100 }, (_, i) => `d${i}`);
    deep.forEach((jti, i) => insert.run(jti, i === 0 ? null : deep[i - 1]!));
    insert.run('side', 'd1');
    // Its parent was never recorded (an outside token): a root of its own.
    insert.run('orphan', 'unknown');
    insert.run('orphan-child', 'orphan');
    legacy.close();

    const store = openSqliteStore(file);
    try {
      const rows = store.sqlite.prepare('SELECT jti, root_jti, hop FROM tokens').all() as Array<{
        jti: string;
        root_jti: string;
        hop: number;
      }>;
      const byJti = new Map(rows.map((r) => [r.jti, [r.root_jti, r.hop]]));
      expect(byJti.get('d0')).toEqual(['d0', 0]);
      expect(byJti.get('d99')).toEqual(['d0', 99]);
      expect(byJti.get('side')).toEqual(['d0', 2]);
      expect(byJti.get('orphan')).toEqual(['orphan', 0]);
      expect(byJti.get('orphan-child')).toEqual(['orphan', 1]);
      // The audit walk then finds the whole legacy chain.
      expect((await store.chain('d99')).map((t) => t.jti)).toEqual(deep);
      expect(await store.ledgerState('d99')).toEqual({ revokedAt: null, hop: 99 });
    } finally {
      await store.close();
    }
  });
});
