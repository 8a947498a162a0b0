/**
 * The two schemas stay twins (SPEC §9): every SQLite table (`schema.ts`) has a PostgreSQL
 * table (`pg-schema.ts`) of the same name with the same columns, nullability and index
 * names, and the PostgreSQL migrations in migrations-pg/ build exactly that schema. A
 * column added to one side only, or a pg-schema change without `drizzle-kit generate
 * --config drizzle-pg.config.ts`, fails here.
 */
import { getTableConfig as pgConfig, PgTable } from 'drizzle-orm/pg-core';
import { getTableConfig as sqliteConfig, SQLiteTable } from 'drizzle-orm/sqlite-core';
import { beforeAll, describe, expect, it } from 'vitest';
import * as pgSchema from '../../../broker/store/pg-schema.js';
import { openPgStore } from '../../../broker/store/pg-store.js';
import * as sqliteSchema from '../../../broker/store/schema.js';
import { freshPgDatabase } from '../../support/postgres.js';

interface Shape {
  columns: Record<string, { notNull: boolean }>;
  indexes: Record<string, { partial: boolean }>;
}

function sqliteTables(): Record<string, Shape> {
  const out: Record<string, Shape> = {};
  for (const value of Object.values(sqliteSchema)) {
    if (!(value instanceof SQLiteTable)) continue;
    const c = sqliteConfig(value);
    out[c.name] = {
      columns: Object.fromEntries(c.columns.map((col) => [col.name, { notNull: col.notNull }])),
      indexes: Object.fromEntries(
        c.indexes.map((i) => [i.config.name, { partial: i.config.where !== undefined }]),
      ),
    };
  }
  return out;
}

function pgTables(): Record<string, Shape> {
  const out: Record<string, Shape> = {};
  for (const value of Object.values(pgSchema)) {
    if (!(value instanceof PgTable)) continue;
    const c = pgConfig(value);
    out[c.name] = {
      columns: Object.fromEntries(c.columns.map((col) => [col.name, { notNull: col.notNull }])),
      indexes: Object.fromEntries(
        c.indexes.map((i) => [i.config.name!, { partial: i.config.where !== undefined }]),
      ),
    };
  }
  return out;
}

describe('The PostgreSQL schema', () => {
  let url: string;
  beforeAll(async () => {
    url = await freshPgDatabase();
  });

  it('has every SQLite table, column, nullability and index', () => {
    expect(pgTables()).toEqual(sqliteTables());
  });

  it('is what the migrations in migrations-pg/ build', async () => {
    const store = await openPgStore(url, { maxConnections: 1 });
    try {
      const columns = await store.pool.query<{
        table_name: string;
        column_name: string;
        is_nullable: string;
      }>(
        `SELECT table_name, column_name, is_nullable FROM information_schema.columns
         WHERE table_schema = 'public'`,
      );
      const indexes = await store.pool.query<{
        tablename: string;
        indexname: string;
        indexdef: string;
      }>(
        `SELECT tablename, indexname, indexdef FROM pg_indexes
         WHERE schemaname = 'public' AND indexname NOT LIKE '%_pkey' AND indexname NOT LIKE '%_pk'`,
      );
      const built: Record<string, Shape> = {};
      for (const c of columns.rows) {
        built[c.table_name] ??= { columns: {}, indexes: {} };
        built[c.table_name]!.columns[c.column_name] = { notNull: c.is_nullable === 'NO' };
      }
      for (const i of indexes.rows)
        built[i.tablename]!.indexes[i.indexname] = { partial: / WHERE /.test(i.indexdef) };
      expect(built).toEqual(pgTables());
    } finally {
      await store.close();
    }
  });
});
