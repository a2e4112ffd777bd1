import type Stripe from 'stripe';
import type {
  BackfillPhase,
  ListPage,
  ListPageRequest,
  StripeBackfillSource,
} from '../../ports/stripe-backfill-source.ts';

/** Stripe's largest page: the number of list requests is then the ideal `ceil(n / 100)`. */
export const PAGE_SIZE = 100;

/**
 * Reads a connected account's lists with the platform key and the `Stripe-Account` header.
 * `expand` brings each object's customer (and a payment intent's charge)
 * inline, so no object ever costs a request of its own. The SDK's own retries are off: the
 * rate-limit-aware wrapper around this source retries 429, 5xx and network errors uniformly.
 */
export class StripeSdkBackfillSource implements StripeBackfillSource {
  constructor(private readonly stripe: Stripe) {}

  async listPage(phase: BackfillPhase, request: ListPageRequest): Promise<ListPage> {
    const options = { stripeAccount: request.stripeAccountId, maxNetworkRetries: 0 };
    const page = {
      limit: PAGE_SIZE,
      ...(request.startingAfter ? { starting_after: request.startingAfter } : {}),
    };
    const created = { created: { gte: request.createdGte } };
    let list: Stripe.ApiList<unknown>;
    switch (phase) {
      case 'subscriptions':
        // No created filter: a subscription that began years ago may still bill today.
        list = await this.stripe.subscriptions.list(
          { ...page, status: 'all', expand: ['data.customer'] },
          options,
        );
        break;
      case 'invoices':
        list = await this.stripe.invoices.list({ ...page, ...created, expand: ['data.customer'] }, options);
        break;
      case 'invoice_payments':
        list = await this.stripe.invoicePayments.list({ ...page, ...created }, options);
        break;
      case 'payment_intents':
        list = await this.stripe.paymentIntents.list(
          { ...page, ...created, expand: ['data.customer', 'data.latest_charge'] },
          options,
        );
        break;
      case 'customers':
        list = await this.stripe.customers.list({ ...page, ...created }, options);
        break;
    }
    return { data: list.data as Record<string, unknown>[], hasMore: list.has_more };
  }
}
