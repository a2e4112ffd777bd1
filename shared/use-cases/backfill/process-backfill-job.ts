import type { BackfillJob, BackfillQueue } from '../../ports/job-queues.ts';
import { type AbandonEnd, abandonBackfill, finishPendingReplay } from './abandon-backfill.ts';
import { createBackfillRun } from './request-backfill.ts';
import { handOverTime, type RunBackfillDeps, type RunBackfillOutcome, runBackfill } from './run-backfill.ts';
import { beforeTime, nameOf, TIME_UP } from './time-limits.ts';

export interface ProcessBackfillJobDeps extends RunBackfillDeps {
  readonly backfillQueue: BackfillQueue;
}

export type BackfillJobOutcome =
  | (RunBackfillOutcome & { readonly runId: string })
  /** No run was created: the tenant is not connected. */
  | { readonly outcome: 'failed'; readonly error: string; readonly runId: null };

export interface ProcessBackfillJobOptions {
  /**
   * Which delivery of the job this is (SQS's receive count) and how many it gets before the
   * dead-letter queue: a throw on the last one is final. Default 1 of 1: nothing retries a
   * direct invocation, the CLI or an in-process queue.
   */
  readonly attempt?: number;
  readonly maxAttempts?: number;
}

/**
 * On a last attempt, the run is given up this long before the deadline if it has not ended by
 * itself (it hands over well before, at half its safety margin, unless something hangs): time to
 * mark it failed and queue its replay before Lambda stops the invocation.
 */
export const ABANDON_RESERVE_MS = 10_000;

/** Raised when a last attempt was still running at `deadline - ABANDON_RESERVE_MS`. */
export class BackfillSliceTimedOutError extends Error {
  override readonly name = 'BackfillSliceTimedOutError';
  constructor() {
    super('The backfill slice did not end before its deadline');
  }
}

/**
 * One worker invocation's share of a run. A job without a run id (a direct invocation, the CLI)
 * starts a new run. When time runs out, the run's continuation goes back on the queue, so a
 * 90-day import of any size finishes across as many 15-minute invocations as it needs.
 *
 * The last attempt always ends the run as `failed` when it does not end by itself, whichever
 * way: an error, a hang up to the deadline, or a run this very attempt created (a redelivery of
 * its message would create another run, never resume this one). Its error says which. Then the
 * error is thrown again, so the message still reaches the dead-letter queue and its alarm.
 */
export async function processBackfillJob(
  deps: ProcessBackfillJobDeps,
  job: BackfillJob,
  deadline: number,
  onProgress?: Parameters<typeof runBackfill>[1]['onProgress'],
  options: ProcessBackfillJobOptions = {},
): Promise<BackfillJobOutcome> {
  if (!job.runId && (await deps.integrations.getByTenant(job.tenantId))?.status !== 'connected') {
    // Nothing to record a run against: answer without leaving a status behind.
    return { outcome: 'failed', error: 'Stripe is not connected', runId: null };
  }
  const runId = job.runId ?? (await createBackfillRun(deps, job.tenantId, job.days));
  const attempt = options.attempt ?? 1;
  const maxAttempts = options.maxAttempts ?? 1;
  const final = attempt >= maxAttempts || !job.runId;
  const stop = new AbortController();
  const continuation = { tenantId: job.tenantId, days: job.days, runId };
  const work = slice(deps, continuation, deadline, stop.signal, onProgress);
  try {
    if (!final) return await work;
    const ended = await beforeTime(work, deadline - ABANDON_RESERVE_MS - deps.clock.now().getTime());
    if (ended === TIME_UP) throw new BackfillSliceTimedOutError();
    return ended;
  } catch (error) {
    if (!final) throw error;
    stop.abort();
    work.catch(() => undefined);
    const timedOut = error instanceof BackfillSliceTimedOutError;
    const reason = timedOut
      ? `Timed out on its last attempt (${attempt} of ${maxAttempts})`
      : `Gave up after ${attempt} ${attempt === 1 ? 'attempt' : 'attempts'} (${nameOf(error)})`;
    const end = await abandonBackfill(deps, job.tenantId, runId, reason, {
      handOverAt: timedOut ? deadline - ABANDON_RESERVE_MS / 4 : handOverTime(deadline),
      // A write of the hung attempt may still land: its replay waits for the deadline to pass.
      ...(timedOut ? { replayNow: false } : {}),
    });
    if (end.state === 'replay_pending') {
      const untilDeadline = Math.ceil((deadline - deps.clock.now().getTime()) / 1000) + 1;
      await enqueue(
        deps,
        continuation,
        Math.max(end.retryAfterSeconds ?? 0, timedOut ? untilDeadline : 0),
      ).catch((enqueueError: unknown) => {
        // Still pending in the status: a run that replaces this one replays it.
        deps.log.error('backfill_replay_not_queued', {
          tenantId: job.tenantId,
          runId,
          errorName: nameOf(enqueueError),
        });
      });
    }
    throw error;
  }
}

/** Runs (or resumes) the run; a failed run's pending replay is resumed when the run refuses. */
async function slice(
  deps: ProcessBackfillJobDeps,
  job: BackfillJob & { readonly runId: string },
  deadline: number,
  signal: AbortSignal,
  onProgress: Parameters<typeof runBackfill>[1]['onProgress'] | undefined,
): Promise<BackfillJobOutcome> {
  const { tenantId, runId } = job;
  const outcome = await runBackfill(deps, {
    tenantId,
    runId,
    deadline,
    signal,
    ...(onProgress ? { onProgress } : {}),
  });
  if (outcome.outcome === 'continue') {
    await enqueue(deps, job, outcome.retryAfterSeconds ?? 0);
    deps.log.info('backfill_continued', { tenantId, runId, pages: outcome.progress.pages });
    return { ...outcome, runId };
  }
  if (outcome.outcome !== 'refused') return { ...outcome, runId };
  const replay = await finishPendingReplay(deps, tenantId, runId, {
    handOverAt: handOverTime(deadline),
    signal,
  });
  if (replay.state === 'not_ours') {
    deps.log.info('backfill_refused', { tenantId, runId });
    return { outcome: 'refused', runId };
  }
  return afterReplay(deps, job, replay);
}

/** A failed run's pending replay: handed over again, or done (the run's outcome stays failed). */
async function afterReplay(
  deps: ProcessBackfillJobDeps,
  job: BackfillJob & { readonly runId: string },
  replay: Exclude<AbandonEnd, { state: 'not_ours' }>,
): Promise<BackfillJobOutcome> {
  const status = await deps.backfillStatus.get(job.tenantId);
  const progress = status?.progress ?? {
    phase: 'counting',
    cursor: null,
    pages: 0,
    requests: 0,
    objects: {},
  };
  if (replay.state === 'replay_pending') {
    await enqueue(deps, job, replay.retryAfterSeconds ?? 0);
    return { outcome: 'continue', progress, runId: job.runId };
  }
  return { outcome: 'failed', error: status?.error ?? 'The backfill failed', runId: job.runId };
}

function enqueue(deps: ProcessBackfillJobDeps, job: BackfillJob, delaySeconds: number): Promise<void> {
  return deps.backfillQueue.enqueueBackfill(job, Math.min(900, delaySeconds));
}
