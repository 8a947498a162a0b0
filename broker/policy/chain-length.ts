/**
 * How long one delegation chain may grow (issue 9 point 7). SPEC §4 rule 7 bounds the
 * `act` nesting, but re-targeting one's own token adds no `act` level (rule 3), so without
 * this a chain could grow one re-target at a time without end: 12,001 hops were built in
 * 38 s, each a ledger row another audit has to walk. Baton bounds the ledger chain itself:
 * every token records its `hop` (exchanges since the chain's root, copied from its parent
 * in the same read that checks the parent is not revoked), and a subject token already
 * `MAX_CHAIN_HOPS` hops from its root cannot be exchanged again. Sixty-four hops is far
 * beyond any real hand-off (at most `max_delegation_depth` ≤ 32 agents, each re-targeting a
 * few times); a longer task starts a fresh chain from the person's token. Chains in the
 * ledger from before the bound (migration 0004 counts their hops) stay auditable.
 *
 * Pure: no I/O, no clock.
 * @module
 */
import { refuse, type Checked } from './refusal.js';

/** The most exchanges between a chain's root and its newest token. */
export const MAX_CHAIN_HOPS = 64;

/** The hop the new token would have, or a refusal when the chain is already at its bound. */
export function checkChainLength(subjectHop: number, max = MAX_CHAIN_HOPS): Checked<number> {
  if (subjectHop >= max) {
    return refuse(
      'chain_too_long',
      `the subject token ends a chain of ${max} exchanges; start a new chain from the original token`,
    );
  }
  return { ok: subjectHop + 1 };
}
