/**
 * `BATON_DATABASE_URL` (SPEC §9): validated at start without ever repeating the value (it
 * may hold a password), and, when it names a PostgreSQL server, the whole broker runs on
 * it: a real broker process-in-test on a fresh database answers /healthz and keeps its
 * signing key and ledger there, where a second broker finds them.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseEnv } from '../../broker/config/env.js';
import { ConfigError } from '../../broker/config/format-issues.js';
import { startBroker } from '../../broker/main.js';
import { openStore } from '../../broker/store/open-store.js';
import { openPgStore } from '../../broker/store/pg-store.js';
import { freshPgDatabase } from '../support/postgres.js';

describe('BATON_DATABASE_URL', () => {
  it('accepts postgres:// and postgresql:// URLs, SQLite when unset', () => {
    expect(parseEnv({}).databaseUrl).toBeUndefined();
    for (const url of [
      'postgres://baton:pw@db.internal:5432/baton',
      'postgresql://db.internal/baton?sslmode=require',
      'postgres:///baton?host=/var/run/postgresql',
    ])
      expect(parseEnv({ BATON_DATABASE_URL: url }).databaseUrl).toBe(url);
  });

  it('refuses another kind of URL, or none, without repeating it', () => {
    for (const bad of [
      'mysql://baton:hunter2-secret@db/baton',
      'hunter2-secret',
      'postgres://:hunter2-secret@/baton',
    ]) {
      let error: unknown;
      try {
        parseEnv({ BATON_DATABASE_URL: bad });
      } catch (e) {
        error = e;
      }
      expect(error).toBeInstanceOf(ConfigError);
      const message = (error as Error).message;
      expect(message).toMatch(
        /^BATON_DATABASE_URL: must be a postgres:\/\/ \(or postgresql:\/\/\) URL/,
      );
      expect(message).not.toContain('hunter2');
    }
  });
});

describe('A broker on PostgreSQL', () => {
  let url: string;
  let dir: string;
  beforeAll(async () => {
    url = await freshPgDatabase();
    dir = mkdtempSync(path.join(tmpdir(), 'baton-pg-broker-'));
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('is what openStore opens for a postgres URL', async () => {
    const store = await openStore(parseEnv({ BATON_DATABASE_URL: url }));
    try {
      await store.recordIssued({
        jti: 'via-open-store',
        parentJti: null,
        sub: 'alice',
        act: null,
        clientId: 'planner',
        grantType: 'client_credentials',
        scope: 's',
        aud: ['a'],
        iat: 1,
        exp: 2,
      });
      const other = await openPgStore(url);
      expect((await other.getToken('via-open-store'))?.sub).toBe('alice');
      await other.close();
    } finally {
      await store.close();
    }
  });

  it('holds at most BATON_DATABASE_POOL connections, however many reads wait', async () => {
    expect(parseEnv({}).databasePool).toBe(10);
    expect(() => parseEnv({ BATON_DATABASE_POOL: '0' })).toThrow(/BATON_DATABASE_POOL/);
    expect(() => parseEnv({ BATON_DATABASE_POOL: 'ten' })).toThrow(/BATON_DATABASE_POOL/);
    const connections = async (watcher: pg.Client) => {
      const { rows } = await watcher.query<{ n: string }>(
        'SELECT count(*) AS n FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid()',
      );
      return Number(rows[0]!.n);
    };
    const watcher = new pg.Client({ connectionString: url });
    await watcher.connect();
    try {
      for (const pool of [2, 6]) {
        const store = await openStore(
          parseEnv({ BATON_DATABASE_URL: url, BATON_DATABASE_POOL: String(pool) }),
        );
        try {
          // A burst of reads at once: the pool opens connections up to its size, and they
          // stay open (idle) for a while after.
          await Promise.all(Array.from({ length: 50 }, (_, i) => store.getToken(`none-${i}`)));
          expect(await connections(watcher)).toBe(pool);
        } finally {
          await store.close();
        }
      }
    } finally {
      await watcher.end();
    }
  });

  it('serves /healthz and shares its signing key with a second broker', async () => {
    const env = {
      PORT: '0',
      BATON_DATABASE_URL: url,
      BATON_DB: path.join(dir, 'unused.db'),
      BATON_LOG_LEVEL: 'silent',
    };
    const first = await startBroker(env);
    try {
      const health = await fetch(`${first.url}/healthz`);
      expect(health.status).toBe(200);
      const second = await startBroker(env);
      try {
        const jwks = async (u: string) =>
          (
            (await (await fetch(`${u}/jwks`)).json()) as {
              keys: Array<{ kid: string }>;
            }
          ).keys
            .map((k) => k.kid)
            .sort();
        expect(await jwks(second.url)).toEqual(await jwks(first.url));
        expect((await jwks(first.url)).length).toBeGreaterThan(0);
      } finally {
        await second.close();
      }
    } finally {
      await first.close();
    }
  });
});
