/** The Stripe lists a backfill walks, in the order it walks them. */
/**
 * Invoice payments come before payment intents: a payment intent an InvoicePayment of the window
 * claims is an invoice's, even when the invoice itself was created before the window.
 */
export const BACKFILL_PHASES = [
  'subscriptions',
  'invoices',
  'invoice_payments',
  'payment_intents',
  'customers',
] as const;
export type BackfillPhase = (typeof BACKFILL_PHASES)[number];

export interface ListPageRequest {
  readonly stripeAccountId: string;
  /** Epoch seconds; lists that Stripe can filter by `created` use it (all but subscriptions). */
  readonly createdGte: number;
  /** Id of the last object of the previous page (Stripe's `starting_after`). */
  readonly startingAfter: string | undefined;
  /**
   * How long this page may take with its retries; past it the read gives up as out of time
   * (`StripeReadError.outOfTime`), so the invocation can still hand over before its deadline.
   */
  readonly retryBudgetMs?: number;
}

export interface ListPage {
  /** Stripe objects, newest first, with `customer` (and invoice `payments`, PI `latest_charge`) expanded. */
  readonly data: readonly Record<string, unknown>[];
  readonly hasMore: boolean;
}

/** One request per call: pagination, filtering and expansion are the source's to get right. */
export interface StripeBackfillSource {
  listPage(phase: BackfillPhase, request: ListPageRequest): Promise<ListPage>;
}
