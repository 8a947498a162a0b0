/**
 * Ledger retention (issue 9, "the ledger only grows": ~320 bytes a token, gigabytes a day
 * on a busy broker). The policy's `retention` section says how long each kind of row is
 * kept after it expires; a background pruner deletes what is older, in small batches.
 *
 * - tokens: whole chains, once every token of the chain expired more than `tokens_days`
 *   ago, with the refusals filed against them and the approval that started them. A chain
 *   with any live (unexpired, unrevoked) token is never pruned: its tokens all expire after
 *   the cutoff, which is never later than now.
 * - refusals: `refusals_days` after they were recorded (at least a day: a refusal is never
 *   younger than its chain's root, and no token lives longer than a day, so no refusal
 *   against a live chain is pruned).
 * - approval requests: `approvals_days` after they expired, unless their token is still
 *   in the ledger (then they go with its chain).
 * - spent client-assertion jtis: `assertion_jtis_days` after the assertion expired (an
 *   expired assertion is refused for its `exp` anyway, so 0 is safe).
 * - MCP authorization (SPEC §8): consents (refresh families) `tokens_days` after they
 *   ended (revoked, or past their consent lifetime) with their refresh tokens, codes
 *   `tokens_days` after they expired, and registrations idle for longer than
 *   `REGISTRATION_IDLE_SECONDS` (already refused as unknown) plus `tokens_days`.
 *
 * Each step deletes at most `batch` rows in one short transaction and the pruner yields to
 * the event loop between steps, so token requests interleave with it and never wait for a
 * whole pass. `npx baton export` archives before pruning; `npx baton prune` runs one pass.
 * @module
 */
import { setImmediate as nextTurn } from 'node:timers/promises';
import { z } from 'zod';
import { REGISTRATION_IDLE_SECONDS } from '../mcp-auth/clients.js';
import type { Store } from '../store/store.js';

const DAY = 86_400;

const Days = (min: number, fallback: number) =>
  z.number().int().min(min).max(3650).default(fallback);

/** The policy file's `retention` section (SPEC §2); every field has a default. */
export const RetentionSchema = z.strictObject({
  tokens_days: Days(0, 30),
  refusals_days: Days(1, 30),
  approvals_days: Days(0, 7),
  assertion_jtis_days: Days(0, 0),
});

export const DEFAULT_RETENTION_FILE: z.output<typeof RetentionSchema> = {
  tokens_days: 30,
  refusals_days: 30,
  approvals_days: 7,
  assertion_jtis_days: 0,
};

/** How long rows are kept after they expire, in days. */
export interface Retention {
  readonly tokensDays: number;
  readonly refusalsDays: number;
  readonly approvalsDays: number;
  readonly assertionJtisDays: number;
}

export function toRetention(r: z.output<typeof RetentionSchema>): Retention {
  return Object.freeze({
    tokensDays: r.tokens_days,
    refusalsDays: r.refusals_days,
    approvalsDays: r.approvals_days,
    assertionJtisDays: r.assertion_jtis_days,
  });
}

export const DEFAULT_RETENTION: Retention = toRetention(RetentionSchema.parse({}));

/** Unix seconds before which each kind of row may go. Pure: `now` is passed in. */
export function retentionCutoffs(retention: Retention, now: number) {
  return {
    chains: now - retention.tokensDays * DAY,
    refusals: now - Math.max(1, retention.refusalsDays) * DAY,
    approvals: now - retention.approvalsDays * DAY,
    assertionJtis: now - retention.assertionJtisDays * DAY,
    mcpAuth: now - retention.tokensDays * DAY,
    mcpRegistrations: now - retention.tokensDays * DAY - REGISTRATION_IDLE_SECONDS,
  };
}

/** Rows deleted by one pass. `chains` counts tokens plus their refusals and approvals. */
export interface PruneCounts {
  chains: number;
  refusals: number;
  approvals: number;
  assertionJtis: number;
  /** Ended consents with their refresh tokens, old codes and idle registrations. */
  mcpAuth: number;
}

export interface PruneOptions {
  /** Rows one statement may delete (default 500). */
  batch?: number;
  /** Checked between batches: a stopping broker ends the pass early. */
  signal?: AbortSignal;
}

/** The steps of a pass, in order: chains first, so their refusals go with them. */
const STEPS = [
  ['chains', 'pruneChains'],
  ['refusals', 'pruneRefusals'],
  ['approvals', 'pruneApprovals'],
  ['assertionJtis', 'pruneAssertionJtis'],
] as const;

/**
 * One retention pass: each step repeated until it has nothing left, one bounded batch at
 * a time, with a turn of the event loop between batches.
 */
export async function pruneOnce(
  store: Store,
  retention: Retention,
  now: number,
  options: PruneOptions = {},
): Promise<PruneCounts> {
  const limit = options.batch ?? 500;
  const cutoffs = retentionCutoffs(retention, now);
  const counts: PruneCounts = {
    chains: 0,
    refusals: 0,
    approvals: 0,
    assertionJtis: 0,
    mcpAuth: 0,
  };
  /** Repeats one step until it deletes nothing; false when the pass was stopped. */
  const drain = async (kind: keyof PruneCounts, step: () => Promise<number>) => {
    for (;;) {
      if (options.signal?.aborted) return false;
      const deleted = await step();
      counts[kind] += deleted;
      await nextTurn();
      if (deleted === 0) return true;
    }
  };
  for (const [kind, method] of STEPS)
    if (!(await drain(kind, () => store[method](cutoffs[kind], { limit })))) return counts;
  await drain('mcpAuth', () =>
    store.pruneMcpAuth(cutoffs.mcpAuth, cutoffs.mcpRegistrations, { limit }),
  );
  return counts;
}

export interface RetentionDeps {
  store: Store;
  policy: { retention: Retention };
  now: () => number;
}

export interface RunningRetention {
  /** Stops the schedule and resolves once a pass in progress has ended. */
  stop(): Promise<void>;
}

/**
 * Runs `pruneOnce` in the background: first `firstAfterSeconds` after start, then every
 * `everySeconds`, never two passes at once. The timers are `unref`ed, so they never keep
 * a process alive; call `stop()` before closing the store.
 */
export function startRetention(
  deps: RetentionDeps,
  options: {
    everySeconds?: number;
    firstAfterSeconds?: number;
    batch?: number;
    /** Told what each pass deleted (for logs and metrics). */
    onPass?: (counts: PruneCounts) => void;
    /** Told when a pass fails; the next one is still scheduled. */
    onError?: (error: unknown) => void;
  } = {},
): RunningRetention {
  const every = (options.everySeconds ?? 600) * 1000;
  const controller = new AbortController();
  let running: Promise<unknown> = Promise.resolve();
  let timer: NodeJS.Timeout | undefined;
  const schedule = (ms: number) => {
    timer = setTimeout(() => {
      running = pruneOnce(deps.store, deps.policy.retention, deps.now(), {
        batch: options.batch,
        signal: controller.signal,
      })
        .then((counts) => options.onPass?.(counts))
        .catch((error: unknown) => options.onError?.(error))
        .finally(() => {
          if (!controller.signal.aborted) schedule(every);
        });
    }, ms);
    timer.unref();
  };
  schedule((options.firstAfterSeconds ?? 10) * 1000);
  return {
    async stop() {
      controller.abort();
      clearTimeout(timer);
      await running;
    },
  };
}
