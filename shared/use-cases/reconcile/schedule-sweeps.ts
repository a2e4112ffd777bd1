import { createHash } from 'node:crypto';
import type { Clock } from '../../ports/clock.ts';
import type { ErasureQueue, ReconcileQueue } from '../../ports/job-queues.ts';
import type { Log } from '../../ports/log.ts';
import type { TenantDataStore } from '../../ports/tenant-data-store.ts';
import { requestErasure } from '../data/erase-tenant-data.ts';

export interface ScheduleSweepsDeps {
  readonly tenantData: TenantDataStore;
  readonly reconcileQueue: ReconcileQueue;
  readonly erasureQueue: ErasureQueue;
  readonly clock: Clock;
  readonly log: Log;
}

export interface ScheduleSummary {
  readonly sweepsQueued: number;
  readonly erasuresQueued: number;
  /** The tick ran out of time and queued its own continuation from `cursor`. */
  readonly continued: boolean;
}

/** An erasure that has not checkpointed for this long lost its job: it is queued again. */
export const STALLED_ERASURE_MS = 30 * 60 * 1000;
/**
 * Each tenant's sweep is delayed by a stable share of this (SQS allows up to 900 s), so 10,000
 * tenants do not all call Stripe in the same second after each tick.
 */
export const SWEEP_SPREAD_SECONDS = 600;
const PAGE = 100;
const HAND_OVER_MARGIN_MS = 10_000;

/**
 * The schedule's tick (every 15 minutes deployed): queues a sweep for every tenant with active
 * data, and the erasure of every tenant whose kept data is due (or whose erasure stalled). Pages
 * through the index; a tick cut short by its deadline continues from where it stopped.
 */
export async function scheduleSweeps(
  deps: ScheduleSweepsDeps,
  cursor: string | undefined,
  remainingMs: () => number,
  spreadSeconds = SWEEP_SPREAD_SECONDS,
): Promise<ScheduleSummary> {
  let erasuresQueued = 0;
  let sweepsQueued = 0;
  // Erasures first, and only on a fresh tick: they are few, and a continuation already did them.
  if (cursor === undefined) {
    const now = deps.clock.now();
    const stalledBefore = new Date(now.getTime() - STALLED_ERASURE_MS);
    let next: string | undefined;
    do {
      const page = await deps.tenantData.dueForErasure(now, stalledBefore, PAGE, next);
      for (const due of page.items) {
        if (due.state === 'kept') {
          if (await requestErasure(deps, due.tenantId, due.stripeAccountId)) erasuresQueued += 1;
        } else {
          await deps.erasureQueue.enqueueErasure({
            tenantId: due.tenantId,
            stripeAccountId: due.stripeAccountId,
          });
          erasuresQueued += 1;
        }
      }
      next = page.nextCursor;
    } while (next);
  }
  let next = cursor;
  do {
    if (remainingMs() < HAND_OVER_MARGIN_MS && next) {
      await deps.reconcileQueue.enqueueReconcile([{ kind: 'all', cursor: next }]);
      deps.log.info('stripe_sweeps_scheduled', { sweepsQueued, erasuresQueued, continued: true });
      return { sweepsQueued, erasuresQueued, continued: true };
    }
    const page = await deps.tenantData.activeAccounts(PAGE, next);
    // Grouped by delay so each SendMessageBatch carries one DelaySeconds.
    const byDelay = new Map<number, { kind: 'tenant'; tenantId: string }[]>();
    for (const { tenantId } of page.items) {
      const delay = spreadDelay(tenantId, spreadSeconds);
      byDelay.set(delay, [...(byDelay.get(delay) ?? []), { kind: 'tenant', tenantId }]);
    }
    for (const [delay, jobs] of byDelay) await deps.reconcileQueue.enqueueReconcile(jobs, delay);
    sweepsQueued += page.items.length;
    next = page.nextCursor;
  } while (next);
  deps.log.info('stripe_sweeps_scheduled', { sweepsQueued, erasuresQueued, continued: false });
  return { sweepsQueued, erasuresQueued, continued: false };
}

/** A tenant's stable offset in the spread, in whole minutes (few distinct delays: fuller batches). */
export function spreadDelay(tenantId: string, spreadSeconds = SWEEP_SPREAD_SECONDS): number {
  const minutes = Math.floor(spreadSeconds / 60);
  if (minutes < 1) return 0;
  const slot = createHash('sha256').update(tenantId).digest().readUInt32BE(0) % minutes;
  return slot * 60;
}
