import type { BackfillJob, BackfillQueue } from '../../ports/job-queues.ts';
import { createBackfillRun } from './request-backfill.ts';
import { type RunBackfillDeps, type RunBackfillOutcome, runBackfill } from './run-backfill.ts';

export interface ProcessBackfillJobDeps extends RunBackfillDeps {
  readonly backfillQueue: BackfillQueue;
}

export type BackfillJobOutcome =
  | (RunBackfillOutcome & { readonly runId: string })
  /** No run was created: the tenant is not connected. */
  | { readonly outcome: 'failed'; readonly error: string; readonly runId: null };

/**
 * One worker invocation's share of a run. A job without a run id (a direct invocation, the CLI)
 * starts a new run. When time runs out, the run's continuation goes back on the queue, so a
 * 90-day import of any size finishes across as many 15-minute invocations as it needs.
 */
export async function processBackfillJob(
  deps: ProcessBackfillJobDeps,
  job: BackfillJob,
  deadline: number,
  onProgress?: Parameters<typeof runBackfill>[1]['onProgress'],
): Promise<BackfillJobOutcome> {
  if (!job.runId && (await deps.integrations.getByTenant(job.tenantId))?.status !== 'connected') {
    // Nothing to record a run against: answer without leaving a status behind.
    return { outcome: 'failed', error: 'Stripe is not connected', runId: null };
  }
  const runId = job.runId ?? (await createBackfillRun(deps, job.tenantId, job.days));
  const outcome = await runBackfill(deps, {
    tenantId: job.tenantId,
    runId,
    deadline,
    ...(onProgress ? { onProgress } : {}),
  });
  if (outcome.outcome === 'continue') {
    await deps.backfillQueue.enqueueBackfill(
      { tenantId: job.tenantId, days: job.days, runId },
      outcome.retryAfterSeconds ?? 0,
    );
    deps.log.info('backfill_continued', { tenantId: job.tenantId, runId, pages: outcome.progress.pages });
  }
  if (outcome.outcome === 'refused') {
    deps.log.info('backfill_refused', { tenantId: job.tenantId, runId });
  }
  return { ...outcome, runId };
}
