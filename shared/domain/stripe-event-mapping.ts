import { subscriptionMrr } from './mrr.ts';
import type {
  CustomerRecord,
  EventMapping,
  OrderRecord,
  RecordChange,
  StripeEventEnvelope,
  SubscriptionItemRecord,
  SubscriptionRecord,
} from './records.ts';
import {
  isPlainObject,
  MalformedPayloadError,
  readAmount,
  readFieldId,
  readId,
  readInterval,
  readIntervalCount,
  readOptionalAmount,
  readOptionalBoolean,
  readOptionalObject,
  readOptionalString,
  readQuantity,
  readReference,
  readTimestamp,
  readUnitAmount,
  whenWellFormed,
} from './stripe-payload-readers.ts';
import type {
  ChargePayload,
  CustomerPayload,
  InvoicePayload,
  InvoicePaymentPayload,
  PaymentIntentPayload,
  PlanPayload,
  PricePayload,
  SubscriptionItemPayload,
  SubscriptionPayload,
} from './stripe-payload-types.ts';

/**
 * Stripe event → record changes (README "Webhooks", "Records").
 * The envelope is checked first (stripe-event-envelope.ts); the payload shapes read here are in
 * stripe-payload-types.ts and the field readers in stripe-payload-readers.ts.
 *
 * Pure: no I/O, no clock, no `stripe` package. Payloads arrive rendered in the API version of the
 * endpoint that received them, which is not necessarily the SDK's (`2026-10-28.endive`), so every
 * field is read defensively and both shapes are understood:
 * - older versions (up to `2025-02-24.acacia`): `current_period_end` on the subscription;
 *   `subscription`, `payment_intent`, `charge` and `paid` on the invoice; `invoice` on charges and
 *   payment intents;
 * - `2025-03-31.basil` and later: billing periods on the subscription items; the invoice's
 *   subscription under `parent.subscription_details.subscription`; no invoice on charges or
 *   payment intents, and the invoice ↔ payment link is the InvoicePayment object
 *   (`invoice_payment.paid`).
 *
 * Records keep ids, statuses, amounts, currency, price/product/interval and timestamps only:
 * never names, emails, phone numbers, addresses or card details (README "Records": patients' data is PHI).
 *
 * A payload that does not have the shape of its event type is ignored with a
 * `malformed_<object>` reason instead of throwing: processing would otherwise fail, and Stripe would
 * redeliver the same bad payload for three days.
 *
 * @module
 */

/** The event types {@link mapStripeEvent} turns into record changes; any other is ignored. */
export const HANDLED_STRIPE_EVENT_TYPES = [
  'customer.created',
  'customer.updated',
  'customer.deleted',
  'customer.subscription.created',
  'customer.subscription.updated',
  'customer.subscription.deleted',
  'invoice.paid',
  'invoice.payment_failed',
  'invoice.voided',
  'invoice_payment.paid',
  'payment_intent.succeeded',
  'charge.refunded',
  'account.application.deauthorized',
] as const;

export type HandledStripeEventType = (typeof HANDLED_STRIPE_EVENT_TYPES)[number];

/** The Stripe object types that handled events carry (the `object` word of `data.object`). */
export type MappedStripeObjectType =
  | 'customer'
  | 'subscription'
  | 'invoice'
  | 'invoice_payment'
  | 'payment_intent'
  | 'charge';

/** Why {@link mapStripeEvent} ignored an event; stored in the event ledger as the outcome. */
export type IgnoredReason =
  /** Not one of {@link HANDLED_STRIPE_EVENT_TYPES}. */
  | 'unhandled_type'
  /** A draft invoice is not an order (README "Records": drafts skipped). */
  | 'draft_invoice'
  /** An InvoicePayment paid out of band or by a payment record: no payment intent to link. */
  | 'invoice_payment_without_payment_intent'
  /** A refunded charge that names neither an invoice nor a payment intent: nothing to adjust. */
  | 'refund_without_payment'
  /** `data.object` lacks a field the event type needs, or has one of the wrong type. */
  | `malformed_${MappedStripeObjectType}`;

/**
 * Stripe allows 20 items a subscription: a bound far above keeps a record (and its journal entry)
 * under DynamoDB's 400 KB item limit whatever a 2 MiB body holds.
 */
const MAX_SUBSCRIPTION_ITEMS = 250;

/**
 * Turns one Stripe event into the record changes it asks for. Never throws on a bad payload:
 * unhandled types and malformed objects come back as `{outcome: 'ignored', reason}` (see
 * {@link IgnoredReason}).
 *
 * - `customer.created|updated|deleted` → `customer` (`deleted: true` for `customer.deleted`).
 * - `customer.subscription.created|updated|deleted` → `subscription`, with its MRR.
 * - `invoice.paid|payment_failed|voided` → `order` of kind `invoice` (drafts ignored). An older
 *   payload's `payment_intent` is not turned into a link: older payment intents and charges name
 *   their invoice themselves, and one write per invoice event keeps the webhook at 3 requests.
 * - `invoice_payment.paid` (basil and later) → `payment_link`.
 * - `payment_intent.succeeded` → `payment_link` when an older payload names its invoice; an
 *   `order` of kind `one_time` when it says `invoice: null`; a `one_time_candidate` when the
 *   payload has no `invoice` key at all (basil and later), for the store to resolve.
 * - `charge.refunded` → `refund` with the charge's total refunded amount.
 * - `account.application.deauthorized` → `deauthorized`.
 */
