import { earliest } from '../../domain/backfill-job.ts';
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
/** Pages read ahead of the writes, per lane: a few hundred objects, a few MB at most. */
const READ_AHEAD_PAGES = 3;
const CHECKPOINT_INTERVAL_MS = 1000;
/** Pages of a lane being written at once: one's reads overlap another's writes. */
const WRITES_IN_FLIGHT = 2;
/**
 * The lists are walked in two lanes at once: a list's pages come one after the other (each
 * needs the last id of the one before), so one lane is bound by Stripe's latency, not by the
 * pace. InvoicePayments come before payment intents in their lane: a payment intent an invoice
 * claimed is then known and skipped. The lanes' keys barely meet (refunds of invoice payments),
 * and the record store serialises batches that share a key.
 */
export const BACKFILL_LANES: readonly (readonly BackfillPhase[])[] = [
  ['subscriptions', 'invoices', 'customers'],
  ['invoice_payments', 'payment_intents'],
];

type LaneEnd =
  | { readonly end: 'done' | 'stopped' }
  | { readonly end: 'stripe_error'; readonly error: StripeReadError };

/**
 * Runs (or resumes) one backfill run: walks each Stripe list page by page (two lanes of lists at
 * once), applies what each object contributes under the same ordering guard as webhooks (a
 * backfill write is a snapshot at fetch time and loses its second to any event), in batches,
 * and checkpoints as it goes (at most once a second). Batches can overwrite an event applied while they were in
 * flight, so the run replays the webhooks' journal before it ends. Counters are read back from
 * the records the run stamped, so they are exact after any number of resumes.
 */
