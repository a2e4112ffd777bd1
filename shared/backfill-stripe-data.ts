import type { BackfillProgress, BackfillResult } from './ports/backfill-status-store.ts';
import {
  type ProcessBackfillJobDeps,
  processBackfillJob,
} from './use-cases/backfill/process-backfill-job.ts';
import { DEFAULT_BACKFILL_DAYS } from './use-cases/backfill/request-backfill.ts';

export interface BackfillStripeDataOptions {
  readonly days?: number;
  /** The stores and Stripe source; by default the deployed ones, from the environment. */
  readonly deps?: ProcessBackfillJobDeps;
  readonly onProgress?: (progress: BackfillProgress) => void;
}

export interface BackfillStripeDataResult extends BackfillResult {
  readonly runId: string;
  readonly pages: number;
  readonly requests: number;
}

/** The failure reason of a backfill that gave up (never reported as a success). */
export class BackfillFailedError extends Error {
  override readonly name = 'BackfillFailedError';
}

/**
 * The product document's entry point: `await backfillStripeData(tenantId)` imports the tenant's
 * last `days` (90) days in this process, resuming across as many time slices as it needs, and
 * resolves to `{customersUpserted, subscriptionsCreated, ordersCreated, …}`. It throws
 * `BackfillFailedError` when the backfill gives up, and refuses while another run is active.
 */
export async function backfillStripeData(
  tenantId: string,
  options: BackfillStripeDataOptions = {},
): Promise<BackfillStripeDataResult> {
  const deps = options.deps ?? (await deployedDependencies());
  let job = { tenantId, days: options.days ?? DEFAULT_BACKFILL_DAYS } as {
    tenantId: string;
    days: number;
    runId?: string;
  };
  for (;;) {
    const outcome = await processBackfillJob(
      // Continuations run here, in this loop, not through the queue.
      { ...deps, backfillQueue: { enqueueBackfill: async () => undefined } },
      job,
      deps.clock.now().getTime() + 15 * 60_000,
      options.onProgress,
    );
    switch (outcome.outcome) {
      case 'succeeded':
        return {
          ...outcome.result,
          runId: outcome.runId,
          pages: outcome.progress.pages,
          requests: outcome.progress.requests,
        };
      case 'continue':
        job = { ...job, runId: outcome.runId };
        break;
      case 'failed':
        throw new BackfillFailedError(outcome.error);
      case 'refused':
        throw new BackfillFailedError('Another worker holds this backfill run');
    }
  }
}

async function deployedDependencies(): Promise<ProcessBackfillJobDeps> {
  // The composition root lives with the functions; loaded only when no stores were given.
  const { createAwsDependencies } = await import('../functions/commons/aws-dependencies.ts');
  const deps = createAwsDependencies(process.env);
  return { ...deps, source: deps.backfillSource };
}
