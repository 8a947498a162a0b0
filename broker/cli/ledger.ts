/**
 * The ledger as the operator's CLI opens it. `npm start` creates the database; a CLI
 * command never does, because a typo in `BATON_DB` (or running from another folder)
 * would otherwise open a fresh, empty ledger and show "no pending requests" while agents
 * wait. So every command that reads or changes the ledger (audit, approvals, approve,
 * deny, and any later one) opens it here: a missing file is refused unless the caller
 * asks to create one, and the file in use is named on stderr (stdout stays the report).
 * @module
 */
import { existsSync, statSync } from 'node:fs';
import path from 'node:path';
import type { BrokerEnv } from '../config/env.js';
import { ConfigError } from '../config/format-issues.js';
import { describeStore, openStore, storeLocation, type StoreEnv } from '../store/open-store.js';
import type { Store } from '../store/store.js';
import { forTerminal } from '../text/show.js';

export interface OpenLedgerOptions {
  /** Create the database (and its folder) when it is missing, as `npm start` does. */
  create?: boolean;
  /** Where the `ledger: <file>` line goes; stderr by default. */
  say?: (line: string) => void;
}

/** `BATON_DB` as an absolute path, resolved against the folder the operator runs in. */
export function ledgerFile(env: BrokerEnv): string {
  return path.resolve(env.dbFile);
}

/** The ledger in use, for messages: the absolute SQLite file, or the URL without its password. */
export function ledgerName(env: BrokerEnv & StoreEnv): string {
  const where = storeLocation(env);
  return where.kind === 'sqlite' ? ledgerFile(env) : describeStore(where);
}

/**
 * Opens the ledger the environment names, refusing a missing SQLite file; names the
 * database it opened (a PostgreSQL URL without its password). A PostgreSQL database is
 * never created here either: its server answers for it, and migrations need a broker's
 * start.
 */
export async function openExistingStore(
  env: BrokerEnv & StoreEnv,
  options: OpenLedgerOptions = {},
): Promise<Store> {
  const where = storeLocation(env);
  const say = options.say ?? ((line: string) => process.stderr.write(`${line}\n`));
  if (where.kind !== 'sqlite') {
    say(`ledger: ${forTerminal(describeStore(where))}`);
    return openStore(env);
  }
  const file = ledgerFile(env);
  const shown = forTerminal(file);
  if (!existsSync(file)) {
    if (options.create !== true) {
      throw new ConfigError(
        `no ledger at ${shown} (BATON_DB): point BATON_DB at the broker's database, or start the broker once (npm start) to create it`,
      );
    }
  } else if (!statSync(file).isFile()) {
    throw new ConfigError(`BATON_DB: ${shown} is not a file`);
  }
  say(`ledger: ${shown}`);
  return openStore({ ...env, dbFile: file });
}
