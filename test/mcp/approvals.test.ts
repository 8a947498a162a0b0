/**
 * The CIBA wait loop of `request_approval` (SPEC §6): poll at the broker's interval, back
 * off on slow_down, report progress, give up at the timeout. The poll answers are scripted
 * here and time is a counter advanced by the injected sleep: no real waiting. The loop
 * against a real broker is in `request-approval.test.ts`.
 */
import { describe, expect, it } from 'vitest';
import { waitForApproval, type WaitOptions } from '../../mcp-server/approvals.js';
import {
  BrokerRefused,
  type ApprovalClient,
  type ApprovalPoll,
  type TokenResponse,
} from '../../mcp-server/broker-client.js';

const TOKEN: TokenResponse = {
  access_token: 'issued',
  token_type: 'Bearer',
  expires_in: 300,
  scope: 'trips:read',
};

function scripted(answers: Array<ApprovalPoll | Error>) {
  const polled: string[] = [];
  const client: ApprovalClient = {
    start: () => Promise.reject(new TypeError('not used')),
    poll: async (id) => {
      polled.push(id);
      const next = answers.shift();
      if (next === undefined) return { status: 'pending' };
      if (next instanceof Error) throw next;
      return next;
    },
  };
  return { client, polled };
}

function options(timeoutSeconds: number) {
  let ms = 0;
  const slept: number[] = [];
  const progress: string[] = [];
  const cancelled: number[] = [];
  const opts: WaitOptions = {
    timeoutSeconds,
    user: 'alice',
    signal: new AbortController().signal,
    clock: () => ms,
    sleep: async (wait) => {
      slept.push(wait / 1000);
      ms += wait;
    },
    progress: async (elapsed, total, message) => {
      progress.push(`${elapsed}/${total} ${message}`);
    },
    cancel: async () => {
      cancelled.push(ms);
    },
  };
  /** Each poll takes this long on the clock, as a real round trip does. */
  const pollTakes = (extra: number) => (ms += extra);
  return { opts, slept, progress, cancelled, pollTakes };
}

describe('waitForApproval', () => {
  it('polls at the interval, slows down when told, and returns the approved token', async () => {
    const { client, polled } = scripted([
      { status: 'pending' },
      { status: 'slow_down' },
      { status: 'approved', token: TOKEN },
    ]);
    const { opts, slept, progress } = options(120);
    const outcome = await waitForApproval(
      client,
      { auth_req_id: 'req-1', expires_in: 600, interval: 2 },
      opts,
    );
    expect(outcome).toEqual({ status: 'approved', token: TOKEN });
    expect(polled).toEqual(['req-1', 'req-1', 'req-1']);
    expect(slept).toEqual([2, 2, 7]);
    expect(progress).toEqual([
      '0/120 waiting for alice to approve (0 s of 120 s)',
      '2/120 waiting for alice to approve (2 s of 120 s)',
      '4/120 waiting for alice to approve (4 s of 120 s)',
    ]);
  });

  it('gives up at the shorter of the timeout and the request expiry, having waited all of it', async () => {
    const { client, polled } = scripted([]);
    const { opts, slept } = options(600);
    expect(await waitForApproval(client, { auth_req_id: 'req-2', expires_in: 12 }, opts)).toEqual({
      status: 'timed_out',
      waitedSeconds: 12,
    });
    expect(slept).toEqual([5, 5, 2]);
    expect(polled).toHaveLength(3);
  });

  it('waits the whole 10 s and 20 s asked for, polls taking time, and says so (it gave up at 5 s and 15 s)', async () => {
    for (const [timeout, sleeps] of [
      [10, [5, 4.95]],
      [20, [5, 5, 5, 4.85]],
    ] as const) {
      const { opts, slept, pollTakes, cancelled } = options(timeout);
      const client: ApprovalClient = {
        start: () => Promise.reject(new TypeError('not used')),
        poll: async () => {
          pollTakes(50);
          return { status: 'pending' };
        },
      };
      expect(
        await waitForApproval(client, { auth_req_id: 'req-5', expires_in: 300 }, opts),
      ).toEqual({
        status: 'timed_out',
        waitedSeconds: timeout,
      });
      expect(slept).toEqual(sleeps);
      // Nobody waits any more: the request is withdrawn, once.
      expect(cancelled).toEqual([timeout * 1000 + 50]);
    }
  });

  it('cancels the request when the MCP request is aborted, and not when it was answered', async () => {
    const aborted = options(60);
    const controller = new AbortController();
    const { client } = scripted([]);
    aborted.opts.signal = controller.signal;
    aborted.opts.sleep = async (_ms, signal) => {
      controller.abort(new Error('client cancelled'));
      signal.throwIfAborted();
    };
    await expect(
      waitForApproval(client, { auth_req_id: 'req-6', expires_in: 60 }, aborted.opts),
    ).rejects.toThrow('client cancelled');
    expect(aborted.cancelled).toEqual([0]);

    const approved = options(60);
    await waitForApproval(
      scripted([{ status: 'approved', token: TOKEN }]).client,
      { auth_req_id: 'req-7', expires_in: 60 },
      approved.opts,
    );
    const denied = options(60);
    await expect(
      waitForApproval(
        scripted([new BrokerRefused('access_denied', 'no', 400)]).client,
        { auth_req_id: 'req-8', expires_in: 60 },
        denied.opts,
      ),
    ).rejects.toMatchObject({ error: 'access_denied' });
    expect([approved.cancelled, denied.cancelled]).toEqual([[], []]);
  });

  it('lets a denial through as BrokerRefused access_denied', async () => {
    const { client } = scripted([
      new BrokerRefused('access_denied', 'alice denied the request', 400),
    ]);
    const { opts } = options(60);
    await expect(
      waitForApproval(client, { auth_req_id: 'req-3', expires_in: 60 }, opts),
    ).rejects.toMatchObject({ error: 'access_denied' });
  });
});
