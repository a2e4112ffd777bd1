import type Stripe from 'stripe';
import { BACKFILL_LIST_OF } from '../../domain/stripe-kinds/registry.ts';
import type {
  BackfillPhase,
  ListPage,
  ListPageRequest,
  StripeBackfillSource,
} from '../../ports/stripe-backfill-source.ts';

/** Stripe's largest page: the number of list requests is then the ideal `ceil(n / 100)`. */
export const PAGE_SIZE = 100;

/**
 * Reads a connected account's lists with the platform key and the `Stripe-Account` header, as
 * each kind's list declares them (shared/domain/stripe-kinds/): `expand` brings each object's
 * customer (and a payment intent's charge) inline, so no object ever costs a request of its own. The SDK's own retries are off: the
 * rate-limit-aware wrapper around this source retries 429, 5xx and network errors uniformly.
 */
export class StripeSdkBackfillSource implements StripeBackfillSource {
  constructor(private readonly stripe: Stripe) {}

  async listPage(phase: BackfillPhase, request: ListPageRequest): Promise<ListPage> {
    const list = BACKFILL_LIST_OF[phase];
    const params = {
      limit: PAGE_SIZE,
      ...list.params,
      ...(request.startingAfter ? { starting_after: request.startingAfter } : {}),
      // A list Stripe cannot filter by date (subscriptions) is read whole.
      ...(list.createdFilter ? { created: { gte: request.createdGte } } : {}),
      ...(list.expand ? { expand: [...list.expand] } : {}),
    };
    const resource = (this.stripe as unknown as Record<string, ListableResource | undefined>)[list.resource];
    if (typeof resource?.list !== 'function') {
      throw new TypeError(`stripe has no list for the ${phase} backfill list (${list.resource})`);
    }
    const page = await resource.list(params, {
      stripeAccount: request.stripeAccountId,
      maxNetworkRetries: 0,
    });
    return { data: page.data as Record<string, unknown>[], hasMore: page.has_more };
  }
}

/** What every stripe-node resource the backfill reads has in common. */
interface ListableResource {
  list(params: Record<string, unknown>, options: Stripe.RequestOptions): Promise<Stripe.ApiList<unknown>>;
}
