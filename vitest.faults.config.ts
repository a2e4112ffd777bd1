import { defineConfig } from 'vitest/config';

/**
 * `npm run test:faults`: crash tests that SIGKILL `npm run dev` in the middle of a webhook burst
 * and of a backfill, restart it on the same data and check nothing was lost or counted twice.
 * Their files end in `.faults.ts`, so `npm test` (which runs `*.test.ts`) leaves them out.
 */
export default defineConfig({
  test: {
    include: ['test/faults/**/*.faults.ts'],
    setupFiles: ['test/support/setup-env.ts'],
    // Each file drives its own stack; one at a time leaves the machine's cores to it, so a kill
    // lands where the test aims it.
    fileParallelism: false,
    testTimeout: 90_000,
    hookTimeout: 30_000,
    silent: 'passed-only',
  },
});
