/**
 * Usernames match case-insensitively (issue 10 point 7): the lookup every approval path
 * uses, and the policy refusing two users whose names differ only in case, which is what
 * makes that lookup unambiguous.
 */
import { describe, expect, it } from 'vitest';
import { policyUsername } from '../../broker/approvals/policy-user.js';
import { parsePolicy } from '../../broker/config/policy.js';
import { ISSUER, makeIdp, testPolicy, withApprovals } from '../helpers.js';

describe('policyUsername', () => {
  const users = new Map([
    ['alice', 'hash'],
    ['Bob.Smith', 'hash'],
  ]);
  it("answers the policy's spelling for any letter case, and nothing for a stranger", () => {
    expect(
      ['alice', 'Alice', 'ALICE', 'bob.smith', 'Bob.Smith', 'mallory', 'alice '].map((n) =>
        policyUsername(users, n),
      ),
    ).toEqual(['alice', 'alice', 'alice', 'Bob.Smith', 'Bob.Smith', undefined, undefined]);
  });
});

describe('policy users', () => {
  it('refuses two usernames that differ only in letter case', async () => {
    const idp = await makeIdp(() => 0);
    const p = withApprovals(testPolicy(idp.jwk));
    expect([...parsePolicy(p, ISSUER).users.keys()]).toEqual(['alice', 'bob']);
    p.users = [...(p.users ?? []), { ...p.users![0]!, username: 'Alice' }];
    expect(() => parsePolicy(p, ISSUER)).toThrow(
      /^users\.2\.username: duplicate username "Alice"$/,
    );
  });
});
