import { StripeReadError } from '../../errors/stripe-read-error.ts';
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
  type ListPage,
  type StripeBackfillSource,
} from '../../ports/stripe-backfill-source.ts';
import { ReadAhead } from '../../support/read-ahead.ts';
import { backfillChanges } from './backfill-changes.ts';
import { replayJournal } from './replay-journal.ts';

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
}

export type RunBackfillOutcome =
  | { readonly outcome: 'succeeded'; readonly result: BackfillResult; readonly progress: BackfillProgress }
  | { readonly outcome: 'failed'; readonly error: string }
  /**
   * Out of time (or throttled for longer than one slice's retries): the caller hands the run over
   * (an SQS continuation, delayed by `retryAfterSeconds`) and it resumes from the checkpoint.
   */
  | { readonly outcome: 'continue'; readonly progress: BackfillProgress; readonly retryAfterSeconds?: number }
  /** Another worker holds the run, or it is not the current one: nothing was done. */
  | { readonly outcome: 'refused' };

type FetchedPage = ListPage & { readonly fetchedAt: number };
type Position = { readonly phase: BackfillPhase; readonly cursor: string | null };

/** Retryable read failures tolerated across slices (each after its own 8 attempts) before failing. */
const MAX_STALLS = 5;
const STALL_DELAY_SECONDS = 300;

const DEFAULT_SAFETY_MARGIN_MS = 60_000;
/** Pages read ahead of the writes: a few hundred objects, a few MB at most. */
const READ_AHEAD_PAGES = 4;

/**
 * Runs (or resumes) one backfill run: walks each Stripe list page by page, applies what each
 * object contributes under the same ordering guard as webhooks (a backfill write is a snapshot
 * at fetch time and loses its second to any event), in batches, and checkpoints after every
 * page. Batches can overwrite an event applied while they were in flight, so the run replays the
 * webhooks' journal before it ends. Counters are read back from the records the run stamped, so
 * they are exact after any number of resumes.
 */
