import { defineConfig } from 'vitest/config';

/**
 * `npm run test:e2e`: the browser tests (playwright-core driving Debian's Chromium), kept out of
 * `npm test` (see vitest.config.ts's exclude) so the main suite stays browser-free.
 */
export default defineConfig({
  test: {
    include: ['test/e2e/**/*.e2e.test.ts'],
    setupFiles: ['test/support/setup-env.ts'],
    // One browser and one stack per file; files in turn keep the machine's two cores for them.
    fileParallelism: false,
    testTimeout: 90_000,
    hookTimeout: 60_000,
    silent: 'passed-only',
  },
});
