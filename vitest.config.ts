import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    exclude: ['test/e2e/**', 'node_modules/**'],
    globalSetup: ['test/support/global-setup.ts'],
    setupFiles: ['test/support/setup-env.ts', 'test/support/iam/record-durations.ts'],
    testTimeout: 20_000,
    hookTimeout: 30_000,
    // Log output is captured and asserted in a few tests; keep it out of the console elsewhere.
    silent: 'passed-only',
  },
});
