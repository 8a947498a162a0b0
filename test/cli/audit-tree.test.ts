import { describe, expect, it } from 'vitest';
import { renderAuditTree } from '../../broker/audit-tree.js';

const T0 = Date.UTC(2026, 10, 24, 12, 0, 0) / 1000;

function entry(jti: string, parent: string | null, act: unknown, client: string, extra: Partial<Record<string, unknown>> = {}) {
  return {
    jti,
    parent_jti: parent,
    sub: 'alice',
    act: act as never,
    client_id: client,
    grant_type: 'urn:ietf:params:oauth:grant-type:token-exchange',
    scope: 'flights:book',
    aud: ['https://api.example'],
    iat: T0,
    exp: T0 + 300,
    revoked: false,
    revoked_at: null as number | null,
    ...extra,
  };
}

describe('renderAuditTree', () => {
  it('draws the chain above the token and its descendants as a tree, refusals under their token', () => {
    const root = entry('j-root', null, { sub: 'planner' }, 'planner', { aud: ['agent:booker'] });
    const token = entry('j-token', 'j-root', { sub: 'booker', act: { sub: 'planner' } }, 'booker', { aud: ['agent:narrow'] });
    const childA = entry('j-a', 'j-token', { sub: 'narrow', act: { sub: 'booker', act: { sub: 'planner' } } }, 'narrow', {
      revoked: true,
      revoked_at: T0 + 60,
    });
    const childB = entry('j-b', 'j-token', { sub: 'narrow', act: { sub: 'booker', act: { sub: 'planner' } } }, 'narrow', {
      scope: 'trips:read',
    });
    const report = {
      approval: null,
      token,
      chain: [root, token],
      descendants: { ...token, children: [{ ...childA, children: [] }, { ...childB, children: [] }] },
      refusals: [
        {
          at: T0 + 10,
          client_id: 'narrow',
          grant_type: 'urn:ietf:params:oauth:grant-type:token-exchange',
          subject_jti: 'j-token',
          error: 'invalid_scope',
          error_description: 'scope not allowed: trips:book',
          requested: { scope: 'trips:book', actor_token: false },
        },
      ],
    };
    expect(renderAuditTree(report, T0 + 100)).toBe(
      [
        'planner acting for alice  [token-exchange]  active',
        '  jti j-root  client planner',
        '  scope: flights:book   audience: agent:booker',
        '  issued 2026-11-24T12:00:00Z, expires 2026-11-24T12:05:00Z',
        '└─ booker acting for alice, via planner  [token-exchange]  active   ◀ this token',
        '     jti j-token  client booker',
        '     scope: flights:book   audience: agent:narrow',
        '     issued 2026-11-24T12:00:00Z, expires 2026-11-24T12:05:00Z',
        '     ✗ refused 2026-11-24T12:00:10Z to narrow: invalid_scope (scope not allowed: trips:book)  asked: scope=trips:book',
        '   ├─ narrow acting for alice, via booker ← planner  [token-exchange]  REVOKED 2026-11-24T12:01:00Z',
        '   │    jti j-a  client narrow',
        '   │    scope: flights:book   audience: https://api.example',
        '   │    issued 2026-11-24T12:00:00Z, expires 2026-11-24T12:05:00Z',
        '   └─ narrow acting for alice, via booker ← planner  [token-exchange]  active',
        '        jti j-b  client narrow',
        '        scope: trips:read   audience: https://api.example',
        '        issued 2026-11-24T12:00:00Z, expires 2026-11-24T12:05:00Z',
        '',
        '2 token(s) from the root to this one, 2 derived from it, 1 refusal(s).',
      ].join('\n'),
    );
  });

  it('names an approved root by its short grant name, ciba', () => {
    const root = entry('j-root', null, { sub: 'planner' }, 'planner', { grant_type: 'urn:openid:params:grant-type:ciba' });
    const report = { token: root, chain: [root], descendants: { ...root, children: [] }, refusals: [], approval: null };
    expect(renderAuditTree(report, T0 + 100).split('\n')[0]).toBe('planner acting for alice  [ciba]  active   ◀ this token');
  });

  it("shows who approved the chain's root, what was asked and what was granted", () => {
    const root = entry('j-root', null, { sub: 'planner' }, 'planner', { grant_type: 'urn:openid:params:grant-type:ciba' });
    const approval = {
      jti: 'j-root',
      client_id: 'planner',
      user: 'alice',
      requested_scope: 'trips:read flights:book',
      approved_scope: 'flights:book',
      aud: ['agent:booker'],
      reason: 'Book the Lisbon flight',
      requested_at: T0 - 30,
      decided_at: T0 - 5,
      decided_by: 'alice',
    };
    const report = { token: root, chain: [root], descendants: { ...root, children: [] }, refusals: [], approval };
    expect(renderAuditTree(report, T0 + 100).split('\n')[4]).toBe(
      '  ✓ approved by alice 2026-11-24T11:59:55Z: asked for "trips:read flights:book", granted "flights:book" (reason: Book the Lisbon flight)',
    );
  });
});
