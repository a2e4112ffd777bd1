import { randomUUID } from 'node:crypto';
import { earliest } from '../../domain/backfill-job.ts';
import { BackfillInProgressError } from '../../errors/backfill-in-progress-error.ts';
import type { BackfillStatusStore } from '../../ports/backfill-status-store.ts';
import type { Clock } from '../../ports/clock.ts';
import type { BackfillQueue } from '../../ports/job-queues.ts';

export const DEFAULT_BACKFILL_DAYS = 90;
/** A queued run no worker started within an hour (a lost message) may be replaced. */
export const STALE_QUEUED_MS = 60 * 60 * 1000;

export interface RequestBackfillDeps {
  readonly backfillStatus: BackfillStatusStore;
  readonly backfillQueue: BackfillQueue;
  readonly clock: Clock;
}

/** Records a new run (at most one queued or running per tenant) and returns its id. */
export async function createBackfillRun(
  deps: Pick<RequestBackfillDeps, 'backfillStatus' | 'clock'>,
  tenantId: string,
  days = DEFAULT_BACKFILL_DAYS,
): Promise<string> {
  const runId = randomUUID();
  const at = deps.clock.now();
  // A run left queued or running (only a stale one can be replaced), or failed with its replay
  // unfinished, may have overwritten webhook events it never replayed: the new run replays from
  // where that one would have (and the old replay's continuation finds itself replaced).
  const previous = await deps.backfillStatus.get(tenantId);
  const unfinished =
    previous?.status === 'queued' || previous?.status === 'running' || previous?.replayPending === true;
  const replayFrom = unfinished ? earliest(previous?.replayFrom, previous?.startedAt) : undefined;
  if (!(await deps.backfillStatus.requestRun(tenantId, { runId, days, at, replayFrom }, STALE_QUEUED_MS))) {
    throw new BackfillInProgressError();
  }
  return runId;
}

/**
 * Queues a backfill run for a tenant (after a connect, or a tenant's re-sync): records the run,
 * then sends its message. If the message cannot be sent, the run is marked failed with that
 * reason instead of sitting queued forever, and the error reaches the caller.
 */
export async function requestBackfill(
  deps: RequestBackfillDeps,
  tenantId: string,
  days = DEFAULT_BACKFILL_DAYS,
): Promise<string> {
  const runId = await createBackfillRun(deps, tenantId, days);
  try {
    await deps.backfillQueue.enqueueBackfill({ tenantId, days, runId });
  } catch (error) {
    await deps.backfillStatus.finish(
      tenantId,
      runId,
      { status: 'failed', error: 'The backfill could not be queued; ask for a re-sync' },
      deps.clock.now(),
    );
    throw error;
  }
  return runId;
}
