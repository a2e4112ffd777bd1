/**
 * What happens to a tenant's Stripe-derived data (records, journal, ledger) over connections:
 * `active` while connected, `kept` for 30 days after a disconnect (a reconnect of the same account
 * carries on), `erasing` while the erasure job runs, `erased` once it is done. A tenant that
 * connects another account erases the previous account's data first: records never mix accounts.
 */
export type DataState = 'active' | 'kept' | 'erasing' | 'erased';

/** Where an erasure stands: partitions are erased in a fixed order, each to its end. */
export interface ErasureProgress {
  /** Index into the eraser's partition list of the first one not known to be empty. */
  readonly partition: number;
  readonly itemsDeleted: number;
  readonly startedAt: string;
}

export interface TenantData {
  /** The account whose data is held (or was, once erased). */
  readonly stripeAccountId: string;
  readonly state: DataState;
  /** ISO-8601: when kept data is erased. */
  readonly eraseAfter: string | null;
  /**
   * The account the tenant connected while the previous one's data was still held: its events
   * wait (retryable answers) and its backfill starts once the erasure is done.
   */
  readonly nextStripeAccountId: string | null;
  readonly erasure: ErasureProgress | null;
  readonly erasedAt: string | null;
  /** The catch-up sweep's position while `active` (see `SweepState`). */
  readonly sweep: SweepState | null;
}

/** Where the Events API sweep of the account stands. */
export interface SweepState {
  /** Epoch seconds: events created after this are still to be read. */
  readonly createdAfter: number;
  /**
   * A sweep cut off by its deadline: it reads events created in (`createdAfter`, `upTo`], newest
   * first, from after `startingAfter`; the next call carries on from there.
   */
  readonly pending: { readonly upTo: number; readonly startingAfter: string } | null;
  readonly lastRunAt: string | null;
  readonly eventsApplied: number | null;
}

export type ConnectionData =
  /** Nothing held, or the same account's data: the connection carries on at once. */
  | { readonly outcome: 'ready' }
  /** Another account's data is held: it is being erased first. */
  | { readonly outcome: 'erase_first'; readonly previousStripeAccountId: string };

export interface DueErasure {
  readonly tenantId: string;
  readonly stripeAccountId: string;
  /** `kept` past its date, or an `erasing` one that stopped checkpointing (its job was lost). */
  readonly state: 'kept' | 'erasing';
}

export interface ConnectedAccount {
  readonly tenantId: string;
  readonly stripeAccountId: string;
}

export interface TenantDataStore {
  get(tenantId: string): Promise<TenantData | undefined>;
  /**
   * At connect, before the new connection writes anything: the same account (or none held) makes
   * the data `active`; another account's data turns `erasing`, with this account next.
   */
  beginConnection(tenantId: string, stripeAccountId: string, now: Date): Promise<ConnectionData>;
  /** At disconnect: keep the account's data until `eraseAfter` (a no-op for another account's). */
  keep(tenantId: string, stripeAccountId: string, eraseAfter: Date): Promise<void>;
  /**
   * Starts (or resumes) the erasure of this account's data. False when it is not this account's
   * data or not in a state to erase (e.g. a reconnect made it `active` again).
   */
  startErasure(tenantId: string, stripeAccountId: string, now: Date): Promise<boolean>;
  /** False when the erasure is no longer this one (nothing written). */
  checkpointErasure(
    tenantId: string,
    stripeAccountId: string,
    progress: ErasureProgress,
    now: Date,
  ): Promise<boolean>;
  /**
   * Ends an erasure: `erased`, or `active` for the waiting account (returned) when there is one.
   * Undefined when the erasure is no longer this one.
   */
  finishErasure(
    tenantId: string,
    stripeAccountId: string,
    now: Date,
  ): Promise<{ readonly nextStripeAccountId: string | null } | undefined>;
  /** Kept data whose `eraseAfter` has passed and stalled erasures, oldest first, a page at a time. */
  dueForErasure(
    now: Date,
    stalledBefore: Date,
    limit: number,
    cursor: string | undefined,
  ): Promise<Page<DueErasure>>;
  /** Tenants whose data is `active` (connected), a page at a time: the sweep's work list. */
  activeAccounts(limit: number, cursor: string | undefined): Promise<Page<ConnectedAccount>>;
  /** False when the data is no longer this account's active data (nothing written). */
  saveSweep(tenantId: string, stripeAccountId: string, sweep: SweepState): Promise<boolean>;
}

export interface Page<T> {
  readonly items: readonly T[];
  readonly nextCursor: string | undefined;
}
