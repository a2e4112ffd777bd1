/** The Stripe lists a backfill walks: each kind declares its own (shared/domain/stripe-kinds/). */
export { BACKFILL_PHASES, type BackfillPhase } from '../domain/stripe-kinds/registry.ts';

import type { BackfillPhase } from '../domain/stripe-kinds/registry.ts';

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
