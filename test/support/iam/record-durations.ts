import { relative } from 'node:path';
import { afterEach, expect, inject } from 'vitest';
import { recordTestDuration } from './iam-enforcement.ts';

/** Setup file of the main suite: each test's duration, for `npm run test:iam-mutations`. */
afterEach((context) => {
  const dir = inject('iamUsageDir');
  const start = context.task.result?.startTime;
  if (!dir || start === undefined) return;
  const state = expect.getState();
  recordTestDuration(dir, {
    testFile: relative(process.cwd(), state.testPath ?? ''),
    testName: state.currentTestName ?? '',
    durationMs: Date.now() - start,
  });
});
