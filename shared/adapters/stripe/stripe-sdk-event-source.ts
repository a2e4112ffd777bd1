import type Stripe from 'stripe';
import {
  type EventsPage,
  type EventsPageRequest,
  MAX_EVENT_TYPES,
  MAX_EVENTS_PAGE_SIZE,
  type StripeEventSource,
} from '../../ports/stripe-event-source.ts';
import { createStripeClient } from './stripe-client.ts';
import {
  DEFAULT_RATE_LIMIT,
  type RateLimitOptions,
  type SourceStats,
  StripeReadPacer,
} from './stripe-read-pacer.ts';

export interface StripeSdkEventSourceOptions {
  /**
   * The platform's client, or a function giving it for each attempt (see
   * {@link lazyPlatformClient}): a key lookup that fails is then retried like a Stripe error.
   */
  readonly stripe: Stripe | (() => Promise<Stripe>);
  /** Pace and retries per account; default {@link DEFAULT_RATE_LIMIT}, as the backfill. */
  readonly rateLimit?: RateLimitOptions;
}

/**
 * Lists a connected account's events with the platform key and the `Stripe-Account` header,
 * one page per call, paced per account and retried like the backfill's reads (429 backs off,
 * after `Stripe-Rate-Limited-Reason`; 5xx and network errors are retried; then
 * `StripeReadError`). The SDK's own retries are off so that every retry is paced here.
 */
export class StripeSdkEventSource implements StripeEventSource {
  private readonly client: () => Promise<Stripe>;
  private readonly pacer: StripeReadPacer;

  constructor(options: StripeSdkEventSourceOptions) {
    const { stripe } = options;
    this.client = typeof stripe === 'function' ? stripe : async () => stripe;
    this.pacer = new StripeReadPacer(options.rateLimit ?? DEFAULT_RATE_LIMIT);
  }

  get stats(): SourceStats {
    return this.pacer.stats;
  }

  async listEventsPage(request: EventsPageRequest): Promise<EventsPage> {
    const params = listParams(request);
    const options = { stripeAccount: request.stripeAccountId, maxNetworkRetries: 0 };
    return this.pacer.read(
      request.stripeAccountId,
      async () => {
        const stripe = await this.client();
        const list = await stripe.events.list(params, options);
        const events = list.data as unknown as Record<string, unknown>[];
        const last = events.at(-1)?.id;
        return { events, hasMore: list.has_more, lastId: typeof last === 'string' ? last : undefined };
      },
      request.retryBudgetMs,
    );
  }
}

/** The request's `GET /v1/events` parameters; a request Stripe would refuse is a bug here. */
function listParams(request: EventsPageRequest): Stripe.EventListParams {
  const limit = request.limit ?? MAX_EVENTS_PAGE_SIZE;
  if (!Number.isInteger(limit) || limit < 1 || limit > MAX_EVENTS_PAGE_SIZE) {
    throw new RangeError(`limit must be an integer from 1 to ${MAX_EVENTS_PAGE_SIZE}`);
  }
  if (!Number.isInteger(request.createdAfter)) throw new RangeError('createdAfter must be epoch seconds');
  const types = request.types;
  if (types !== undefined && (types.length === 0 || types.length > MAX_EVENT_TYPES)) {
    throw new RangeError(`types must name 1 to ${MAX_EVENT_TYPES} event types`);
  }
  return {
    limit,
    created: { gt: request.createdAfter },
    ...(request.startingAfter ? { starting_after: request.startingAfter } : {}),
    ...(types ? { types: [...types] } : {}),
  };
}

/**
 * The platform's client with the key resolved on each use (a cached lookup, in practice) and a
 * new client only when the key changed (a rotation), like `LazyBackfillSource`. Timeouts are
 * sized for a worker, not an HTTP handler.
 */
export function lazyPlatformClient(secretKey: () => Promise<string>, apiBaseUrl: URL): () => Promise<Stripe> {
  let current: { key: string; stripe: Stripe } | undefined;
  return async () => {
    const key = await secretKey();
    if (current?.key !== key) {
      current = {
        key,
        stripe: createStripeClient({ secretKey: key, apiBaseUrl, timeoutMs: 20_000, maxNetworkRetries: 0 }),
      };
    }
    return current.stripe;
  };
}
