import { StripeReadError } from '../../errors/stripe-read-error.ts';
import type {
  BackfillProgress,
  BackfillResult,
  BackfillStatusStore,
} from '../../ports/backfill-status-store.ts';
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
import { backfillChanges } from './backfill-changes.ts';

export interface RunBackfillDeps {
  readonly backfillStatus: BackfillStatusStore;
  readonly integrations: IntegrationRepository;
  readonly records: RecordStore;
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

/** Retryable read failures tolerated across slices (each after its own 8 attempts) before failing. */
const MAX_STALLS = 5;
const STALL_DELAY_SECONDS = 300;

/** Writes run a few at a time: enough to keep up with Stripe's pace, few enough to stay polite. */
const WRITE_CONCURRENCY = 16;
const DEFAULT_SAFETY_MARGIN_MS = 60_000;

/**
 * Runs (or resumes) one backfill run: walks each Stripe list page by page, applies what each
 * object contributes under the same ordering guard as webhooks (a backfill write is a snapshot
 * at fetch time and loses its second to any event), and checkpoints after every page. Counters
 * are read back from the records the run stamped, so they are exact after any number of resumes.
 */
export async function runBackfill(
  deps: RunBackfillDeps,
  input: RunBackfillInput,
): Promise<RunBackfillOutcome> {
  const { tenantId, runId, deadline } = input;
  const margin = input.safetyMarginMs ?? DEFAULT_SAFETY_MARGIN_MS;
  const status = await deps.backfillStatus.begin(tenantId, runId, deps.clock.now(), deadline);
  if (!status) return { outcome: 'refused' };
  const fail = async (error: string): Promise<RunBackfillOutcome> => {
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
  const fetchPage = async (at: BackfillProgress): Promise<FetchedPage> => {
    const fetchedAt = Math.floor(deps.clock.now().getTime() / 1000);
    const page = await deps.source.listPage(at.phase as BackfillPhase, {
      stripeAccountId: integration.stripeAccountId,
      createdGte: status.windowStart,
      startingAfter: at.cursor ?? undefined,
    });
    return { ...page, fetchedAt };
  };
  // The next page is fetched while this one is written: Stripe's pace and the writes overlap.
  let pending: Promise<FetchedPage> | undefined =
    progress.phase === 'counting' ? undefined : settle(fetchPage(progress));

  while (progress.phase !== 'counting' && pending) {
    if (deadline - deps.clock.now().getTime() < margin) {
      await deps.backfillStatus.release(tenantId, runId);
      return { outcome: 'continue', progress };
    }
    const phase: BackfillPhase = progress.phase;
    let page: FetchedPage;
    try {
      page = await pending;
    } catch (error) {
      if (!(error instanceof StripeReadError)) throw error;
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
    const last = page.data.at(-1)?.id;
    const more = page.hasMore && typeof last === 'string';
    const next: BackfillProgress = {
      phase: more ? phase : (BACKFILL_PHASES[BACKFILL_PHASES.indexOf(phase) + 1] ?? 'counting'),
      cursor: more ? (last as string) : null,
      pages: progress.pages + 1,
      requests: progress.requests,
      objects: { ...progress.objects, [phase]: (progress.objects[phase] ?? 0) + page.data.length },
      stalls: 0,
    };
    pending = next.phase === 'counting' ? undefined : settle(fetchPage(next));

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
    await applyAll(changes, (change) =>
      deps.records.apply(tenantId, change, version, { kind: 'backfill', runId }),
    );
    progress = {
      ...next,
      requests: progressAtStart + ((deps.source.stats?.requests ?? 0) - requestsAtStart),
    };
    await deps.backfillStatus.checkpoint(tenantId, runId, progress, deps.clock.now());
    input.onProgress?.(progress);
  }

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

/** A prefetch may fail while the current page is written: keep its error for when it is awaited. */
function settle<T>(promise: Promise<T>): Promise<T> {
  promise.catch(() => undefined);
  return promise;
}

async function applyAll<T>(items: readonly T[], apply: (item: T) => Promise<unknown>): Promise<void> {
  let next = 0;
  const workers = Array.from({ length: Math.min(WRITE_CONCURRENCY, items.length) }, async () => {
    while (next < items.length) {
      const item = items[next++] as T;
      await apply(item);
    }
  });
  await Promise.all(workers);
}
