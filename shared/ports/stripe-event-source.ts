/**
 * A connected account's Events API (`GET /v1/events`), read one page per call. Stripe lists the
 * last 30 days, newest first; each event's `data` is rendered in the API version it was created
 * with (its `api_version`), not in the SDK's, exactly as webhook payloads may be older shapes.
 *
 * @module
 */

/** Stripe's largest page, and the default: a sweep of n events costs `ceil(n / 100)` requests. */
export const MAX_EVENTS_PAGE_SIZE = 100;

/** Stripe accepts at most this many `types[]`. */
export const MAX_EVENT_TYPES = 20;

export interface EventsPageRequest {
  readonly stripeAccountId: string;
  /**
   * Epoch seconds: only events created strictly after it (`created[gt]`). Events of one second
   * can be created after a page of that second was read, so a sweep that resumes from the newest
   * `created` it saw should step back a little and let the ledger drop what it already applied.
   */
  readonly createdAfter: number;
  /** The previous page's {@link EventsPage.lastId} (Stripe's `starting_after`): older events. */
  readonly startingAfter?: string | undefined;
  /** 1..100; default 100. */
  readonly limit?: number;
  /** Only these event types (1..20 names, Stripe's `types[]`); default every type. */
  readonly types?: readonly string[];
  /**
   * How long this page may take with its retries; past it the read gives up as out of time
   * (`StripeReadError.outOfTime`), so the invocation can still hand over before its deadline.
   */
  readonly retryBudgetMs?: number;
}

export interface EventsPage {
  /** Stripe event objects as listed (the envelope webhook deliveries carry), newest first. */
  readonly events: readonly Record<string, unknown>[];
  readonly hasMore: boolean;
  /** The id of the page's last (oldest) event, for the next page; `undefined` on an empty page. */
  readonly lastId: string | undefined;
}

/**
 * One request per call (plus its retries). A failure is a `StripeReadError`: `retryable` for
 * 429, 5xx and network errors that outlasted the retries, not for a refusal (a revoked account's
 * 403, say).
 */
export interface StripeEventSource {
  listEventsPage(request: EventsPageRequest): Promise<EventsPage>;
}
