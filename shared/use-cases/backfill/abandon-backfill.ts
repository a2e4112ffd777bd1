import { earliest } from '../../domain/backfill-job.ts';
import type { BackfillStatusStore } from '../../ports/backfill-status-store.ts';
import type { ChangeJournal } from '../../ports/change-journal.ts';
import type { Clock } from '../../ports/clock.ts';
import type { Log } from '../../ports/log.ts';
import type { RecordStore } from '../../ports/record-store.ts';
import { replayJournal } from './replay-journal.ts';

export interface AbandonBackfillDeps {
  readonly backfillStatus: BackfillStatusStore;
  readonly journal: ChangeJournal;
  readonly records: RecordStore;
  readonly clock: Clock;
  readonly log: Log;
}

/**
 * Ends a run that will not be resumed (its last SQS receive, an operator's Ctrl-C) as failed.
 * Its batches may have overwritten webhook events, so the journal is replayed first, as a run
 * that ends by itself does; if even that fails, the run is still marked failed (it must not
 * show `running` forever) and the error log says the records may lag those events.
 */
export async function abandonBackfill(
  deps: AbandonBackfillDeps,
  tenantId: string,
  runId: string,
  error: string,
): Promise<void> {
  const status = await deps.backfillStatus.get(tenantId).catch(() => undefined);
  const from = status?.runId === runId ? earliest(status.replayFrom, status.startedAt) : undefined;
  if (from) {
    try {
      await replayJournal(deps, tenantId, new Date(from));
    } catch (replayError) {
      deps.log.error('backfill_replay_failed', {
        tenantId,
        runId,
        errorName: (replayError as { name?: unknown } | null)?.name,
      });
    }
  }
  await deps.backfillStatus.finish(tenantId, runId, { status: 'failed', error }, deps.clock.now());
}
