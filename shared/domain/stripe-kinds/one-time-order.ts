import type { OrderRecord, StoreChange, StripeEventEnvelope } from '../records.ts';
import {
  MalformedPayloadError,
  readAmount,
  readId,
  readOptionalString,
  readReference,
  readTimestamp,
} from '../stripe-payload-readers.ts';
import type { ChargePayload, PaymentIntentPayload } from '../stripe-payload-types.ts';
import { expandedCustomer } from './customer.ts';
import { changes, ignored, listedId, type StripeKind } from './stripe-kind.ts';

/**
 * One-time orders: a succeeded payment intent no invoice claims, and the refunded total of the
 * charge that paid an order (the invoice's when Stripe links them, else the one-time payment's).
 *
 * Older payloads say whether a payment intent belongs to an invoice (`invoice` is an id or
 * `null`); basil and later payloads have no `invoice` key, so whether the payment is one-time is
 * for the store to settle against the invoice links it knows (`one_time_candidate`).
 */
export const oneTimeOrderKind = {
  name: 'one-time order',
  events: {
    'payment_intent.succeeded': { object: 'payment_intent', rank: 2, map: paymentIntentChange },
    'charge.refunded': { object: 'charge', rank: 2, map: refundChange },
  },
  backfill: [
    {
      phase: 'payment_intents',
      lane: 1,
      resource: 'paymentIntents',
      createdFilter: true,
      expand: ['data.customer', 'data.latest_charge'],
      changes: paymentIntentListed,
    },
  ],
} as const satisfies StripeKind;

function paymentIntentChange(event: StripeEventEnvelope) {
  const paymentIntent: PaymentIntentPayload = event.object;
  const id = readId(paymentIntent.id);
  if (paymentIntent.invoice !== undefined && paymentIntent.invoice !== null) {
    const invoiceId = readReference(paymentIntent.invoice);
    if (invoiceId === null) {
      throw new MalformedPayloadError('invoice');
    }
    return changes({ kind: 'payment_link', paymentIntentId: id, invoiceId });
  }
  const record: OrderRecord = {
    id,
    kind: 'one_time',
    status: readOptionalString(paymentIntent.status) ?? 'succeeded',
    amount: readAmount(paymentIntent.amount),
    amountPaid: readAmount(paymentIntent.amount_received),
    currency: readOptionalString(paymentIntent.currency),
    customerId: readReference(paymentIntent.customer),
    subscriptionId: null,
    created: readTimestamp(paymentIntent.created),
    // A payment intent has no "succeeded at" field: the event is that moment.
    paidAt: readTimestamp(event.created),
  };
  if (paymentIntent.invoice === null) {
    return changes({ kind: 'order', record });
  }
  return changes({ kind: 'one_time_candidate', paymentIntentId: id, record });
}

function refundChange(event: StripeEventEnvelope) {
  const charge: ChargePayload = event.object;
  readId(charge.id);
  const amountRefunded = readAmount(charge.amount_refunded);
  const invoiceId = readReference(charge.invoice);
  const paymentIntentId = readReference(charge.payment_intent);
  if (invoiceId === null && paymentIntentId === null) {
    // Neither an invoice nor a payment intent: no order to adjust.
    return ignored('refund_without_payment');
  }
  const invoiceKnown = Object.hasOwn(charge, 'invoice');
  return changes({ kind: 'refund', invoiceId, paymentIntentId, amountRefunded, invoiceKnown });
}

/**
 * A succeeded payment intent of the window, with its customer and its charge's refunds (the
 * store refuses it as an order once an invoice has claimed it).
 */
function paymentIntentListed(intent: Readonly<Record<string, unknown>>): StoreChange[] {
  const id = listedId(intent);
  if (!id || intent.status !== 'succeeded') return [];
  const amount = intent.amount;
  const received = intent.amount_received;
  const created = intent.created;
  if (typeof amount !== 'number' || typeof created !== 'number') return [];
  const charge =
    intent.latest_charge && typeof intent.latest_charge === 'object'
      ? (intent.latest_charge as Record<string, unknown>)
      : undefined;
  const paidAt = typeof charge?.created === 'number' ? charge.created : created;
  const record: OrderRecord = {
    id,
    kind: 'one_time',
    status: 'succeeded',
    amount,
    amountPaid: typeof received === 'number' ? received : amount,
    currency: typeof intent.currency === 'string' ? intent.currency : null,
    customerId: listedId(intent.customer),
    subscriptionId: null,
    created: new Date(created * 1000).toISOString(),
    paidAt: new Date(paidAt * 1000).toISOString(),
  };
  const listed: StoreChange[] = [
    ...expandedCustomer(intent.customer),
    { kind: 'one_time_candidate', paymentIntentId: id, record },
  ];
  const refunded = charge?.amount_refunded;
  if (typeof refunded === 'number' && refunded > 0) {
    // Whether an invoice owns this payment is settled by the store (its link tombstone).
    listed.push({
      kind: 'refund',
      invoiceId: null,
      paymentIntentId: id,
      amountRefunded: refunded,
      invoiceKnown: false,
    });
  }
  return listed;
}
