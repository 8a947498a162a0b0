import { defineConfig } from 'drizzle-kit';

/**
 * The PostgreSQL store's migrations (SPEC §9): drizzle-kit reads `pg-schema.ts` and writes
 * into migrations-pg/ (`npx drizzle-kit generate --config drizzle-pg.config.ts`). The
 * SQLite migrations stay in migrations/ (drizzle.config.ts).
 */
export default defineConfig({
  dialect: 'postgresql',
  schema: './broker/store/pg-schema.ts',
  out: './migrations-pg',
});
