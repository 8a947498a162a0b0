/**
 * Keeps a broker's keys current while it runs (SPEC §9): every `refresh_seconds` it
 * re-reads the store, so a key added by `npx baton rotate-key` or by another broker is
 * published within that interval and signs once it is `use_after_seconds` old
 * (`key-rules.ts`). Off the hot path: a timer swaps the in-memory set; no request reads
 * keys from the database.
 *
 * With `keys.rotate_every_days` set, the same timer rotates: when the newest key is that
 * old, the broker waits a random moment (up to one interval), re-reads the keys and adds
 * one only if the rotation is still due, so brokers sharing a database rarely both add
 * one. If two do add one in the same moment, the result is one extra published key that
 * signs for a few seconds at most: harmless.
 * @module
 */
import { setTimeout as sleep } from 'node:timers/promises';
import type { Store, StoredSigningKey } from '../store/store.js';
import { rotationDue, type KeyRules } from './key-rules.js';
import { createSigningKey, type KeyRing } from './signing-keys.js';

export interface KeyRefreshDeps {
  store: Store;
  keyRing: KeyRing;
  policy: { keys: KeyRules };
  now: () => number;
}

export interface KeyRefreshOptions {
  /** Told the kids new to this broker on each refresh that found some. */
  onNewKeys?: (kids: string[]) => void;
  /** Told the key this broker added on schedule. */
  onRotated?: (key: StoredSigningKey) => void;
  /** Told when a refresh or a rotation fails; the next one is still scheduled. */
  onError?: (error: unknown) => void;
  /** 0 ≤ x < 1; scales the wait before a scheduled rotation (Math.random by default). */
  random?: () => number;
}

export interface RunningKeyRefresh {
  /** One refresh (and scheduled rotation, if due) now; what the timer runs. */
  tick(): Promise<void>;
  /** Stops the timer and resolves once a tick in progress has ended. */
  stop(): Promise<void>;
}

/**
 * Adds a key when the schedule says one is due, after `waitMs` and a fresh read of the
 * store (another broker may have added it meanwhile). Returns the added key, if any.
 */
export async function rotateIfDue(
  deps: KeyRefreshDeps,
  waitMs: number,
  signal?: AbortSignal,
): Promise<StoredSigningKey | undefined> {
  const rules = deps.policy.keys;
  if (!rotationDue(deps.keyRing.keys, deps.now(), rules)) return undefined;
  if (waitMs > 0) await sleep(waitMs, undefined, { signal });
  if (!rotationDue(await deps.store.signingKeys(), deps.now(), rules)) return undefined;
  return createSigningKey(deps.store, deps.now());
}

/**
 * Runs `tick` every `refresh_seconds`, never two at once. The timer is `unref`ed, so it
 * never keeps a process alive; call `stop()` before closing the store.
 */
export function startKeyRefresh(
  deps: KeyRefreshDeps,
  options: KeyRefreshOptions = {},
): RunningKeyRefresh {
  const every = deps.policy.keys.refreshSeconds * 1000;
  const random = options.random ?? Math.random;
  const controller = new AbortController();
  let running: Promise<void> = Promise.resolve();
  let timer: NodeJS.Timeout | undefined;

  const refresh = async () => {
    const added = await deps.keyRing.refresh();
    if (added.length > 0) options.onNewKeys?.(added);
  };
  const tick = async () => {
    try {
      await refresh();
      const rotated = await rotateIfDue(deps, Math.floor(random() * every), controller.signal);
      if (rotated !== undefined) {
        options.onRotated?.(rotated);
        await refresh();
      }
    } catch (error) {
      if (!controller.signal.aborted) options.onError?.(error);
    }
  };
  const schedule = () => {
    timer = setTimeout(() => {
      running = running.then(tick).finally(() => {
        if (!controller.signal.aborted) schedule();
      });
    }, every);
    timer.unref();
  };
  schedule();
  return {
    tick: () => (running = running.then(tick)),
    async stop() {
      controller.abort();
      clearTimeout(timer);
      await running;
    },
  };
}
