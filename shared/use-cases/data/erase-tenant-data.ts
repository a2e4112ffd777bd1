import type { Clock } from '../../ports/clock.ts';
import type { IntegrationRepository } from '../../ports/integration-repository.ts';
import type { ErasureJob, ErasureQueue } from '../../ports/job-queues.ts';
import type { Log } from '../../ports/log.ts';
import type { TenantDataEraser } from '../../ports/tenant-data-eraser.ts';
import type { TenantDataStore } from '../../ports/tenant-data-store.ts';
import { type RequestBackfillDeps, requestBackfill } from '../backfill/request-backfill.ts';
import { reasonOf } from '../reason-of.ts';

/** README "Data after a disconnect": a disconnected tenant's data is kept this long, so a reconnect carries on. */
export const DATA_RETENTION_DAYS = 30;
export const DATA_RETENTION_MS = DATA_RETENTION_DAYS * 24 * 60 * 60 * 1000;

export interface RequestErasureDeps {
  readonly tenantData: TenantDataStore;
  readonly erasureQueue: ErasureQueue;
  readonly clock: Clock;
}

/**
 * Starts erasing kept (or already erasing) data of this account now: marks it `erasing`, then
 * queues the job. A lost message is found again by the schedule (an erasure that stops
 * checkpointing counts as stalled), so the state never says erasing forever.
 */
export async function requestErasure(
  deps: RequestErasureDeps,
  tenantId: string,
  stripeAccountId: string,
): Promise<boolean> {
  if (!(await deps.tenantData.startErasure(tenantId, stripeAccountId, deps.clock.now()))) return false;
  await deps.erasureQueue.enqueueErasure({ tenantId, stripeAccountId });
  return true;
}

export interface EraseTenantDataDeps extends RequestErasureDeps, RequestBackfillDeps {
  readonly eraser: TenantDataEraser;
  readonly integrations: IntegrationRepository;
  readonly log: Log;
}

export type ErasureOutcome =
  | { readonly outcome: 'erased'; readonly itemsDeleted: number }
  /** Not done by the deadline: the continuation is queued. */
  | { readonly outcome: 'continued'; readonly itemsDeleted: number }
  /** Nothing to do: a reconnect made the data active again, or another job finished it. */
  | { readonly outcome: 'skipped' };

/**
 * One invocation's share of an erasure: erase until shortly before `stopAt`, checkpoint, and
 * either queue the continuation or finish. When another account connected meanwhile, its
 * backfill starts once the previous account's data is gone.
 */
export async function eraseTenantData(
  deps: EraseTenantDataDeps,
  job: ErasureJob,
  stopAt: number,
): Promise<ErasureOutcome> {
  const { tenantId, stripeAccountId } = job;
  const data = await deps.tenantData.get(tenantId);
  if (data?.stripeAccountId !== stripeAccountId || (data.state !== 'erasing' && data.state !== 'kept')) {
    return { outcome: 'skipped' };
  }
  // A due `kept` reaches here from the schedule; the state says erasing before the first delete.
  if (!(await deps.tenantData.startErasure(tenantId, stripeAccountId, deps.clock.now()))) {
    return { outcome: 'skipped' };
  }
  const before = (await deps.tenantData.get(tenantId))?.erasure;
  const progress = before ?? { partition: 0, itemsDeleted: 0, startedAt: deps.clock.now().toISOString() };
  const step = await deps.eraser.eraseSome(tenantId, progress.partition, stopAt);
  const itemsDeleted = progress.itemsDeleted + step.deleted;
  const current = { ...progress, partition: step.partition, itemsDeleted };
  if (!(await deps.tenantData.checkpointErasure(tenantId, stripeAccountId, current, deps.clock.now()))) {
    return { outcome: 'skipped' };
  }
  if (!step.done) {
    await deps.erasureQueue.enqueueErasure(job);
    return { outcome: 'continued', itemsDeleted };
  }
  const finished = await deps.tenantData.finishErasure(tenantId, stripeAccountId, deps.clock.now());
  if (!finished) return { outcome: 'skipped' };
  deps.log.info('stripe_data_erased', { tenantId, stripeAccountId, itemsDeleted });
  const next = finished.nextStripeAccountId;
  if (next) await startWaitingBackfill(deps, tenantId, next);
  return { outcome: 'erased', itemsDeleted };
}

/** The account that connected during the erasure gets the backfill its connect held back. */
async function startWaitingBackfill(deps: EraseTenantDataDeps, tenantId: string, stripeAccountId: string) {
  const integration = await deps.integrations.getByTenant(tenantId);
  if (integration?.stripeAccountId !== stripeAccountId || integration.status !== 'connected') return;
  try {
    await requestBackfill(deps, tenantId);
  } catch (error) {
    // A run already queued (a re-sync) covers it; any other failure shows on the status.
    deps.log.warn('stripe_backfill_after_erasure_not_queued', { tenantId, reason: reasonOf(error) });
  }
}
