import { earliest } from '../../domain/backfill-job.ts';
import type {
  BackfillProgress,
  BackfillStatus,
  BackfillStatusStore,
} from '../../ports/backfill-status-store.ts';
import type { ChangeJournal } from '../../ports/change-journal.ts';
import type { Clock } from '../../ports/clock.ts';
import type { Log } from '../../ports/log.ts';
import type { RecordStore } from '../../ports/record-store.ts';
import { Checkpoints } from './checkpoints.ts';
import { replayJournal } from './replay-journal.ts';
import { nameOf } from './time-limits.ts';

export interface AbandonBackfillDeps {
  readonly backfillStatus: BackfillStatusStore;
  readonly journal: ChangeJournal;
  readonly records: RecordStore;
  readonly clock: Clock;
  readonly log: Log;
}

export interface AbandonOptions {
  /**
   * Epoch ms by which this call must be done (default: 30 s from now): no replay group starts
   * after it, and the status writes are retried until then.
   */
  readonly handOverAt?: number;
  /** False: no replay at all (the tenant disconnected: nothing more is written for it). */
  readonly replay?: boolean;
  /**
   * False leaves the whole replay to the continuation: the run's last attempt hung, and a write
   * of it may still be under way.
   */
  readonly replayNow?: boolean;
  readonly signal?: AbortSignal;
}

export type AbandonEnd =
  /** Failed, and its replay is done (or it had none). */
  | { readonly state: 'ended' }
  /** Failed; the caller queues a continuation that finishes its replay (`finishPendingReplay`). */
  | { readonly state: 'replay_pending'; readonly retryAfterSeconds?: number }
  /** Not this call's to end: already over, replaced by another run, or the tenant disconnected. */
  | { readonly state: 'not_ours' };

const DEFAULT_ABANDON_MS = 30_000;
/** A throttled replay waits this long before its continuation tries again. */
export const THROTTLED_RETRY_SECONDS = 60;
const PERSIST_ATTEMPTS = 8;
const PERSIST_MAX_DELAY_MS = 2_000;
const PERSIST_GRACE_MS = 5_000;
const EMPTY_PROGRESS: BackfillProgress = {
  phase: 'counting',
  cursor: null,
  pages: 0,
  requests: 0,
  objects: {},
};

/**
 * Ends a run that will not be resumed (an error on its last attempt, a last attempt running out of
 * time, a run that cannot go on, an operator's Ctrl-C) as failed, at once: the status must never
 * show `running` forever. Its batches may have overwritten webhook events, so the journal replay
 * still follows, as for a run that ends by itself: in this invocation as far as its time allows,
 * the rest in a continuation (`replayPending`), which a run replacing this one also takes over.
 * The status writes are retried over a few seconds, so a throttled table still gets its `failed`.
 */
export async function abandonBackfill(
  deps: AbandonBackfillDeps,
  tenantId: string,
  runId: string,
  error: string,
  options: AbandonOptions = {},
): Promise<AbandonEnd> {
  const until = options.handOverAt ?? deps.clock.now().getTime() + DEFAULT_ABANDON_MS;
  const persist = <T>(attempt: () => Promise<T>) => persistently(attempt, until, deps.clock);
  const status = await persist(() => deps.backfillStatus.get(tenantId));
  if (status?.runId !== runId) return { state: 'not_ours' };
  if (status.status === 'failed' && status.replayPending) {
    // The last attempt of the replay itself: the records may lag the events it did not replay.
    deps.log.error('backfill_replay_abandoned', {
      tenantId,
      runId,
      entries: status.progress?.replay?.entries ?? 0,
    });
    await persist(() =>
      deps.backfillStatus.advancePendingReplay(
        tenantId,
        runId,
        status.progress ?? EMPTY_PROGRESS,
        deps.clock.now(),
        true,
      ),
    );
    return { state: 'ended' };
  }
  if (status.status !== 'queued' && status.status !== 'running') return { state: 'not_ours' };
  // Only a run that started can have written batches.
  const replayPending = options.replay !== false && status.startedAt !== null;
  const marked = await persist(() =>
    deps.backfillStatus.finish(tenantId, runId, { status: 'failed', error, replayPending }, deps.clock.now()),
  );
  if (!marked) return { state: 'not_ours' };
  deps.log.warn('backfill_failed', { tenantId, runId, error });
  if (!replayPending) return { state: 'ended' };
  if (options.replayNow === false) return { state: 'replay_pending' };
  return finishPendingReplay(deps, tenantId, runId, {
    handOverAt: until,
    signal: options.signal,
    status: { ...status, status: 'failed', replayPending: true },
  });
}

