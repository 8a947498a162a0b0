/**
 * Group commit with the fsync off the event loop (`broker/store/wal-sync.ts`): a ledger
 * row's promise resolves only after an fsync of the WAL that started after the row was
 * committed; fsyncs never overlap, and one serves every batch that committed while the
 * previous one ran; the connection is back at synchronous=FULL after each batch, so the
 * store's other writes keep SQLite's own durable commit.
 */
import { fsync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import Database from 'better-sqlite3';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { openSqliteStore } from '../../broker/store/sqlite-store.js';
import { WalSync } from '../../broker/store/wal-sync.js';
import type { TokenRecord } from '../../broker/store/store.js';

let dir: string;
beforeEach(() => {
  dir = mkdtempSync(path.join(os.tmpdir(), 'baton-walsync-'));
});
afterEach(() => {
  rmSync(dir, { recursive: true, force: true });
});

/** An fsync that logs when it starts and ends, and takes `ms` longer than the real one. */
function slowFsync(events: string[], ms: number): typeof fsync {
  let n = 0;
  return ((fd: number, cb: (error: NodeJS.ErrnoException | null) => void) => {
    const id = ++n;
    events.push(`start ${id}`);
    fsync(fd, (error) => {
      setTimeout(() => {
        events.push(`end ${id}`);
        cb(error);
      }, ms);
    });
  }) as typeof fsync;
}

describe('WalSync', () => {
  it('answers a commit only after an fsync that began after it, one fsync at a time, coalescing the waiters', async () => {
    const file = path.join(dir, 'x-wal');
    writeFileSync(file, 'frames');
    const events: string[] = [];
    const wal = new WalSync(file, slowFsync(events, 30));
    const done = (name: string) =>
      new Promise<void>((resolve, reject) =>
        wal.afterCommit((error) => {
          if (error) reject(error);
          events.push(`done ${name}`);
          resolve();
        }),
      );
    const first = done('a');
    // Committed while fsync 1 runs: they must wait for fsync 2, which serves all three.
    const rest = [done('b'), done('c'), done('d')];
    await Promise.all([first, ...rest]);
    expect(events).toEqual([
      'start 1',
      'end 1',
      'done a',
      'start 2',
      'end 2',
      'done b',
      'done c',
      'done d',
    ]);
    await wal.idle();
    wal.close();
  });

  it('reports a WAL file it cannot open to every waiter instead of hanging', async () => {
    const wal = new WalSync(path.join(dir, 'missing-wal'));
    const error = await new Promise<Error | null>((resolve) => wal.afterCommit(resolve));
    expect(error).toBeInstanceOf(Error);
    expect((error as NodeJS.ErrnoException).code).toBe('ENOENT');
  });
});

const row = (jti: string): TokenRecord => ({
  jti,
  parentJti: null,
  sub: 'alice',
  act: { sub: 'agent-a' },
  clientId: 'agent-a',
  grantType: 'urn:ietf:params:oauth:grant-type:token-exchange',
  scope: 'x',
  aud: ['https://api.example'],
  iat: 1_900_000_000,
  exp: 1_900_000_300,
});

describe('the SQLite store under synchronous=FULL', () => {
  it('has a row readable from another connection once recordIssued resolves, and keeps FULL for its other writes', async () => {
    const file = path.join(dir, 'baton.db');
    const store = openSqliteStore(file);
    try {
      await Promise.all(Array.from({ length: 20 }, (_, i) => store.recordIssued(row(`t${i}`))));
      const other = new Database(file, { readonly: true });
      try {
        const { n } = other.prepare('SELECT count(*) AS n FROM tokens').get() as { n: number };
        expect(n).toBe(20);
      } finally {
        other.close();
      }
      // 2 = FULL: the batch's NORMAL commit does not leak into revocations and approvals.
      expect(store.sqlite.pragma('synchronous', { simple: true })).toBe(2);
      expect(await store.revokeCascade('t3', 1_900_000_010)).toBe(1);
    } finally {
      await store.close();
    }
  });

  it('rejects a queued row, and throws nothing uncaught, when the connection closed under the store', async () => {
    const store = openSqliteStore(path.join(dir, 'baton.db'));
    const pending = store.recordIssued(row('orphan'));
    store.sqlite.close();
    await expect(pending).rejects.toThrow(/not open/);
  });

  it('closes cleanly while a batch is still being synced', async () => {
    const store = openSqliteStore(path.join(dir, 'baton.db'));
    const pending = store.recordIssued(row('late'));
    await new Promise((resolve) => setImmediate(resolve));
    await store.close();
    await expect(pending).resolves.toBeUndefined();
  });
});
