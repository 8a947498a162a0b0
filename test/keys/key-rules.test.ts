/**
 * The signing-key rules as pure functions (`broker/tokens/key-rules.ts`): which key signs,
 * which are published, when rotation is due, and the policy's `keys` section.
 */
import { describe, expect, it } from 'vitest';
import { parsePolicy } from '../../broker/config/policy.js';
import {
  CLOCK_SKEW_SECONDS,
  leavesJwksAt,
  newestFirst,
  publishedKeys,
  rotationDue,
  signingKeyOf,
} from '../../broker/tokens/key-rules.js';
import { ConfigError } from '../../broker/config/format-issues.js';
import { ISSUER } from '../helpers.js';

const rules = { useAfterSeconds: 40, maxTtlSeconds: 3600, rotateEveryDays: 0 };
const key = (kid: string, createdAt: number, retiredAt: number | null = null) => ({
  kid,
  createdAt,
  retiredAt,
});

describe('signingKeyOf', () => {
  const keys = newestFirst([key('a', 0), key('b', 1000)]);

  it('keeps the older key until the newer one is use_after_seconds old', () => {
    expect(signingKeyOf(keys, 1039, rules).kid).toBe('a');
    expect(signingKeyOf(keys, 1040, rules).kid).toBe('b');
  });

  it('signs with the oldest key when none is old enough, and with the only key at once', () => {
    expect(signingKeyOf(newestFirst([key('a', 100), key('b', 110)]), 120, rules).kid).toBe('a');
    expect(signingKeyOf([key('a', 100)], 100, rules).kid).toBe('a');
  });

  it('never signs with a retired key while another is there', () => {
    expect(signingKeyOf(newestFirst([key('a', 0), key('b', 1000, 1500)]), 2000, rules).kid).toBe(
      'a',
    );
  });
});

describe('publishedKeys', () => {
  it("publishes an old key until its successor's use_after + max TTL + skew has passed", () => {
    const keys = newestFirst([key('a', 0), key('b', 1000)]);
    const leaves = leavesJwksAt(1000, rules);
    expect(leaves).toBe(1000 + 40 + 3600 + CLOCK_SKEW_SECONDS);
    expect(publishedKeys(keys, 1000, rules).map((k) => k.kid)).toEqual(['b', 'a']);
    expect(publishedKeys(keys, leaves - 1, rules).map((k) => k.kid)).toEqual(['b', 'a']);
    expect(publishedKeys(keys, leaves, rules).map((k) => k.kid)).toEqual(['b']);
  });

  it('always publishes the newest key', () => {
    expect(publishedKeys([key('a', 0)], 10 ** 9, rules).map((k) => k.kid)).toEqual(['a']);
  });
});

describe('rotationDue', () => {
  it('is never due when off, and due once the newest key is rotate_every_days old', () => {
    const keys = [key('a', 0), key('b', 86_400)];
    expect(rotationDue(keys, 10 ** 9, rules)).toBe(false);
    const daily = { rotateEveryDays: 1 };
    expect(rotationDue(keys, 2 * 86_400 - 1, daily)).toBe(false);
    expect(rotationDue(keys, 2 * 86_400, daily)).toBe(true);
  });
});

describe('policy keys section', () => {
  const client = {
    client_id: 'c',
    client_secret_sha256: 'a'.repeat(64),
    grant_types: ['client_credentials'],
  };

  it('defaults to no schedule, a 40 s wait and a 5 s refresh, with the policy max TTL', () => {
    expect(parsePolicy({ clients: [client] }, ISSUER).keys).toEqual({
      rotateEveryDays: 0,
      useAfterSeconds: 40,
      refreshSeconds: 5,
      maxTtlSeconds: 3600,
    });
  });

  it('refuses unknown fields and a wait shorter than the refresh', () => {
    expect(() => parsePolicy({ clients: [client], keys: { rotate: 1 } }, ISSUER)).toThrow(
      ConfigError,
    );
    expect(() =>
      parsePolicy(
        { clients: [client], keys: { use_after_seconds: 2, refresh_seconds: 5 } },
        ISSUER,
      ),
    ).toThrow(/keys\.use_after_seconds: use_after_seconds must be at least refresh_seconds/);
  });
});
