import { subscriptionMrr } from '../mrr.ts';
import type { StripeEventEnvelope, SubscriptionItemRecord, SubscriptionRecord } from '../records.ts';
import {
  isPlainObject,
  MalformedPayloadError,
  readFieldId,
  readId,
  readInterval,
  readIntervalCount,
  readOptionalBoolean,
  readOptionalObject,
  readOptionalString,
  readQuantity,
  readReference,
  readTimestamp,
  readUnitAmount,
  whenWellFormed,
} from '../stripe-payload-readers.ts';
import type {
  PlanPayload,
  PricePayload,
  SubscriptionItemPayload,
  SubscriptionPayload,
} from '../stripe-payload-types.ts';
import { expandedCustomer } from './customer.ts';
import { changes, type StripeKind } from './stripe-kind.ts';

/**
 * Subscriptions, with their items (price, product, unit amount, quantity, interval) and MRR.
 * The backfill lists them all (`status: 'all'`, no `created` filter: one that began years ago
 * may still bill today) and keeps those that had not ended before the window.
 */
export const subscriptionKind = {
  name: 'subscription',
  events: {
    'customer.subscription.created': { object: 'subscription', rank: 1, map: subscriptionChange },
    'customer.subscription.updated': { object: 'subscription', rank: 2, map: subscriptionChange },
    'customer.subscription.deleted': { object: 'subscription', rank: 3, map: subscriptionChange },
  },
  backfill: [
    {
      phase: 'subscriptions',
      lane: 0,
      resource: 'subscriptions',
      createdFilter: false,
      params: { status: 'all' },
      expand: ['data.customer'],
      changes: (object, windowStartMs) => {
        const record = mapSubscriptionObject(object);
        if (!record) return [];
        if (record.endedAt !== null && Date.parse(record.endedAt) < windowStartMs) return [];
        return [...expandedCustomer(object.customer), { kind: 'subscription', record }];
      },
    },
  ],
} as const satisfies StripeKind;

/**
 * Stripe allows 20 items a subscription: a bound far above keeps a record (and its journal entry)
 * under DynamoDB's 400 KB item limit whatever a 2 MiB body holds.
 */
const MAX_SUBSCRIPTION_ITEMS = 250;

/** A Subscription (any API version) as a {@link SubscriptionRecord}, or `undefined` when malformed. */
export function mapSubscriptionObject(object: unknown): SubscriptionRecord | undefined {
  return whenWellFormed(object, toSubscriptionRecord);
}

function subscriptionChange(event: StripeEventEnvelope) {
  return changes({ kind: 'subscription', record: toSubscriptionRecord(event.object) });
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
    startDate: readTimestamp(subscription.start_date),
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
