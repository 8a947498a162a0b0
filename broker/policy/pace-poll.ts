/**
 * OpenID CIBA §11 `slow_down` for a pending request: a poll that comes before the
 * interval is up is answered `slow_down`, and that request's interval grows by 5 seconds
 * "for this and all subsequent requests". Either way the next poll may come one
 * interval from now. No clock: `now` is passed in.
 * @module
 */

/** CIBA §11: how much a `slow_down` raises the interval, in seconds. */
export const SLOW_DOWN_STEP = 5;

export interface PacePollInput {
  now: number;
  /** Unix seconds from which a poll is on time. */
  nextPollAt: number;
  /** The request's current interval, in seconds. */
  interval: number;
}

export interface PollPace {
  tooEarly: boolean;
  interval: number;
  nextPollAt: number;
}

export function pacePoll({ now, nextPollAt, interval }: PacePollInput): PollPace {
  const next = now < nextPollAt ? interval + SLOW_DOWN_STEP : interval;
  return { tooEarly: now < nextPollAt, interval: next, nextPollAt: now + next };
}