/**
 * Replays what a failed run's pending replay has left, until done or `handOverAt`, checkpointing
 * its position; `replay_pending` asks the caller for a continuation. No lease: a duplicate
 * delivery replaying at the same time only repeats guarded writes.
 */
export async function finishPendingReplay(
  deps: AbandonBackfillDeps,
  tenantId: string,
  runId: string,
  options: {
    readonly handOverAt: number;
    readonly signal?: AbortSignal | undefined;
    readonly status?: BackfillStatus;
  },
): Promise<AbandonEnd> {
  // The last writes may come after the hand-over time: the caller keeps a reserve for them.
  const persist = <T>(attempt: () => Promise<T>) =>
    persistently(attempt, options.handOverAt + PERSIST_GRACE_MS, deps.clock);
  const status = options.status ?? (await deps.backfillStatus.get(tenantId));
  if (status?.runId !== runId || !status.replayPending) return { state: 'not_ours' };
  let progress = status.progress ?? EMPTY_PROGRESS;
  const save = (snapshot: BackfillProgress, done: boolean) =>
    deps.backfillStatus.advancePendingReplay(tenantId, runId, snapshot, deps.clock.now(), done);
  const windowStart = earliest(status.replayFrom, status.startedAt);
  if (!windowStart) {
    await persist(() => save(progress, true));
    return { state: 'ended' };
  }
  const checkpoints = new Checkpoints<BackfillProgress>(
    (snapshot) => save(snapshot, false),
    () => deps.clock.now().getTime(),
    (error) => deps.log.warn('backfill_checkpoint_failed', { tenantId, runId, errorName: nameOf(error) }),
  );
  const end = await replayJournal(deps, tenantId, new Date(windowStart), {
    resume: progress.replay,
    handOverAt: options.handOverAt,
    now: () => deps.clock.now().getTime(),
    isCurrent: () => deps.backfillStatus.isCurrent(tenantId, runId),
    onProgress: (replay) => {
      progress = { ...progress, replay };
      checkpoints.save(progress);
    },
    signal: options.signal,
  });
  progress = { ...progress, replay: end.replay };
  if (end.end === 'done') {
    await checkpoints.flush().catch(() => undefined);
    if (!(await persist(() => save(progress, true)))) return { state: 'not_ours' };
    deps.log.info('backfill_journal_replayed', { tenantId, runId, entries: end.replay.entries });
    return { state: 'ended' };
  }
  checkpoints.save(progress);
  // A lost checkpoint only means the continuation redoes a few groups.
  await checkpoints.flush().catch(() => undefined);
  if (end.end === 'lost' || checkpoints.lost) return { state: 'not_ours' };
  deps.log.info('backfill_replay_handed_over', { tenantId, runId, entries: end.replay.entries });
  return end.end === 'throttled'
    ? { state: 'replay_pending', retryAfterSeconds: THROTTLED_RETRY_SECONDS }
    : { state: 'replay_pending' };
}

/**
 * A status read or write the give-up path cannot do without (a throttled table must still get
 * its `failed`): tried again after doubling, jittered waits, while there is time.
 */
async function persistently<T>(attempt: () => Promise<T>, until: number, clock: Clock): Promise<T> {
  for (let tries = 1; ; tries += 1) {
    try {
      return await attempt();
    } catch (error) {
      const delay = Math.random() * Math.min(PERSIST_MAX_DELAY_MS, 100 * 2 ** tries);
      if (tries >= PERSIST_ATTEMPTS || clock.now().getTime() + delay >= until) throw error;
      await new Promise((resolve) => setTimeout(resolve, delay));
    }
  }
}