export function mapStripeEvent(event: StripeEventEnvelope): EventMapping {
  if (!Object.hasOwn(HANDLERS, event.type)) {
    return ignored('unhandled_type');
  }
  const handler = HANDLERS[event.type as HandledStripeEventType];
  if (handler.object === undefined) {
    return handler.map(event);
  }
  try {
    if (event.object.object !== undefined && event.object.object !== handler.object) {
      throw new MalformedPayloadError('object');
    }
    return handler.map(event);
  } catch (error) {
    if (error instanceof MalformedPayloadError) {
      return ignored(`malformed_${handler.object}`);
    }
    throw error;
  }
}

/**
 * A Customer as a {@link CustomerRecord}, or `undefined` when it has no usable id. For API reads
 * (backfill); events go through {@link mapStripeEvent}.
 */
export function mapCustomerObject(object: unknown, deleted = false): CustomerRecord | undefined {
  return whenWellFormed(object, (customer) => toCustomerRecord(customer, deleted));
}

/**
 * A Subscription (any API version) as a {@link SubscriptionRecord}, or `undefined` when malformed.
 * For API reads (backfill); events go through {@link mapStripeEvent}.
 */
export function mapSubscriptionObject(object: unknown): SubscriptionRecord | undefined {
  return whenWellFormed(object, toSubscriptionRecord);
}

/**
 * A finalized Invoice (any API version) as an {@link OrderRecord} of kind `invoice`, or
 * `undefined` when it is a draft (not an order) or malformed. For API reads (backfill), where
 * Stripe always sends `status`; events go through {@link mapStripeEvent}.
 */
export function mapInvoiceObject(object: unknown): OrderRecord | undefined {
  return whenWellFormed(object, (invoice) => {
    const record = toInvoiceOrder(invoice as InvoicePayload, undefined);
    return record.status === 'draft' ? undefined : record;
  });
}

// ---------------------------------------------------------------------------------------------
// Handlers.

interface Handler {
  /** The `object` word expected of `data.object`; `undefined` when the payload is not read. */
  readonly object: MappedStripeObjectType | undefined;
  readonly map: (event: StripeEventEnvelope) => EventMapping;
}

const HANDLERS: Readonly<Record<HandledStripeEventType, Handler>> = {
  'customer.created': { object: 'customer', map: (event) => customerChange(event, false) },
  'customer.updated': { object: 'customer', map: (event) => customerChange(event, false) },
  'customer.deleted': { object: 'customer', map: (event) => customerChange(event, true) },
  'customer.subscription.created': { object: 'subscription', map: subscriptionChange },
  'customer.subscription.updated': { object: 'subscription', map: subscriptionChange },
  'customer.subscription.deleted': { object: 'subscription', map: subscriptionChange },
  'invoice.paid': { object: 'invoice', map: (event) => invoiceChanges(event, 'paid') },
  'invoice.payment_failed': { object: 'invoice', map: (event) => invoiceChanges(event, 'open') },
  'invoice.voided': { object: 'invoice', map: (event) => invoiceChanges(event, 'void') },
  'invoice_payment.paid': { object: 'invoice_payment', map: invoicePaymentChange },
  'payment_intent.succeeded': { object: 'payment_intent', map: paymentIntentChange },
  'charge.refunded': { object: 'charge', map: refundChange },
  'account.application.deauthorized': { object: undefined, map: () => changes({ kind: 'deauthorized' }) },
};

function customerChange(event: StripeEventEnvelope, deleted: boolean): EventMapping {
  return changes({ kind: 'customer', record: toCustomerRecord(event.object, deleted) });
}

function subscriptionChange(event: StripeEventEnvelope): EventMapping {
  return changes({ kind: 'subscription', record: toSubscriptionRecord(event.object) });
}

/**
 * `fallbackStatus` stands in for a missing `status`, from what the event type implies: an
 * `invoice.paid` invoice is paid, a voided one void, one whose payment failed still open.
 */
function invoiceChanges(event: StripeEventEnvelope, fallbackStatus: string): EventMapping {
  const invoice: InvoicePayload = event.object;
  const record = toInvoiceOrder(invoice, fallbackStatus);
  if (record.status === 'draft') {
    return ignored('draft_invoice');
  }
  return changes({ kind: 'order', record });
}

function invoicePaymentChange(event: StripeEventEnvelope): EventMapping {
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
    return ignored('invoice_payment_without_payment_intent');
  }
  return changes({ kind: 'payment_link', paymentIntentId, invoiceId });
}

/**
 * Older payloads say whether a payment intent belongs to an invoice (`invoice` is an id or
 * `null`); basil and later payloads have no `invoice` key, so whether the payment is one-time is
 * for the store to settle against the invoice links it knows.
 */
