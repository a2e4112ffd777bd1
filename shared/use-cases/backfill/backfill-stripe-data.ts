import type { BackfillProgress, BackfillResult } from '../../ports/backfill-status-store.ts';
import { type ProcessBackfillJobDeps, processBackfillJob } from './process-backfill-job.ts';
import { DEFAULT_BACKFILL_DAYS } from './request-backfill.ts';

export interface BackfillStripeDataOptions {
  readonly days?: number;
  readonly onProgress?: (progress: BackfillProgress) => void;
}

export interface BackfillStripeDataInput extends BackfillStripeDataOptions {
  /** The stores and the Stripe source (functions/commons/backfill-stripe-data.ts gives the deployed ones). */
  readonly deps: ProcessBackfillJobDeps;
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
 * The product document's entry point (with the deployed stores:
 * functions/commons/backfill-stripe-data.ts): `backfillStripeData(tenantId, { deps })` imports the tenant's
 * last `days` (90) days in this process, resuming across as many time slices as it needs, and
 * resolves to `{customersUpserted, subscriptionsCreated, ordersCreated, …}`. It throws
 * `BackfillFailedError` when the backfill gives up, and refuses while another run is active.
 */
export async function backfillStripeData(
  tenantId: string,
  options: BackfillStripeDataInput,
): Promise<BackfillStripeDataResult> {
  const { deps } = options;
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
