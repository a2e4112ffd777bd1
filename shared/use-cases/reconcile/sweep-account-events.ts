import { parseStripeEvent } from '../../domain/stripe-event-envelope.ts';
import { SWEPT_STRIPE_EVENT_TYPES } from '../../domain/stripe-kinds/registry.ts';
import { firstSweepCursor, SWEEP_OVERLAP_SECONDS } from '../../domain/sweep-cursor.ts';
import { RetryLaterError } from '../../errors/retry-later-error.ts';
import type { InvocationClock } from '../../ports/event-ledger.ts';
import type { ReconcileQueue } from '../../ports/job-queues.ts';
import type { StripeEventSource } from '../../ports/stripe-event-source.ts';
import type { SweepState, TenantDataStore } from '../../ports/tenant-data-store.ts';
import type { TenantStateReader } from '../../ports/tenant-state-reader.ts';
import { applyStripeEvent, type EventIntakeDeps } from '../apply-stripe-event.ts';
import { DATA_RETENTION_MS } from '../data/erase-tenant-data.ts';

export interface SweepDeps extends EventIntakeDeps {
  readonly tenantState: TenantStateReader;
  readonly tenantData: TenantDataStore;
  readonly events: StripeEventSource;
  readonly reconcileQueue: ReconcileQueue;
}

export interface SweepSummary {
  readonly tenantId: string;
  /** Events listed by Stripe in this sweep (or this share of it). */
  readonly eventsRead: number;
  /** Of those, the ones that changed a record: duplicates and ignored events are not counted. */
  readonly eventsApplied: number;
  /** `done`; `continued` when the deadline came first (the continuation is queued); `skipped`. */
  readonly outcome: 'done' | 'continued' | 'skipped';
  readonly reason?: string;
}

/** Stripe keeps events 30 days: a sweep never asks for older ones. */
const EVENTS_RETENTION_SECONDS = 30 * 24 * 60 * 60;
/** Time kept back before the deadline to checkpoint and queue the continuation. */
const HAND_OVER_MARGIN_MS = 15_000;
/** One page's retries may take this long at most. */
const PAGE_RETRY_BUDGET_MS = 60_000;

/**
 * Catch-up from the Events API: reads the account's events created since the last sweep (newest
 * first, 100 a page, paced and retried like the backfill) and applies each exactly as a webhook
 * delivery would be (same ledger, same ordering guard, same intake state read per event), so an
 * event Stripe failed to deliver is applied once and one already delivered counts once.
 *
 * The cursor moves only when a sweep read everything up to the newest event it saw; a sweep cut
 * off by its deadline records where it stopped and carries on in a continuation.
 */
