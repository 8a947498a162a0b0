/** The Store contract on SQLite: a fresh temp-file database per test. */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { openSqliteStore } from '../../../broker/store/sqlite-store.js';
import { defineStoreContract } from './store-contract.js';

defineStoreContract('SQLite', async () => {
  const dir = mkdtempSync(path.join(tmpdir(), 'baton-contract-'));
  const store = openSqliteStore(path.join(dir, 'baton.db'));
  return {
    store,
    async close() {
      await store.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
});
