/**
 * How much the fuzz suite runs, and how a failure replays. `npm test` runs a few thousand
 * cases in all; `npm run fuzz` sets `FUZZ_RUNS` (the total over every property) to 100k or
 * more. fast-check prints the seed and shrink path of any failure; `FUZZ_SEED=<seed>` (and
 * `FUZZ_PATH=<path>` to jump straight to the shrunk case) replays it.
 */
import fc from 'fast-check';

/** Cases over the whole suite; each property takes its share. */
export const TOTAL_RUNS = Number(process.env.FUZZ_RUNS ?? 3000);
if (!Number.isInteger(TOTAL_RUNS) || TOTAL_RUNS < 1)
  throw new TypeError('FUZZ_RUNS must be a positive whole number');

/**
 * `npm test` (no FUZZ_RUNS) runs one fixed seed, so CI is repeatable and a red run is a
 * bug that replays; `npm run fuzz` draws a fresh seed each time, to keep finding new ones.
 */
const FIXED_SEED_FOR_NPM_TEST = 20261203;
const SEED =
  process.env.FUZZ_SEED !== undefined
    ? Number(process.env.FUZZ_SEED)
    : process.env.FUZZ_RUNS === undefined
      ? FIXED_SEED_FOR_NPM_TEST
      : undefined;
const PATH = process.env.FUZZ_PATH;

/**
 * The shares below add up to 1 across the fuzz files, so `FUZZ_RUNS` is the real total.
 * Each file states the shares of its properties.
 */
export function runsFor(share: number): number {
  return Math.max(10, Math.round(TOTAL_RUNS * share));
}

/** fast-check options for a property with `share` of the runs. */
export function fuzzOptions<T>(share: number): fc.Parameters<T> {
  return {
    numRuns: runsFor(share),
    ...(SEED === undefined ? {} : { seed: SEED }),
    ...(PATH === undefined ? {} : { path: PATH }),
    // Enough of the failing case to read in the report, and no more.
    verbose: 1,
  };
}

/** A per-test timeout that grows with the runs (in-process requests take about a millisecond each). */
export function timeoutFor(share: number): number {
  return 60_000 + runsFor(share) * 25;
}
