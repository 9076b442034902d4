import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    testTimeout: 60_000,
    hookTimeout: 60_000,
    // Suites start real servers and git processes; two workers match the CI machine.
    pool: 'forks',
    maxWorkers: 2,
    // The AWS SDK warns on every process start that its 2027 releases need Node 22 (see
    // docs/deploy.md); dozens of copies in a test log hide the output that matters.
    env: { AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true' },
  },
});
