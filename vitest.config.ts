import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    testTimeout: 30_000,
    hookTimeout: 60_000,
    // One PostgreSQL for the run (SPEC §9 store tests); each file makes its own database.
    globalSetup: ['test/support/postgres-global.ts'],
  },
});