export async function runBackfill(
  deps: RunBackfillDeps,
  input: RunBackfillInput,
): Promise<RunBackfillOutcome> {
  const { tenantId, runId, deadline } = input;
  const margin = input.safetyMarginMs ?? DEFAULT_SAFETY_MARGIN_MS;
  const status = await deps.backfillStatus.begin(tenantId, runId, deps.clock.now(), deadline);
  if (!status) return { outcome: 'refused' };
  const startedAt = new Date(status.startedAt ?? deps.clock.now());
  // Before the run reports anything: events its batches overwrote win again. A failed run's
  // batches may have overwritten some too.
  const replay = async () => {
    const replayed = await replayJournal(deps, tenantId, startedAt);
    if (replayed > 0) deps.log.info('backfill_journal_replayed', { tenantId, runId, entries: replayed });
  };
  const fail = async (error: string): Promise<RunBackfillOutcome> => {
    await replay();
    await deps.backfillStatus.finish(tenantId, runId, { status: 'failed', error }, deps.clock.now());
    deps.log.warn('backfill_failed', { tenantId, runId, error });
    return { outcome: 'failed', error };
  };

  const integration = await deps.integrations.getByTenant(tenantId);
  if (integration?.status !== 'connected') return fail('Stripe is not connected');
  const windowStartMs = status.windowStart * 1000;
  let progress: BackfillProgress = status.progress ?? {
    phase: BACKFILL_PHASES[0],
    cursor: null,
    pages: 0,
    requests: 0,
    objects: {},
  };
  // Customers already written by this invocation: one write each, however many objects name them.
  const seenCustomers = new Set<string>();
  // Payment intents an InvoicePayment claimed in this invocation: their one-time candidates would
  // only be refused by the store, so they are not sent (after a resume the store still refuses them).
  const linkedIntents = new Set<string>();
  const requestsAtStart = deps.source.stats?.requests ?? 0;
  const progressAtStart = progress.requests;
  // The snapshot's version is the second its request started: Stripe served the page at or after
  // it, so an event newer than the data is newer than the version too, however long the page waited.
  const fetchPage = async (at: Position): Promise<FetchedPage> => {
    const fetchedAt = Math.floor(deps.clock.now().getTime() / 1000);
    const page = await deps.source.listPage(at.phase, {
      stripeAccountId: integration.stripeAccountId,
      createdGte: status.windowStart,
      startingAfter: at.cursor ?? undefined,
    });
    return { ...page, fetchedAt };
  };
  // Stripe is read ahead of the writes, a few pages deep: the pace of one and the latency of
  // the other overlap instead of adding up. Reading stops at the safety margin; what was read
  // by then is still written, so no request is wasted on a hand-over.
  let readAt: Position | undefined =
    progress.phase === 'counting' ? undefined : { phase: progress.phase, cursor: progress.cursor };
  const pages = new ReadAhead<FetchedPage & { readonly at: Position; readonly next: Position | undefined }>(
    async () => {
      const at = readAt;
      if (!at || deadline - deps.clock.now().getTime() < margin) return undefined;
      const page = await fetchPage(at);
      const last = page.data.at(-1)?.id;
      const phaseAfter = BACKFILL_PHASES[BACKFILL_PHASES.indexOf(at.phase) + 1];
      readAt =
        page.hasMore && typeof last === 'string'
          ? { phase: at.phase, cursor: last }
          : phaseAfter && { phase: phaseAfter, cursor: null };
      return { ...page, at, next: readAt };
    },
    READ_AHEAD_PAGES,
  );

  try {
    for (;;) {
      // Writes held up past half the margin: hand over now, buffered pages are read again.
      if (deadline - deps.clock.now().getTime() < margin / 2) break;
      let page: Awaited<ReturnType<typeof pages.take>>;
      try {
        page = await pages.take();
      } catch (error) {
        if (!(error instanceof StripeReadError)) throw error;
        // Throttled or Stripe unwell past this slice's retries: hand over and try again later,
        // a bounded number of times, before calling the run failed.
        if (error.retryable && (progress.stalls ?? 0) < MAX_STALLS) {
          progress = { ...progress, stalls: (progress.stalls ?? 0) + 1 };
          await deps.backfillStatus.checkpoint(tenantId, runId, progress, deps.clock.now());
          await deps.backfillStatus.release(tenantId, runId);
          deps.log.warn('backfill_stalled', {
            tenantId,
            runId,
            reason: error.reason,
            stalls: progress.stalls,
          });
          return { outcome: 'continue', progress, retryAfterSeconds: STALL_DELAY_SECONDS };
        }
        return fail(error.reason);
      }
      if (!page) break;
      const phase = page.at.phase;
      const next: BackfillProgress = {
        phase: page.next?.phase ?? 'counting',
        cursor: page.next?.cursor ?? null,
        pages: progress.pages + 1,
        requests: progress.requests,
        objects: { ...progress.objects, [phase]: (progress.objects[phase] ?? 0) + page.data.length },
        stalls: 0,
      };

      const version: RecordVersion = { created: page.fetchedAt, rank: 0, eventId: '0backfill' };
      const changes = page.data
        .flatMap((object) => {
          const objectChanges = backfillChanges(phase, object, windowStartMs);
          // An invoice's payment intent: only its refund matters (the store routes it to the invoice).
          if (phase === 'payment_intents' && typeof object.id === 'string' && linkedIntents.has(object.id)) {
            return objectChanges.filter((change) => change.kind === 'refund');
          }
          return objectChanges;
        })
        .filter((change) => {
          if (change.kind === 'payment_link') linkedIntents.add(change.paymentIntentId);
          if (change.kind !== 'customer') return true;
          if (seenCustomers.has(change.record.id)) return false;
          seenCustomers.add(change.record.id);
          return true;
        });
      await deps.records.applySnapshot(tenantId, changes, version, runId);
      progress = {
        ...next,
        requests: progressAtStart + ((deps.source.stats?.requests ?? 0) - requestsAtStart),
      };
      await deps.backfillStatus.checkpoint(tenantId, runId, progress, deps.clock.now());
      input.onProgress?.(progress);
    }
  } finally {
    pages.stop();
  }
  if (progress.phase !== 'counting') {
    await deps.backfillStatus.release(tenantId, runId);
    return { outcome: 'continue', progress };
  }

  await replay();
  const result = await deps.records.countRun(tenantId, runId);
  await deps.backfillStatus.finish(tenantId, runId, { status: 'succeeded', result }, deps.clock.now());
  deps.log.info('backfill_succeeded', {
    tenantId,
    runId,
    ...result,
    pages: progress.pages,
    requests: progress.requests,
  });
  return { outcome: 'succeeded', result, progress };
}
