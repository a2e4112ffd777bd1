import { earliest } from '../../domain/backfill-job.ts';
import { BACKFILL_LANES } from '../../domain/stripe-kinds/registry.ts';
import type {
  BackfillProgress,
  BackfillResult,
  BackfillStatusStore,
} from '../../ports/backfill-status-store.ts';
import type { ChangeJournal } from '../../ports/change-journal.ts';
import type { Clock } from '../../ports/clock.ts';
import type { IntegrationRepository } from '../../ports/integration-repository.ts';
import type { Log } from '../../ports/log.ts';
import type { RecordStore, RecordVersion } from '../../ports/record-store.ts';
import {
  BACKFILL_PHASES,
  type BackfillPhase,
  type StripeBackfillSource,
} from '../../ports/stripe-backfill-source.ts';
import { abandonBackfill, THROTTLED_RETRY_SECONDS } from './abandon-backfill.ts';
import { type FetchedPage, type LanePage, type LaneRun, type Position, walkLane } from './backfill-lane.ts';
import { Checkpoints } from './checkpoints.ts';
import { PageChanges } from './page-changes.ts';
import { replayJournal } from './replay-journal.ts';
import { isThrottled } from './throttling.ts';
import { beforeTime, nameOf, settle, TIME_UP } from './time-limits.ts';

export interface RunBackfillDeps {
  readonly backfillStatus: BackfillStatusStore;
  readonly integrations: IntegrationRepository;
  readonly records: RecordStore;
  /** What webhooks applied meanwhile: replayed before the run ends, over its batched writes. */
  readonly journal: ChangeJournal;
  /** Already paced and retrying (see RateLimitedBackfillSource); `requests` counts what it sent. */
  readonly source: StripeBackfillSource & { readonly stats?: { readonly requests: number } };
  readonly clock: Clock;
  readonly log: Log;
}

export interface RunBackfillInput {
  readonly tenantId: string;
  readonly runId: string;
  /** Epoch ms by which the run must have stopped (the Lambda's deadline); also its lease. */
  readonly deadline: number;
  /** Stops this long before the deadline, leaving time to checkpoint and hand over. */
  readonly safetyMarginMs?: number;
  /** Observes progress after every page (the CLI's progress bar). */
  readonly onProgress?: (progress: BackfillProgress) => void;
  /** Stops the run at its next page or replay group (the invocation is about to end). */
  readonly signal?: AbortSignal;
}

export type RunBackfillOutcome =
  | { readonly outcome: 'succeeded'; readonly result: BackfillResult; readonly progress: BackfillProgress }
  | { readonly outcome: 'failed'; readonly error: string }
  /**
   * Out of time (or throttled, by Stripe or DynamoDB, for longer than one slice's retries): the
   * caller hands the run over (an SQS continuation, delayed by `retryAfterSeconds`) and it resumes
   * from the checkpoint. Also a failed run whose journal replay must go on (its status is failed).
   */
  | { readonly outcome: 'continue'; readonly progress: BackfillProgress; readonly retryAfterSeconds?: number }
  /**
   * Another worker holds the run, or it is not the current one (replaced, or the tenant
   * disconnected, possibly mid-way): nothing more was written.
   */
  | { readonly outcome: 'refused' };

/** Retryable read failures tolerated across slices (each after its own 8 attempts) before failing. */
const MAX_STALLS = 5;
const STALL_DELAY_SECONDS = 300;

const DEFAULT_SAFETY_MARGIN_MS = 60_000;
/** SQS's longest delay. */
const MAX_DELAY_SECONDS = 900;
const THROTTLED: unique symbol = Symbol('throttled');
const CHECKPOINT_INTERVAL_MS = 1000;

/**
 * The lists are walked in two lanes at once (each kind names its lists' lane): a list's pages
 * come one after the other (each needs the last id of the one before), so one lane is bound by
 * Stripe's latency, not by the pace. The lanes' keys barely meet (refunds and disputes of
 * invoice payments), and the record store serialises batches that share a key.
 */
