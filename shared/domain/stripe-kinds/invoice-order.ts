import type { OrderRecord, StoreChange, StripeEventEnvelope } from '../records.ts';
import {
  MalformedPayloadError,
  readId,
  readOptionalAmount,
  readOptionalObject,
  readOptionalString,
  readReference,
  readTimestamp,
  whenWellFormed,
} from '../stripe-payload-readers.ts';
import type { InvoicePayload, InvoicePaymentPayload } from '../stripe-payload-types.ts';
import { expandedCustomer } from './customer.ts';
import { changes, ignored, listedId, type StripeKind } from './stripe-kind.ts';

/**
 * Invoice orders: a finalized invoice is an order of kind `invoice` (drafts are not orders).
 * An InvoicePayment (`2025-03-31.basil` and later) links the payment intent that paid an
 * invoice to it, so that payment is never also shown as a one-time order; older payloads name
 * the invoice on the payment intent itself (see one-time-order.ts).
 *
 * An older invoice payload's `payment_intent` is not turned into a link: older payment intents
 * and charges name their invoice themselves, and one write per invoice event keeps the webhook
 * at 3 requests.
 */
export const invoiceOrderKind = {
  name: 'invoice order',
  events: {
    // `fallbackStatus` stands in for a missing `status`, from what the event type implies.
    'invoice.paid': { object: 'invoice', rank: 2, map: (event) => invoiceChanges(event, 'paid') },
    'invoice.payment_failed': { object: 'invoice', rank: 2, map: (event) => invoiceChanges(event, 'open') },
    'invoice.voided': { object: 'invoice', rank: 3, map: (event) => invoiceChanges(event, 'void') },
    'invoice_payment.paid': { object: 'invoice_payment', rank: 2, map: invoicePaymentChange },
  },
  backfill: [
    {
      phase: 'invoices',
      lane: 0,
      resource: 'invoices',
      createdFilter: true,
      expand: ['data.customer'],
      changes: (object) => {
        const record = mapInvoiceObject(object);
        if (!record) return [];
        return [{ kind: 'order', record }, ...expandedCustomer(object.customer)];
      },
    },
    {
      // Before the payment intents, in their lane: a payment intent an InvoicePayment of the
      // window claims is an invoice's, even when the invoice was created before the window.
      phase: 'invoice_payments',
      lane: 1,
      resource: 'invoicePayments',
      createdFilter: true,
      changes: invoicePaymentLink,
    },
  ],
} as const satisfies StripeKind;

/**
 * A finalized Invoice (any API version) as an {@link OrderRecord} of kind `invoice`, or
 * `undefined` when it is a draft or malformed. For API reads, where Stripe always sends `status`.
 */
export function mapInvoiceObject(object: unknown): OrderRecord | undefined {
  return whenWellFormed(object, (invoice) => {
    const record = toInvoiceOrder(invoice as InvoicePayload, undefined);
    return record.status === 'draft' ? undefined : record;
  });
}

function invoiceChanges(event: StripeEventEnvelope, fallbackStatus: string) {
  const record = toInvoiceOrder(event.object, fallbackStatus);
  if (record.status === 'draft') {
    return ignored('draft_invoice');
  }
  return changes({ kind: 'order', record });
}

function invoicePaymentChange(event: StripeEventEnvelope) {
  const invoicePayment: InvoicePaymentPayload = event.object;
  readId(invoicePayment.id);
  const invoiceId = readReference(invoicePayment.invoice);
  if (invoiceId === null) {
    throw new MalformedPayloadError('invoice');
  }
  const payment = readOptionalObject(invoicePayment.payment);
  if (payment === null) {
    throw new MalformedPayloadError('payment');
  }
  const paymentIntentId = readReference(payment.payment_intent);
  if (paymentIntentId === null) {
    // Paid out of band or by a payment record: no payment intent to link.
    return ignored('invoice_payment_without_payment_intent');
  }
  return changes({ kind: 'payment_link', paymentIntentId, invoiceId });
}

/** An InvoicePayment paid in the window links its payment intent to the invoice, old or new. */
function invoicePaymentLink(payment: Readonly<Record<string, unknown>>): StoreChange[] {
  const invoiceId = listedId(payment.invoice);
  const intent = (payment.payment as { payment_intent?: unknown } | undefined)?.payment_intent;
  const paymentIntentId = listedId(intent);
  return invoiceId && paymentIntentId ? [{ kind: 'payment_link', paymentIntentId, invoiceId }] : [];
}

/** `fallbackStatus` is used when the payload has no `status`; `undefined` means it must have one. */
function toInvoiceOrder(invoice: InvoicePayload, fallbackStatus: string | undefined): OrderRecord {
  const id = readId(invoice.id);
  const status = readOptionalString(invoice.status) ?? fallbackStatus;
  if (status === undefined || status.length === 0) {
    throw new MalformedPayloadError('status');
  }
  const amount = readOptionalAmount(invoice.total) ?? readOptionalAmount(invoice.amount_due);
  if (amount === null) {
    throw new MalformedPayloadError('total');
  }
  const parent = readOptionalObject(invoice.parent);
  const subscriptionDetails = readOptionalObject(parent?.subscription_details);
  const statusTransitions = readOptionalObject(invoice.status_transitions);
  return {
    id,
    kind: 'invoice',
    status,
    amount,
    amountPaid: readOptionalAmount(invoice.amount_paid) ?? 0,
    currency: readOptionalString(invoice.currency),
    customerId: readReference(invoice.customer),
    subscriptionId: readReference(invoice.subscription) ?? readReference(subscriptionDetails?.subscription),
    created: readTimestamp(invoice.created),
    paidAt: readTimestamp(statusTransitions?.paid_at),
  };
}
