import { defineConfig } from 'drizzle-kit';

/** drizzle-kit reads the one schema and writes named SQL migrations into migrations/. */
export default defineConfig({
  dialect: 'sqlite',
  schema: './broker/store/schema.ts',
  out: './migrations',
});
