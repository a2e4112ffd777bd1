import type { CustomerRecord, OrderRecord, RecordChange, SubscriptionRecord } from '../domain/records.ts';

/**
 * Which Stripe event last wrote a record: a record is only overwritten by data at least as new
 * (`created`, ties broken by the event id), so late or replayed events never move it backwards.
 */
export interface RecordVersion {
  readonly created: number;
  readonly eventId: string;
}

export type ApplyOutcome = 'applied' | 'stale' | 'superseded';

export type RecordCollection = 'customers' | 'subscriptions' | 'orders';

export interface RecordTypes {
  customers: CustomerRecord;
  subscriptions: SubscriptionRecord;
  orders: OrderRecord & { readonly amountRefunded: number };
}

export interface RecordPage<T> {
  readonly data: readonly T[];
  /** Opaque; null on the last page. */
  readonly nextCursor: string | null;
}

export interface RecordStore {
  /** Applies one change under the ordering guard. Idempotent: the same change twice is one effect. */
  apply(
    tenantId: string,
    change: Exclude<RecordChange, { kind: 'deauthorized' }>,
    version: RecordVersion,
  ): Promise<ApplyOutcome>;
  /** Newest first. Throws `ValidationError('invalid_cursor')` for a malformed or foreign cursor. */
  list<C extends RecordCollection>(
    tenantId: string,
    collection: C,
    limit: number,
    cursor: string | undefined,
  ): Promise<RecordPage<RecordTypes[C]>>;
}
