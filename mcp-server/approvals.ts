/**
 * Waiting for a person's answer to a CIBA request (OpenID CIBA §7.3, poll mode §10):
 * poll the token endpoint every `interval` seconds (5 by default, +5 on `slow_down`),
 * within the caller's timeout and the request's own `expires_in`, sending an MCP progress
 * notification before each wait so the client knows the tool is alive. Denial and expiry
 * come back from the broker as `BrokerRefused` (`access_denied`, `expired_token`). A wait
 * that ends unanswered (timeout or abort) cancels the request (broker/approvals/cancel.ts).
 * @module
 */
import {
  BrokerRefused,
  type ApprovalClient,
  type ApprovalStarted,
  type TokenResponse,
} from './broker-client.js';

export interface WaitOptions {
  timeoutSeconds: number;
  /** The user's name, for progress messages. */
  user: string;
  signal: AbortSignal;
  sleep: (ms: number, signal: AbortSignal) => Promise<void>;
  /** Milliseconds. */
  clock: () => number;
  progress: (elapsedSeconds: number, totalSeconds: number, message: string) => Promise<void>;
  /**
   * Withdraws the request when the wait ends unanswered (timeout, or the MCP request
   * aborted), so it does not stay pending with nobody waiting. Best effort: its failure
   * is swallowed, the request then simply expires.
   */
  cancel?: () => Promise<void>;
}

export type WaitOutcome =
  { status: 'approved'; token: TokenResponse } | { status: 'timed_out'; waitedSeconds: number };

const DEFAULT_INTERVAL = 5;
const SLOW_DOWN_STEP = 5;

/**
 * Waits the whole timeout: the last sleep is cut short to end at the deadline, and a
 * final poll is made there (a `slow_down` answer to it is harmless, the wait is over).
 * The old loop stopped as soon as a full interval no longer fitted, so a 10 s wait gave
 * up after 5 s and a 20 s one after 15 s. The waited time reported is the clock's.
 */
export async function waitForApproval(
  approvals: ApprovalClient,
  started: ApprovalStarted,
  options: WaitOptions,
): Promise<WaitOutcome> {
  const { signal, sleep, clock } = options;
  const start = clock();
  const total = Math.min(options.timeoutSeconds, started.expires_in);
  const deadline = start + total * 1000;
  let interval = Math.max(1, started.interval ?? DEFAULT_INTERVAL);
  let answered = false;
  try {
    for (;;) {
      const now = clock();
      const elapsed = Math.round((now - start) / 1000);
      if (now >= deadline) return { status: 'timed_out', waitedSeconds: elapsed };
      await options.progress(
        elapsed,
        total,
        `waiting for ${options.user} to approve (${elapsed} s of ${total} s)`,
      );
      await sleep(Math.min(interval * 1000, deadline - now), signal);
      const poll = await approvals.poll(started.auth_req_id);
      if (poll.status === 'approved') {
        answered = true;
        return { status: 'approved', token: poll.token };
      }
      if (poll.status === 'slow_down') interval += SLOW_DOWN_STEP;
    }
  } catch (error) {
    // A denial or expiry (BrokerRefused) is an answer: nothing left to cancel.
    if (error instanceof BrokerRefused) answered = true;
    throw error;
  } finally {
    if (!answered && options.cancel !== undefined) await options.cancel().catch(() => {});
  }
}
