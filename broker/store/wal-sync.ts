/**
 * Group commit's second half: the fsync that makes a committed batch of ledger rows
 * survive power loss, run on libuv's thread pool instead of the event loop.
 *
 * With `synchronous=FULL`, SQLite fsyncs the WAL inside every COMMIT, on the one thread
 * that also verifies, signs and answers every request: on an ordinary cloud disk that is
 * about 150 µs per commit during which nothing else runs. The ledger batch therefore
 * commits with `synchronous=NORMAL` (SQLite writes the WAL frames, no fsync) and the
 * store then asks this module to fsync the WAL file; the callers' promises resolve, and
 * the tokens go out, only once that fsync has returned. The guarantee is the same as
 * FULL's (a row is on disk before its client sees the token); the wait moves off the
 * event loop, which keeps verifying and signing other requests meanwhile.
 *
 * One fsync is in flight at a time. Batches that commit while it runs wait for the next
 * one, which starts as soon as it returns and covers all of them: under load one fsync
 * serves several batches (PostgreSQL's group commit works the same way).
 *
 * fsync on any descriptor of a file flushes that file's data (POSIX), so a read-only
 * descriptor of `<db>-wal` is enough. SQLite keeps the WAL file (same inode) for as long
 * as a connection is open, truncating or rewriting it in place after checkpoints;
 * checkpoints themselves sync the database file as under FULL.
 * @module
 */
import { closeSync, fsync, openSync } from 'node:fs';

type Done = (error: Error | null) => void;

export class WalSync {
  #fd: number | undefined;
  #inFlight = false;
  #waiting: Done[] = [];

  /** `fsyncFile` is `fs.fsync`; a test passes a wrapper that counts or delays. */
  constructor(
    readonly walFile: string,
    private readonly fsyncFile: typeof fsync = fsync,
  ) {}

  /** Calls `done` once everything written to the WAL before this call is on disk. */
  afterCommit(done: Done): void {
    this.#waiting.push(done);
    if (!this.#inFlight) this.#start();
  }

  #start(): void {
    const batch = this.#waiting;
    this.#waiting = [];
    let fd: number;
    try {
      fd = this.#fd ??= openSync(this.walFile, 'r');
    } catch (error) {
      for (const done of batch) done(error as Error);
      return;
    }
    this.#inFlight = true;
    this.fsyncFile(fd, (error) => {
      this.#inFlight = false;
      for (const done of batch) done(error);
      if (this.#waiting.length > 0) this.#start();
    });
  }

  /** Resolves once no fsync is running or waiting (before the database closes). */
  idle(): Promise<void> {
    if (!this.#inFlight && this.#waiting.length === 0) return Promise.resolve();
    return new Promise((resolve) => this.afterCommit(() => resolve()));
  }

  /** Closes the descriptor (after the database's last write). */
  close(): void {
    if (this.#fd !== undefined) closeSync(this.#fd);
    this.#fd = undefined;
  }
}