function paymentIntentChange(event: StripeEventEnvelope): EventMapping {
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

function refundChange(event: StripeEventEnvelope): EventMapping {
  const charge: ChargePayload = event.object;
  readId(charge.id);
  const amountRefunded = readAmount(charge.amount_refunded);
  const invoiceId = readReference(charge.invoice);
  const paymentIntentId = readReference(charge.payment_intent);
  if (invoiceId === null && paymentIntentId === null) {
    return ignored('refund_without_payment');
  }
  const invoiceKnown = Object.hasOwn(charge, 'invoice');
  return changes({ kind: 'refund', invoiceId, paymentIntentId, amountRefunded, invoiceKnown });
}

// ---------------------------------------------------------------------------------------------
// Object → record. These throw MalformedPayloadError, which the callers turn into "ignored".

function toCustomerRecord(customer: CustomerPayload, deleted: boolean): CustomerRecord {
  return { id: readId(customer.id), created: readTimestamp(customer.created), deleted };
}

function toSubscriptionRecord(subscription: SubscriptionPayload): SubscriptionRecord {
  const id = readId(subscription.id);
  const status = readOptionalString(subscription.status);
  if (status === null || status.length === 0) {
    throw new MalformedPayloadError('status');
  }
  // The embedded list is taken as complete; should Stripe ever embed a partial page
  // (`has_more: true`), items and MRR would miss the rest until a backfill re-reads them.
  const list = readOptionalObject(subscription.items);
  if (list === null || !Array.isArray(list.data) || list.data.length > MAX_SUBSCRIPTION_ITEMS) {
    throw new MalformedPayloadError('items');
  }
  const items = list.data.map(toSubscriptionItem);
  const itemRecords = items.map((item) => item.record);
  return {
    id,
    customerId: readReference(subscription.customer),
    status,
    currency: readOptionalString(subscription.currency) ?? items[0]?.currency ?? null,
    items: itemRecords,
    mrr: subscriptionMrr(status, itemRecords),
    cancelAtPeriodEnd: readOptionalBoolean(subscription.cancel_at_period_end) ?? false,
    canceledAt: readTimestamp(subscription.canceled_at),
    endedAt: readTimestamp(subscription.ended_at),
    trialEnd: readTimestamp(subscription.trial_end),
    currentPeriodEnd: readTimestamp(subscription.current_period_end ?? latestPeriodEnd(items)),
    created: readTimestamp(subscription.created),
  };
}

interface MappedItem {
  readonly record: SubscriptionItemRecord;
  readonly currency: string | null;
  readonly currentPeriodEnd: number | null;
}

/** Basil and later: the subscription's period ends when its last item's does. */
function latestPeriodEnd(items: readonly MappedItem[]): number | null {
  let latest: number | null = null;
  for (const { currentPeriodEnd } of items) {
    if (currentPeriodEnd !== null && (latest === null || currentPeriodEnd > latest)) {
      latest = currentPeriodEnd;
    }
  }
  return latest;
}

function toSubscriptionItem(value: unknown): MappedItem {
  if (!isPlainObject(value)) {
    throw new MalformedPayloadError('items.data');
  }
  const item: SubscriptionItemPayload = value;
  const quantity = item.quantity === undefined || item.quantity === null ? 1 : readQuantity(item.quantity);
  // Validated here, converted once the latest of all items is known.
  readTimestamp(item.current_period_end);
  const currentPeriodEnd = typeof item.current_period_end === 'number' ? item.current_period_end : null;
  const price = readOptionalObject(item.price);
  if (price !== null) {
    return { ...fromPrice(price, quantity), currentPeriodEnd };
  }
  const plan = readOptionalObject(item.plan);
  if (plan !== null) {
    return { ...fromPlan(plan, quantity), currentPeriodEnd };
  }
  throw new MalformedPayloadError('price');
}

function fromPrice(price: PricePayload, quantity: number): Omit<MappedItem, 'currentPeriodEnd'> {
  const recurring = readOptionalObject(price.recurring);
  return {
    record: {
      priceId: readFieldId(price.id),
      productId: readReference(price.product, readFieldId),
      unitAmount: readUnitAmount(price.unit_amount, price.unit_amount_decimal),
      quantity,
      interval: readInterval(recurring?.interval),
      intervalCount: readIntervalCount(recurring?.interval_count),
    },
    currency: readOptionalString(price.currency),
  };
}

function fromPlan(plan: PlanPayload, quantity: number): Omit<MappedItem, 'currentPeriodEnd'> {
  return {
    record: {
      priceId: readFieldId(plan.id),
      productId: readReference(plan.product, readFieldId),
      unitAmount: readUnitAmount(plan.amount, plan.amount_decimal),
      quantity,
      interval: readInterval(plan.interval),
      intervalCount: readIntervalCount(plan.interval_count),
    },
    currency: readOptionalString(plan.currency),
  };
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

function changes(...list: RecordChange[]): EventMapping {
  return { outcome: 'changes', changes: list };
}

function ignored(reason: IgnoredReason): EventMapping {
  return { outcome: 'ignored', reason };
}