export { BACKFILL_LANES };

/** When a slice stops starting work (pages, replay groups, batch back-offs): half its margin before the deadline. */
export function handOverTime(deadline: number, safetyMarginMs = DEFAULT_SAFETY_MARGIN_MS): number {
  return deadline - safetyMarginMs / 2;
}

/**
 * Runs (or resumes) one backfill run: walks each Stripe list page by page (two lanes of lists at
 * once), applies what each object contributes under the same ordering guard as webhooks (a
 * backfill write is a snapshot at fetch time and loses its second to any event), in batches,
 * and checkpoints as it goes (at most once a second). Batches can overwrite an event applied
 * while they were in flight, so the run replays the webhooks' journal before it ends. Counters
 * are read back from the records the run stamped, so they are exact after any number of resumes.
 *
 * Every step hands over under the deadline: the lists page by page, the replay group by group
 * (its position checkpointed like a list cursor), the count by starting again in the next slice.
 * So does DynamoDB throttling past the batch writer's back-off: the slice hands over with what
 * has landed checkpointed, and the continuation waits a minute. Before every page (and replay
 * group) it writes, the run checks (one strongly consistent read) that it is still the tenant's
 * current run: after a disconnect, at most the pages already being written land.
 */
export async function runBackfill(
  deps: RunBackfillDeps,
  input: RunBackfillInput,
): Promise<RunBackfillOutcome> {
  const { tenantId, runId, deadline } = input;
  const margin = input.safetyMarginMs ?? DEFAULT_SAFETY_MARGIN_MS;
  const handOverAt = handOverTime(deadline, margin);
  const now = () => deps.clock.now().getTime();
  const status = await deps.backfillStatus.begin(tenantId, runId, deps.clock.now(), deadline);
  if (!status) return { outcome: 'refused' };
  const replayWindowStart = new Date(earliest(status.replayFrom, status.startedAt) ?? deps.clock.now());
  let progress: BackfillProgress = withLanes(
    status.progress ?? {
      phase: BACKFILL_PHASES[0] as BackfillPhase,
      cursor: null,
      pages: 0,
      requests: 0,
      objects: {},
    },
    status.progress?.lanes ??
      BACKFILL_LANES.map((lane) => ({ phase: lane[0] as BackfillPhase, cursor: null })),
  );
  const checkpoints = new Checkpoints<BackfillProgress>(
    (snapshot) => deps.backfillStatus.checkpoint(tenantId, runId, snapshot, deps.clock.now()),
    now,
    (error) => deps.log.warn('backfill_checkpoint_failed', { tenantId, runId, errorName: nameOf(error) }),
    CHECKPOINT_INTERVAL_MS,
  );
  // The run is no longer ours (replaced, finished elsewhere, the tenant disconnected).
  let lost = false;
  // Set when the run must end early: the other lane stopped, or the invocation is ending.
  let stopping = false;
  const gone = () => lost || checkpoints.lost;
  const halted = () => stopping || gone() || input.signal?.aborted === true;
  const isCurrent = async () => {
    if (gone()) return false;
    if (!(await deps.backfillStatus.isCurrent(tenantId, runId))) lost = true;
    return !lost;
  };
  const refused = (): RunBackfillOutcome => {
    deps.log.info('backfill_stopped_not_current', { tenantId, runId });
    return { outcome: 'refused' };
  };
  const fail = async (error: string, replay = true): Promise<RunBackfillOutcome> => {
    const end = await abandonBackfill(deps, tenantId, runId, error, {
      handOverAt,
      replay,
      ...(input.signal ? { signal: input.signal } : {}),
    });
    if (end.state === 'not_ours') return refused();
    // Failed for good, but its journal replay goes on in the continuation.
    if (end.state === 'replay_pending') return continued(end.retryAfterSeconds);
    return { outcome: 'failed', error };
  };
  const continued = (retryAfterSeconds?: number): RunBackfillOutcome =>
    retryAfterSeconds
      ? { outcome: 'continue', progress, retryAfterSeconds }
      : { outcome: 'continue', progress };
  const handOver = async (retryAfterSeconds?: number): Promise<RunBackfillOutcome> => {
    checkpoints.save(progress);
    // A checkpoint that cannot be written only means the continuation redoes a few pages.
    await checkpoints.flush().catch((error: unknown) => {
      deps.log.warn('backfill_checkpoint_failed', { tenantId, runId, errorName: nameOf(error) });
    });
    if (gone()) return refused();
    const released = await deps.backfillStatus.release(tenantId, runId).then(
      () => true,
      () => false,
    );
    // A lease still held would refuse the continuation: it waits the lease out instead.
    const leaseLeft = Math.ceil((deadline - now()) / 1000) + 1;
    return continued(
      released ? retryAfterSeconds : Math.min(MAX_DELAY_SECONDS, Math.max(retryAfterSeconds ?? 0, leaseLeft)),
    );
  };
  // Stripe or DynamoDB throttled past this slice's retries: hand over and try again later, a
  // bounded number of slices in a row, before calling the run failed.
  const stall = async (reason: string, delaySeconds: number): Promise<RunBackfillOutcome> => {
    if ((progress.stalls ?? 0) >= MAX_STALLS) return fail(reason);
    progress = { ...progress, stalls: (progress.stalls ?? 0) + 1 };
    deps.log.warn('backfill_stalled', { tenantId, runId, reason, stalls: progress.stalls });
    return handOver(delaySeconds);
  };

  const integration = await deps.integrations.getByTenant(tenantId);
  // Disconnected (or disconnecting): nothing more is written for the tenant, the replay neither.
  if (integration?.status !== 'connected') return fail('Stripe is not connected', false);
  // What this invocation's pages write, less customers already written and claimed payments.
  const pageChanges = new PageChanges(status.windowStart * 1000);
  const requestsAtStart = deps.source.stats?.requests ?? 0;
  const progressAtStart = progress.requests;
  // The snapshot's version is the second its request started: Stripe served the page at or after
  // it, so an event newer than the data is newer than the version too, however long the page waited.
  const fetch = async (at: Position): Promise<FetchedPage> => {
    const fetchedAt = Math.floor(deps.clock.now().getTime() / 1000);
    const page = await deps.source.listPage(at.phase, {
      stripeAccountId: integration.stripeAccountId,
      createdGte: status.windowStart,
      startingAfter: at.cursor ?? undefined,
      retryBudgetMs: handOverAt - deps.clock.now().getTime(),
    });
    return { ...page, fetchedAt };
  };
  // Disconnect stops intake at once: a page is written only after a consistent read found the
  // run still current (one read per page of up to 100 objects), so once the status is gone no
  // page starts, and only those already being written land.
  const write = async (page: LanePage): Promise<boolean> => {
    const version: RecordVersion = { created: page.fetchedAt, rank: 0, eventId: '0backfill' };
    const changes = pageChanges.of(page.at.phase, page.data);
    if (!(await isCurrent())) return false;
    await deps.records.applySnapshot(tenantId, changes, version, runId);
    return true;
  };
  const laneOf = (lane: number): LaneRun => ({
    phases: BACKFILL_LANES[lane] as readonly BackfillPhase[],
    start: progress.lanes?.[lane] ?? undefined,
    deadline,
    margin,
    handOverAt,
    now,
    halted,
    fetch,
    write,
    landed: (page) => {
      if (gone()) return;
      const lanes = [...(progress.lanes ?? [])];
      lanes[lane] = page.next;
      const phase = page.at.phase;
      progress = withLanes(
        {
          ...progress,
          pages: progress.pages + 1,
          requests: progressAtStart + ((deps.source.stats?.requests ?? 0) - requestsAtStart),
          objects: { ...progress.objects, [phase]: (progress.objects[phase] ?? 0) + page.data.length },
          stalls: 0,
        },
        lanes,
      );
      checkpoints.save(progress);
      input.onProgress?.(progress);
    },
    unfinished: () => Boolean(progress.lanes?.[lane]),
  });

  const ends = await Promise.allSettled(
    BACKFILL_LANES.map((_, lane) =>
      walkLane(laneOf(lane)).finally(() => {
        // One lane ending early (an error, the deadline) stops the other at its next page.
        if (progress.lanes?.[lane]) stopping = true;
      }),
    ),
  );
  // A crash's own error is what the retry and the logs must name, not a checkpoint's.
  const crashed = ends.find((end) => end.status === 'rejected' && !isThrottled(end.reason));
  if (crashed?.status === 'rejected') {
    await checkpoints.flush().catch(() => undefined);
    throw crashed.reason;
  }
  // A checkpoint that cannot be written only means a resume redoes a few pages.
  await checkpoints.flush().catch((error: unknown) => {
    deps.log.warn('backfill_checkpoint_failed', { tenantId, runId, errorName: nameOf(error) });
  });
  if (gone()) return refused();
  if (ends.some((end) => end.status === 'rejected')) {
    return stall('DynamoDB kept throttling the writes', THROTTLED_RETRY_SECONDS);
  }
  const stripeError = ends
    .map((end) => (end.status === 'fulfilled' ? end.value : undefined))
    .find((end) => end?.end === 'stripe_error');
  if (stripeError?.end === 'stripe_error') {
    const { error } = stripeError;
    // Throttled or Stripe unwell past this slice's retries.
    return error.retryable ? stall(error.reason, STALL_DELAY_SECONDS) : fail(error.reason);
  }
  if (progress.phase !== 'counting') return handOver();

  // The lists are done and every batch has landed: replay the journal over them.
  if (!progress.replay?.done) {
    const end = await replayJournal(deps, tenantId, replayWindowStart, {
      resume: progress.replay,
      handOverAt,
      now,
      isCurrent,
      onProgress: (replay) => {
        progress = { ...progress, replay, stalls: 0 };
        checkpoints.save(progress);
      },
      signal: input.signal,
    });
    progress = { ...progress, replay: end.replay };
    if (end.end === 'lost') return refused();
    if (end.end === 'throttled')
      return stall('DynamoDB kept throttling the journal replay', THROTTLED_RETRY_SECONDS);
    if (end.end === 'stopped') return handOver();
    if (end.replay.entries > 0) {
      deps.log.info('backfill_journal_replayed', { tenantId, runId, entries: end.replay.entries });
    }
  }

  // The count reads every record of the tenant: a slice that cannot finish it hands over (and the
  // next one counts again, the replay already done).
  const counted = await beforeTime(
    settle(deps.records.countRun(tenantId, runId)),
    handOverAt - deps.clock.now().getTime(),
  ).catch((error: unknown): typeof THROTTLED => {
    if (isThrottled(error)) return THROTTLED;
    throw error;
  });
  if (counted === THROTTLED)
    return stall("DynamoDB kept throttling the run's count", THROTTLED_RETRY_SECONDS);
  if (counted === TIME_UP) return stall("Counting the run's records did not fit in a slice", 0);
  const result = counted;
  if (
    !(await deps.backfillStatus.finish(tenantId, runId, { status: 'succeeded', result }, deps.clock.now()))
  ) {
    return refused();
  }
  deps.log.info('backfill_succeeded', {
    tenantId,
    runId,
    ...result,
    pages: progress.pages,
    requests: progress.requests,
  });
  return { outcome: 'succeeded', result, progress };
}

/** `lanes` is what resumes; `phase` and `cursor` name the first unfinished lane's, for display. */
function withLanes(progress: BackfillProgress, lanes: readonly (Position | null)[]): BackfillProgress {
  const first = lanes.find((lane) => lane !== null);
  return { ...progress, lanes, phase: first?.phase ?? 'counting', cursor: first?.cursor ?? null };
}
