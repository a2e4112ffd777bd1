import {
  BackfillFailedError,
  type BackfillStripeDataOptions,
  type BackfillStripeDataResult,
  backfillStripeData as backfillWith,
} from '#shared/use-cases/backfill/backfill-stripe-data.ts';
import type { ProcessBackfillJobDeps } from '#shared/use-cases/backfill/process-backfill-job.ts';
import { createAwsDependencies } from './aws-dependencies.ts';

export { BackfillFailedError, type BackfillStripeDataResult };

/**
 * The product document's call as written, `await backfillStripeData(tenantId, { days: 90 })`:
 * the deployed stores and Stripe source from the environment, unless `deps` are given. It lives
 * beside the composition root so that `shared/` never imports from `functions/`.
 */
export function backfillStripeData(
  tenantId: string,
  options: BackfillStripeDataOptions & { readonly deps?: ProcessBackfillJobDeps } = {},
): Promise<BackfillStripeDataResult> {
  return backfillWith(tenantId, { ...options, deps: options.deps ?? deployedDependencies() });
}

function deployedDependencies(): ProcessBackfillJobDeps {
  const deps = createAwsDependencies(process.env);
  return { ...deps, source: deps.backfillSource };
}
