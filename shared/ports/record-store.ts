import type { RecordVersion } from '../domain/record-ordering.ts';
import type {
  CustomerRecord,
  OrderAdjustments,
  OrderRecord,
  RecordCollection,
  StoreChange,
  SubscriptionRecord,
} from '../domain/records.ts';

export type { RecordVersion } from '../domain/record-ordering.ts';

export type ApplyOutcome = 'applied' | 'stale' | 'superseded';

export type { RecordCollection } from '../domain/records.ts';

export interface RecordTypes {
  customers: CustomerRecord;
  subscriptions: SubscriptionRecord;
  orders: OrderRecord & OrderAdjustments;
}

export interface RecordPage<T> {
  readonly data: readonly T[];
  /** Opaque; null on the last page. */
  readonly nextCursor: string | null;
}

/**
 * Who writes: `webhook`, or a backfill run. A record keeps the origin that first created it, and
 * the last backfill run that wrote it, so a run's counters can be read back from the records
 * themselves (exact even when the run was cut off and resumed).
 */
export type RecordOrigin =
  | { readonly kind: 'webhook' }
  | { readonly kind: 'backfill'; readonly runId: string };

export interface RunCounts {
  readonly customersUpserted: number;
  readonly subscriptionsCreated: number;
  readonly ordersCreated: number;
}

export interface RecordStore {
  /** Applies one change under the ordering guard. Idempotent: the same change twice is one effect. */
  apply(
    tenantId: string,
    change: StoreChange,
    version: RecordVersion,
    origin?: RecordOrigin,
  ): Promise<ApplyOutcome>;
  /**
   * A backfill page's changes in bulk, with the same effect as applying each under the guard:
   * the items they touch are read (strongly consistent), the changes applied to them in memory,
   * and the results written back in batches. Unlike `apply`, not atomic against a concurrent
   * writer: an event applied between the read and the write is overwritten. Webhooks therefore
   * journal their changes before applying them, and a backfill replays the journal
   * (`ChangeJournal`) before it finishes, which puts every such event back on top.
   */
  applySnapshot(
    tenantId: string,
    changes: readonly StoreChange[],
    version: RecordVersion,
    runId: string,
  ): Promise<void>;
  /** Customers a backfill run wrote, subscriptions and orders it created. */
  countRun(tenantId: string, runId: string): Promise<RunCounts>;
  /** Newest first. Throws `ValidationError('invalid_cursor')` for a malformed or foreign cursor. */
  list<C extends RecordCollection>(
    tenantId: string,
    collection: C,
    limit: number,
    cursor: string | undefined,
  ): Promise<RecordPage<RecordTypes[C]>>;
}
