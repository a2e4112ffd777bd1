import { fileURLToPath } from 'node:url';

/**
 * Written by each test run, read by `npm run check:aws` and `npm run test:iam-mutations`
 * (`IAM_USAGE_DIR` moves it, so two runs at once need not share it).
 */
export const IAM_USAGE_DIR =
  process.env.IAM_USAGE_DIR ?? fileURLToPath(new URL('../../../.iam-usage/', import.meta.url));
