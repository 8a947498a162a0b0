/**
 * A stdio agent's own token when it acts for a person (issue 11 item 7): so its identity
 * does not go stale with a token pasted into a config file.
 *
 * It starts from `BATON_TOKEN_FILE` (what a previous run kept) or `BATON_SUBJECT_TOKEN`,
 * or with nothing. While it holds no usable token (none, expired, or refused by the
 * broker), the tools that need one say so with `NoAgentToken`, whose text tells the model
 * to call `request_approval`; a successful approval makes the person's token the agent's
 * own, in memory and, with `BATON_TOKEN_FILE`, in that file (mode 0600, written to a
 * temporary file and renamed, so a crash never leaves half a token). The token is never
 * logged; a file that cannot be read or written is reported without its content.
 * @module
 */
import { chmodSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { decodeJwt } from 'jose';
import { NoAgentToken } from './results.js';

export interface AgentTokenSlotOptions {
  /** BATON_SUBJECT_TOKEN. */
  configured?: string | undefined;
  /** BATON_TOKEN_FILE. */
  file?: string | undefined;
  /** stderr, for file problems (never a token). */
  log?: (line: string) => void;
  /** Unix seconds. */
  nowSeconds?: () => number;
}

/** A token's `exp`, or undefined when it is not a JWT that says. */
function expiry(token: string): number | undefined {
  try {
    const { exp } = decodeJwt(token);
    return typeof exp === 'number' ? exp : undefined;
  } catch {
    return undefined;
  }
}

export class AgentTokenSlot {
  #token: string | undefined;
  /** Why there is no token, once there was one. */
  #lost: 'expired' | 'refused' | undefined;
  readonly #file: string | undefined;
  readonly #log: (line: string) => void;
  readonly #now: () => number;
  /** Where the starting token came from, for the start-up log line. */
  readonly source: 'BATON_TOKEN_FILE' | 'BATON_SUBJECT_TOKEN' | 'none yet';

  constructor(options: AgentTokenSlotOptions = {}) {
    this.#file = options.file;
    this.#log = options.log ?? (() => {});
    this.#now = options.nowSeconds ?? (() => Math.floor(Date.now() / 1000));
    const kept = this.#readFile();
    // A kept token is the newer one (a previous run renewed it), unless it has expired.
    if (kept !== undefined && !this.#expired(kept)) {
      this.#token = kept;
      this.source = 'BATON_TOKEN_FILE';
    } else if (options.configured !== undefined) {
      this.#token = options.configured;
      this.source = 'BATON_SUBJECT_TOKEN';
    } else {
      this.source = 'none yet';
    }
  }

  /** The agent's token; throws `NoAgentToken` (with why) when it has none it can use. */
  current = (): Promise<string> => {
    const token = this.#token;
    if (token === undefined) return Promise.reject(new NoAgentToken(this.#lost ?? 'none'));
    if (this.#expired(token)) {
      this.#drop('expired');
      return Promise.reject(new NoAgentToken('expired'));
    }
    return Promise.resolve(token);
  };

  /** A person approved: their token is the agent's from now on (and kept in the file). */
  adopt = (token: string): void => {
    this.#token = token;
    this.#lost = undefined;
    if (this.#file === undefined) return;
    const temporary = `${this.#file}.${process.pid}.tmp`;
    try {
      writeFileSync(temporary, token, { mode: 0o600 });
      chmodSync(temporary, 0o600); // the mode option does not apply to an existing file
      renameSync(temporary, this.#file);
    } catch (error) {
      rmSync(temporary, { force: true });
      this.#log(`cannot keep the token in BATON_TOKEN_FILE: ${code(error)}`);
    }
  };

  /** The broker refused `token` (revoked, expired): forget it if it is the agent's. */
  refused = (token: string): void => {
    if (token === this.#token) this.#drop('refused');
  };

  #expired(token: string): boolean {
    const exp = expiry(token);
    return exp !== undefined && exp <= this.#now();
  }

  #drop(why: 'expired' | 'refused'): void {
    this.#token = undefined;
    this.#lost = why;
    if (this.#file === undefined) return;
    try {
      rmSync(this.#file, { force: true });
    } catch (error) {
      this.#log(`cannot remove the stale token in BATON_TOKEN_FILE: ${code(error)}`);
    }
  }

  #readFile(): string | undefined {
    if (this.#file === undefined) return undefined;
    try {
      const token = readFileSync(this.#file, 'utf8').trim();
      return token === '' ? undefined : token;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'ENOENT')
        this.#log(`cannot read BATON_TOKEN_FILE: ${code(error)}`);
      return undefined;
    }
  }
}

function code(error: unknown): string {
  return (error as NodeJS.ErrnoException).code ?? 'error';
}
