/**
 * The store parts the console reads and writes, on a real SQLite with the real
 * migrations: sessions that expire and are swept when new ones are made, and a person's
 * chain roots (only roots, only theirs, newest first, bounded).
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { ConsoleSession, TokenRecord } from '../../broker/store/store.js';
import { makeBroker, type TestBroker } from '../helpers.js';

let b: TestBroker;
beforeEach(async () => {
  b = await makeBroker();
});
afterEach(async () => {
  await b.close();
});

const session = (id: string, createdAt: number, expiresAt: number): ConsoleSession => ({
  idHash: id,
  username: 'alice',
  role: 'user',
  csrfSecret: `secret-${id}`,
  createdAt,
  expiresAt,
});

const token = (jti: string, parentJti: string | null, sub: string, iat: number): TokenRecord => ({
  jti,
  parentJti,
  sub,
  act: { sub: 'planner' },
  clientId: 'planner',
  grantType: 'urn:openid:params:grant-type:ciba',
  scope: 'trips:read',
  aud: ['https://api.example.com'],
  iat,
  exp: iat + 300,
});

describe('console sessions in the store', () => {
  it('finds a session until it expires, deletes it on request, and sweeps expired ones when a new one starts', async () => {
    await b.store.createConsoleSession(session('a', 100, 200));
    await b.store.createConsoleSession(session('b', 100, 1000));
    expect(await b.store.getConsoleSession('a', 199)).toEqual(session('a', 100, 200));
    expect(await b.store.getConsoleSession('a', 200)).toBeUndefined();
    await b.store.createConsoleSession(session('c', 300, 1300));
    // Asked at a time before 'a' expired: gone all the same, swept when 'c' started.
    const found = async (at: number) =>
      (await Promise.all(['a', 'b', 'c'].map((id) => b.store.getConsoleSession(id, at)))).map(
        (s) => s?.idHash,
      );
    expect(await found(150)).toEqual([undefined, 'b', 'c']);
    await b.store.deleteConsoleSession('b');
    expect(await found(150)).toEqual([undefined, undefined, 'c']);
  });
});

describe('a person’s chain roots', () => {
  it('returns only the roots whose subject is the person, newest first, at most the limit', async () => {
    await Promise.all([
      b.store.recordIssued(token('root-1', null, 'alice', 100)),
      b.store.recordIssued(token('root-2', null, 'alice', 200)),
      b.store.recordIssued(token('root-3', null, 'alice', 300)),
      b.store.recordIssued(token('bobs', null, 'bob', 400)),
    ]);
    await b.store.recordIssued(token('child', 'root-1', 'alice', 500));
    expect((await b.store.rootTokensFor('alice', 10)).map((t) => t.jti)).toEqual([
      'root-3',
      'root-2',
      'root-1',
    ]);
    expect((await b.store.rootTokensFor('alice', 2)).map((t) => t.jti)).toEqual([
      'root-3',
      'root-2',
    ]);
    expect(await b.store.rootTokensFor('carol', 10)).toEqual([]);
  });
});
