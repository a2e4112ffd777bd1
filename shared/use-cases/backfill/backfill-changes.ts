import type { CustomerRecord, OrderRecord, StoreChange } from '../../domain/records.ts';
import {
  mapCustomerObject,
  mapInvoiceObject,
  mapSubscriptionObject,
} from '../../domain/stripe-event-mapping.ts';
import { isStripeObjectId } from '../../domain/stripe-ids.ts';
import type { BackfillPhase } from '../../ports/stripe-backfill-source.ts';

type StripeObject = Record<string, unknown>;
type Change = StoreChange;

/**
 * What one listed Stripe object contributes, per the import rule (README "Backfill", "What is imported"): subscriptions that
 * had not ended before the window; finalized invoices (drafts skipped); the InvoicePayments of the window, which link payment intents to invoices;
 * succeeded payment intents not owned by an invoice (the store refuses linked ones) with their
 * refunds; customers of the window, and every customer an imported object refers to (expanded
 * inline, so it costs no request).
 */
export function backfillChanges(phase: BackfillPhase, object: StripeObject, windowStartMs: number): Change[] {
  switch (phase) {
    case 'subscriptions': {
      const record = mapSubscriptionObject(object);
      if (!record) return [];
      if (record.endedAt !== null && Date.parse(record.endedAt) < windowStartMs) return [];
      return [...expandedCustomer(object.customer), { kind: 'subscription', record }];
    }
    case 'invoices': {
      const record = mapInvoiceObject(object);
      if (!record) return [];
      return [{ kind: 'order', record }, ...expandedCustomer(object.customer)];
    }
    case 'invoice_payments':
      return invoicePaymentLink(object);
    case 'payment_intents':
      return paymentIntentChanges(object);
    case 'customers': {
      const record = mapCustomerObject(object);
      return record ? [{ kind: 'customer', record }] : [];
    }
  }
}

function expandedCustomer(customer: unknown): Change[] {
  if (!customer || typeof customer !== 'object') return [];
  const record: CustomerRecord | undefined = mapCustomerObject(
    customer,
    (customer as StripeObject).deleted === true,
  );
  return record ? [{ kind: 'customer', record }] : [];
}

/** An InvoicePayment paid in the window links its payment intent to the invoice, old or new. */
function invoicePaymentLink(payment: StripeObject): Change[] {
  const invoiceId = idOf(payment.invoice);
  const intent = (payment.payment as { payment_intent?: unknown } | undefined)?.payment_intent;
  const paymentIntentId = idOf(intent);
  return invoiceId && paymentIntentId ? [{ kind: 'payment_link', paymentIntentId, invoiceId }] : [];
}

function paymentIntentChanges(intent: StripeObject): Change[] {
  const id = idOf(intent);
  if (!id || intent.status !== 'succeeded') return [];
  const amount = intent.amount;
  const received = intent.amount_received;
  const created = intent.created;
  if (typeof amount !== 'number' || typeof created !== 'number') return [];
  const charge =
    intent.latest_charge && typeof intent.latest_charge === 'object'
      ? (intent.latest_charge as StripeObject)
      : undefined;
  const paidAt = typeof charge?.created === 'number' ? charge.created : created;
  const record: OrderRecord = {
    id,
    kind: 'one_time',
    status: 'succeeded',
    amount,
    amountPaid: typeof received === 'number' ? received : amount,
    currency: typeof intent.currency === 'string' ? intent.currency : null,
    customerId: idOf(intent.customer),
    subscriptionId: null,
    created: new Date(created * 1000).toISOString(),
    paidAt: new Date(paidAt * 1000).toISOString(),
  };
  const changes: Change[] = [
    ...expandedCustomer(intent.customer),
    { kind: 'one_time_candidate', paymentIntentId: id, record },
  ];
  const refunded = charge?.amount_refunded;
  if (typeof refunded === 'number' && refunded > 0) {
    // Whether an invoice owns this payment is settled by the store (its link tombstone).
    changes.push({
      kind: 'refund',
      invoiceId: null,
      paymentIntentId: id,
      amountRefunded: refunded,
      invoiceKnown: false,
    });
  }
  return changes;
}

/**
 * The id of a reference, given as a string or as an expanded object; null unless it can become
 * a key, so a listed object with a hostile id is skipped like a webhook's would be.
 */
function idOf(value: unknown): string | null {
  const id = typeof value === 'string' ? value : (value as { id?: unknown } | null)?.id;
  return isStripeObjectId(id) ? id : null;
}
