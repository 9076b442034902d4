import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    testTimeout: 60_000,
    hookTimeout: 60_000,
    // Suites start real servers and git processes; two workers match the CI machine.
    pool: 'forks',
    maxWorkers: 2,
  },
});