export async function runBackfill(
  deps: RunBackfillDeps,
  input: RunBackfillInput,
): Promise<RunBackfillOutcome> {
  const { tenantId, runId, deadline } = input;
  const margin = input.safetyMarginMs ?? DEFAULT_SAFETY_MARGIN_MS;
  const status = await deps.backfillStatus.begin(tenantId, runId, deps.clock.now(), deadline);
  if (!status) return { outcome: 'refused' };
  const startedAt = new Date(earliest(status.replayFrom, status.startedAt) ?? deps.clock.now());
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
  let progress: BackfillProgress = withLanes(
    status.progress ?? { phase: BACKFILL_PHASES[0], cursor: null, pages: 0, requests: 0, objects: {} },
    status.progress?.lanes ??
      BACKFILL_LANES.map((lane) => ({ phase: lane[0] as BackfillPhase, cursor: null })),
  );
  // Customers already written by this invocation: one write each, however many objects name them.
  const seenCustomers = new Set<string>();
  // Payment intents an InvoicePayment claimed in this invocation, and the invoice: their one-time
  // candidates would only be refused by the store, so they are not sent (after a resume the store
  // still refuses them), and their refunds go straight to the invoice.
  const linkedIntents = new Map<string, string>();
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
      retryBudgetMs: deadline - margin / 2 - deps.clock.now().getTime(),
    });
    return { ...page, fetchedAt };
  };
  // At most one checkpoint a second, one at a time and in order (a late one never overwrites a
  // newer one): a crash redoes at most a second of pages, whose writes are idempotent, and a
  // large run does not spend a status write per page. `flush` writes the latest at the end.
  // Set when the run must end early: the other lane stopped, or the run is no longer ours.
  let stopping = false;
  let checkpoints: Promise<void> = Promise.resolve();
  let latest: BackfillProgress | undefined;
  let checkpointedAt = Number.NEGATIVE_INFINITY;
  const flush = () => {
    const snapshot = latest;
    latest = undefined;
    if (snapshot) {
      // A failed write does not cancel the next one: only the final flush must succeed.
      checkpoints = checkpoints
        .catch(() => undefined)
        .then(async () => {
          const ours = await deps.backfillStatus.checkpoint(tenantId, runId, snapshot, deps.clock.now());
          // The run was replaced or finished by another worker: stop at once.
          if (!ours) stopping = true;
        });
    }
    return checkpoints;
  };
  const checkpoint = (snapshot: BackfillProgress) => {
    latest = snapshot;
    const now = deps.clock.now().getTime();
    if (now - checkpointedAt < CHECKPOINT_INTERVAL_MS) return;
    checkpointedAt = now;
    flush().catch((error: unknown) => {
      deps.log.warn('backfill_checkpoint_failed', { tenantId, runId, errorName: nameOf(error) });
    });
  };

  const runLane = async (lane: number): Promise<LaneEnd> => {
    const phases = BACKFILL_LANES[lane] as readonly BackfillPhase[];
    // Stripe is read ahead of the writes: the latency of one and the cost of the other overlap.
    // Reading stops at the safety margin; what was read by then is still written.
    let readAt = progress.lanes?.[lane] ?? undefined;
    const pages = new ReadAhead<FetchedPage & { readonly at: Position; readonly next: Position | null }>(
      async () => {
        const at = readAt;
        if (!at || stopping || deadline - deps.clock.now().getTime() < margin) return undefined;
        const page = await fetchPage(at);
        const last = page.data.at(-1)?.id;
        const phaseAfter = phases[phases.indexOf(at.phase) + 1];
        const next: Position | null =
          page.hasMore && typeof last === 'string'
            ? { phase: at.phase, cursor: last }
            : phaseAfter
              ? { phase: phaseAfter, cursor: null }
              : null;
        readAt = next ?? undefined;
        return { ...page, at, next };
      },
      READ_AHEAD_PAGES,
    );
    let landed: Promise<void> = Promise.resolve();
    const inFlight: Promise<void>[] = [];
    try {
      for (;;) {
        // Writes held up past half the margin, or the other lane stopped: hand over now.
        if (stopping || deadline - deps.clock.now().getTime() < margin / 2) return { end: 'stopped' };
        let page: Awaited<ReturnType<typeof pages.take>>;
        try {
          // A read that hangs (Stripe slow, retries backing off) must not carry the invocation
          // past its deadline: at half the margin the lane gives up waiting and hands over.
          const taken = await beforeTime(pages.take(), deadline - margin / 2 - deps.clock.now().getTime());
          if (taken === TIME_UP) return { end: 'stopped' };
          page = taken;
        } catch (error) {
          if (error instanceof StripeReadError) {
            return error.outOfTime ? { end: 'stopped' } : { end: 'stripe_error', error };
          }
          throw error;
        }
        if (!page) {
          await landed;
          return { end: progress.lanes?.[lane] ? 'stopped' : 'done' };
        }
        const phase = page.at.phase;
        const version: RecordVersion = { created: page.fetchedAt, rank: 0, eventId: '0backfill' };
        const changes = page.data
          .flatMap((object) => {
            const objectChanges = backfillChanges(phase, object, windowStartMs);
            // An invoice's payment intent: only its refund matters, and it belongs to the invoice.
            const invoiceId =
              phase === 'payment_intents' && typeof object.id === 'string'
                ? linkedIntents.get(object.id)
                : undefined;
            if (invoiceId) {
              return objectChanges.flatMap((change) =>
                change.kind === 'refund' ? [{ ...change, invoiceId }] : [],
              );
            }
            return objectChanges;
          })
          .filter((change) => {
            if (change.kind === 'payment_link') linkedIntents.set(change.paymentIntentId, change.invoiceId);
            if (change.kind !== 'customer') return true;
            if (seenCustomers.has(change.record.id)) return false;
            seenCustomers.add(change.record.id);
            return true;
          });
        // Pages are written a few at once, but counted and checkpointed strictly in order, so a
        // checkpoint never gets ahead of a page that has not landed (batches sharing a key are
        // serialised by the record store).
        const written = settle(deps.records.applySnapshot(tenantId, changes, version, runId));
        const previous = landed;
        landed = settle(
          (async () => {
            await previous;
            await written;
            const lanes = [...(progress.lanes ?? [])];
            lanes[lane] = page.next;
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
            checkpoint(progress);
            input.onProgress?.(progress);
          })(),
        );
        inFlight.push(landed);
        if (inFlight.length >= WRITES_IN_FLIGHT) await inFlight.shift();
      }
    } finally {
      pages.stop();
      // Whatever way the lane ends, its pages in flight land (or fail) before it reports.
      await landed;
    }
  };

  const ends = await Promise.allSettled(
    BACKFILL_LANES.map((_, lane) =>
      runLane(lane).finally(() => {
        // One lane ending early (an error, the deadline) stops the other at its next page.
        if (progress.lanes?.[lane]) stopping = true;
      }),
    ),
  );
  const crashed = ends.find((end) => end.status === 'rejected');
  // A crash's own error is what the retry and the logs must name, not a checkpoint's.
  if (crashed) {
    await flush().catch(() => undefined);
    throw crashed.reason;
  }
  await flush();
  const stripeError = ends
    .map((end) => (end.status === 'fulfilled' ? end.value : undefined))
    .find((end) => end?.end === 'stripe_error');
  if (stripeError?.end === 'stripe_error') {
    const { error } = stripeError;
    // Throttled or Stripe unwell past this slice's retries: hand over and try again later,
    // a bounded number of times, before calling the run failed.
    if (error.retryable && (progress.stalls ?? 0) < MAX_STALLS) {
      progress = { ...progress, stalls: (progress.stalls ?? 0) + 1 };
      await deps.backfillStatus.checkpoint(tenantId, runId, progress, deps.clock.now());
      await deps.backfillStatus.release(tenantId, runId);
      deps.log.warn('backfill_stalled', { tenantId, runId, reason: error.reason, stalls: progress.stalls });
      return { outcome: 'continue', progress, retryAfterSeconds: STALL_DELAY_SECONDS };
    }
    return fail(error.reason);
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

/** `lanes` is what resumes; `phase` and `cursor` name the first unfinished lane's, for display. */
function withLanes(progress: BackfillProgress, lanes: readonly (Position | null)[]): BackfillProgress {
  const first = lanes.find((lane) => lane !== null);
  return { ...progress, lanes, phase: first?.phase ?? 'counting', cursor: first?.cursor ?? null };
}

/** A promise awaited later may reject first: keep its error for then, not as an unhandled rejection. */
function settle<T>(promise: Promise<T>): Promise<T> {
  promise.catch(() => undefined);
  return promise;
}

function nameOf(error: unknown): unknown {
  return (error as { name?: unknown } | null)?.name;
}

const TIME_UP = Symbol('time up');

/** `promise`'s value, or TIME_UP when `ms` pass first (the timer never keeps the process alive). */
async function beforeTime<T>(promise: Promise<T>, ms: number): Promise<T | typeof TIME_UP> {
  let timer: NodeJS.Timeout | undefined;
  const timeUp = new Promise<typeof TIME_UP>((resolve) => {
    timer = setTimeout(() => resolve(TIME_UP), Math.max(0, ms));
    timer.unref();
  });
  try {
    return await Promise.race([promise, timeUp]);
  } finally {
    clearTimeout(timer);
  }
}
