/** OpenID CIBA §11: polling a pending request faster than its interval is slow_down, +5 s. */
import { describe, expect, it } from 'vitest';
import { pacePoll } from '../../broker/policy/pace-poll.js';

const NOW = 1_700_000_000;

describe('pacePoll', () => {
  it('lets a poll on time through and schedules the next one an interval later', () => {
    expect(pacePoll({ now: NOW, nextPollAt: NOW, interval: 5 })).toEqual({
      tooEarly: false,
      interval: 5,
      nextPollAt: NOW + 5,
    });
    expect(pacePoll({ now: NOW + 60, nextPollAt: NOW, interval: 5 })).toEqual({
      tooEarly: false,
      interval: 5,
      nextPollAt: NOW + 65,
    });
  });

  it('slows a poll that comes too early down by five seconds, for this and every later poll', () => {
    expect(pacePoll({ now: NOW, nextPollAt: NOW + 1, interval: 5 })).toEqual({
      tooEarly: true,
      interval: 10,
      nextPollAt: NOW + 10,
    });
    expect(pacePoll({ now: NOW + 10, nextPollAt: NOW + 10, interval: 10 })).toEqual({
      tooEarly: false,
      interval: 10,
      nextPollAt: NOW + 20,
    });
  });
});
