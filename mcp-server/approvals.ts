/**
 * Waiting for a person's answer to a CIBA request (OpenID CIBA §7.3, poll mode §10):
 * poll the token endpoint every `interval` seconds (5 by default, +5 on `slow_down`),
 * within the caller's timeout and the request's own `expires_in`, sending an MCP progress
 * notification before each wait so the client knows the tool is alive. Denial and expiry
 * come back from the broker as `BrokerRefused` (`access_denied`, `expired_token`).
 * @module
 */
import type { ApprovalClient, ApprovalStarted, TokenResponse } from './broker-client.js';

export interface WaitOptions {
  timeoutSeconds: number;
  /** The user's name, for progress messages. */
  user: string;
  signal: AbortSignal;
  sleep: (ms: number, signal: AbortSignal) => Promise<void>;
  /** Milliseconds. */
  clock: () => number;
  progress: (elapsedSeconds: number, totalSeconds: number, message: string) => Promise<void>;
}

export type WaitOutcome = { status: 'approved'; token: TokenResponse } | { status: 'timed_out'; waitedSeconds: number };

const DEFAULT_INTERVAL = 5;
const SLOW_DOWN_STEP = 5;

export async function waitForApproval(approvals: ApprovalClient, started: ApprovalStarted, options: WaitOptions): Promise<WaitOutcome> {
  const { signal, sleep, clock } = options;
  const start = clock();
  const total = Math.min(options.timeoutSeconds, started.expires_in);
  const deadline = start + total * 1000;
  let interval = Math.max(1, started.interval ?? DEFAULT_INTERVAL);
  for (;;) {
    const elapsed = Math.floor((clock() - start) / 1000);
    if (clock() + interval * 1000 > deadline) return { status: 'timed_out', waitedSeconds: elapsed };
    await options.progress(elapsed, total, `waiting for ${options.user} to approve (${elapsed} s of ${total} s)`);
    await sleep(interval * 1000, signal);
    const poll = await approvals.poll(started.auth_req_id);
    if (poll.status === 'approved') return { status: 'approved', token: poll.token };
    if (poll.status === 'slow_down') interval += SLOW_DOWN_STEP;
  }
}