export async function sweepAccountEvents(
  deps: SweepDeps,
  tenantId: string,
  invocation: InvocationClock,
): Promise<SweepSummary> {
  const initial = await deps.tenantState.read(tenantId);
  const integration = initial.integration;
  const data = initial.data;
  if (data?.state !== 'active') return skipped(tenantId, 'no_active_data');
  if (integration?.status !== 'connected' || integration.stripeAccountId !== data.stripeAccountId) {
    // Active data without its connection (a disconnect cut off before it kept it): keep it now.
    if (!integration) {
      const eraseAfter = new Date(deps.clock.now().getTime() + DATA_RETENTION_MS);
      await deps.tenantData.keep(tenantId, data.stripeAccountId, eraseAfter);
    }
    return skipped(tenantId, 'not_connected');
  }
  const stripeAccountId = integration.stripeAccountId;
  const nowSeconds = Math.floor(deps.clock.now().getTime() / 1000);
  // Active data always carries its sweep; this covers an item written before it did.
  const connectedAt = new Date(integration.connectedAt);
  const sweep = data.sweep ?? {
    createdAfter: firstSweepCursor(Number.isNaN(connectedAt.getTime()) ? deps.clock.now() : connectedAt),
    pending: null,
    lastRunAt: null,
    eventsApplied: null,
  };
  const createdAfter = Math.max(sweep.createdAfter, nowSeconds - EVENTS_RETENTION_SECONDS);

  let upTo = sweep.pending?.upTo;
  let startingAfter = sweep.pending?.startingAfter;
  let eventsRead = 0;
  let eventsApplied = 0;
  /** The oldest event another delivery held: the cursor must not pass it. */
  let heldBack: number | undefined;

  for (;;) {
    if (invocation.getRemainingTimeInMillis() < HAND_OVER_MARGIN_MS && upTo !== undefined && startingAfter) {
      return handOver(
        deps,
        tenantId,
        stripeAccountId,
        sweep,
        { upTo, startingAfter },
        eventsRead,
        eventsApplied,
      );
    }
    const page = await deps.events.listEventsPage({
      stripeAccountId,
      createdAfter,
      startingAfter,
      types: SWEPT_STRIPE_EVENT_TYPES,
      retryBudgetMs: Math.min(
        PAGE_RETRY_BUDGET_MS,
        invocation.getRemainingTimeInMillis() - HAND_OVER_MARGIN_MS,
      ),
    });
    for (const raw of page.events) {
      eventsRead += 1;
      const event = parseStripeEvent(raw);
      if (!event) continue;
      upTo = Math.max(upTo ?? event.created, event.created);
      // Read per event: a disconnect or an account switch stops the sweep's writes at once.
      const state = await deps.tenantState.read(tenantId);
      if (
        state.integration?.status !== 'connected' ||
        state.integration.stripeAccountId !== stripeAccountId
      ) {
        return { tenantId, eventsRead, eventsApplied, outcome: 'skipped', reason: 'disconnected' };
      }
      try {
        const receipt = await applyStripeEvent(deps, state, tenantId, event, 'sweep', invocation);
        if (receipt.outcome === 'processed' && receipt.changed) eventsApplied += 1;
      } catch (error) {
        if (!(error instanceof RetryLaterError)) throw error;
        // Being applied by a delivery right now, or waiting for an erasure: the next sweep retries.
        heldBack = Math.min(heldBack ?? event.created, event.created);
      }
    }
    if (!page.hasMore || !page.lastId) break;
    startingAfter = page.lastId;
  }

  const newest = upTo ?? createdAfter + SWEEP_OVERLAP_SECONDS;
  const next = Math.max(createdAfter, Math.min(newest - SWEEP_OVERLAP_SECONDS, (heldBack ?? newest + 1) - 1));
  const saved = await deps.tenantData.saveSweep(tenantId, stripeAccountId, {
    createdAfter: next,
    pending: null,
    lastRunAt: deps.clock.now().toISOString(),
    eventsApplied: (sweep.pending ? (sweep.eventsApplied ?? 0) : 0) + eventsApplied,
  });
  if (!saved) return { tenantId, eventsRead, eventsApplied, outcome: 'skipped', reason: 'disconnected' };
  deps.log.info('stripe_events_swept', { tenantId, eventsRead, eventsApplied });
  return { tenantId, eventsRead, eventsApplied, outcome: 'done' };
}

async function handOver(
  deps: SweepDeps,
  tenantId: string,
  stripeAccountId: string,
  sweep: SweepState,
  pending: { upTo: number; startingAfter: string },
  eventsRead: number,
  eventsApplied: number,
): Promise<SweepSummary> {
  const saved = await deps.tenantData.saveSweep(tenantId, stripeAccountId, {
    ...sweep,
    pending,
    // Carried across the continuations of one sweep, so the status shows the whole sweep's count.
    eventsApplied: (sweep.pending ? (sweep.eventsApplied ?? 0) : 0) + eventsApplied,
  });
  if (!saved) return { tenantId, eventsRead, eventsApplied, outcome: 'skipped', reason: 'disconnected' };
  await deps.reconcileQueue.enqueueReconcile([{ kind: 'tenant', tenantId }]);
  return { tenantId, eventsRead, eventsApplied, outcome: 'continued' };
}

function skipped(tenantId: string, reason: string): SweepSummary {
  return { tenantId, eventsRead: 0, eventsApplied: 0, outcome: 'skipped', reason };
}
