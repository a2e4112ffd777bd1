import type { BackfillPhase } from '#shared/domain/stripe-kinds/registry.ts';
import {
  COLLECTION_NAMES,
  type CollectionName,
  compareNewestFirst,
  idOf,
  type SeedObjects,
} from './account-data.ts';
import {
  chargeOf,
  creditNoteForInvoice,
  current,
  DAY,
  disputeOfCharge,
  invoiceItemLineItem,
  invoiceOf,
  invoicePaymentOf,
  PATIENT_MARKER,
  patientCustomer,
  paymentIntentOf,
  recurringPrice,
  type StripeObject,
  subscriptionItemOf,
  subscriptionLineItem,
  subscriptionOf,
} from './stripe-objects.ts';

/**
 * A realistic, deterministic Stripe account of a clinic, in the current API shape, for backfill
 * tests and the benchmark: `fake.seed(accountId, seedClinic({...}).objects)`.
 *
 * Everything is spread evenly (with jitter from a seeded PRNG) over the `days` days before
 * `now`, except long-standing patients and their subscriptions, which began up to four years
 * before. As at Stripe, every finalized invoice has a default InvoicePayment and a PaymentIntent
 * (and paid ones a Charge); one-time payments are PaymentIntents with a Charge that no
 * InvoicePayment names. A few paid invoices have credit notes (some void) and a few succeeded
 * charges, of one-time payments and of invoices, are disputed (some lost, some won, some still
 * open); a couple of each lie before the window. `expected` says what a backfill over the last
 * `windowDays` days imports (README "Backfill", "What is imported"), and how credit notes and
 * disputes adjust the imported orders.
 *
 * Nothing lands within {@link EDGE_GUARD_SECONDS} after the window's start (it is moved just past
 * that band), so a backfill whose clock runs a little later than `now` sees the same window.
 *
 * @module
 */

export interface SeedClinicOptions {
  /** Only used to make ids differ between accounts. */
  readonly accountId: string;
  /** Epoch seconds: nothing is created after it. */
  readonly now: number;
  /** How many days back from `now` the clinic's activity spreads. */
  readonly days: number;
  readonly customers: number;
  /** Subscriptions, of any status. */
  readonly subscriptions: number;
  /** Invoices of any status (drafts included). */
  readonly invoices: number;
  /** Succeeded one-time PaymentIntents (each with a Charge); ~6% more abandoned ones are added. */
  readonly oneTimePayments: number;
  /** PRNG seed; default 1. */
  readonly seed?: number;
  /** The backfill window `expected` is for; default 90. */
  readonly windowDays?: number;
}

/** What a backfill of the last `windowDays` days should import (and its result should say). */
export interface ClinicExpectation {
  readonly windowDays: number;
  /** Epoch seconds: objects created at or after it are in the window. */
  readonly windowStart: number;
  /** Customers created in the window plus every customer an imported subscription or order names. */
  readonly customersUpserted: number;
  /** Subscriptions that had not ended before the window began (`ended_at` null or ≥ windowStart). */
  readonly subscriptionsCreated: number;
  /** `invoiceOrders + oneTimeOrders`. */
  readonly ordersCreated: number;
  /** Finalized (open, paid, uncollectible, void) invoices created in the window. */
  readonly invoiceOrders: number;
  /** Succeeded PaymentIntents no InvoicePayment names, created in the window. */
  readonly oneTimeOrders: number;
  /**
   * What the credit notes and disputes created in the window do to the orders above, by order id
   * (the invoice's, or the one-time PaymentIntent's): only orders they touch are listed.
   */
  readonly orderAdjustments: Readonly<Record<string, OrderAdjustment>>;
}

/** How credit notes and disputes adjust one imported order. */
export interface OrderAdjustment {
  /** Sum of `amount` of the order's (invoice's) credit notes that are not void. */
  readonly amountCredited: number;
  /** Sum of `amount` of the disputes of the order's payments, whatever their status. */
  readonly amountDisputed: number;
  /** Sum of `amount` of those disputes that are `lost`. */
  readonly amountLost: number;
  /** Status of the order's newest dispute (by `created`, then `id`, as Stripe lists); null without one. */
  readonly disputeStatus: string | null;
}

export interface SeededClinic {
  readonly objects: { readonly [K in CollectionName]: StripeObject[] };
  readonly expected: ClinicExpectation;
}

/** Every customer's name contains it, and every email its lowercase form. */
export const CLINIC_PHI_MARKER = PATIENT_MARKER;

/** The band after the window's start that no object's time falls in. */
export const EDGE_GUARD_SECONDS = 600;

interface ClinicPrice {
  readonly price: StripeObject;
  readonly plan: StripeObject;
  readonly amount: number;
  readonly interval: 'week' | 'month' | 'year';
  readonly intervalCount: number;
  readonly product: string;
  readonly weight: number;
}

const PRICE_TABLE = [
  { key: 'Monthly', nickname: 'Monthly therapy', amount: 4_900, interval: 'month', count: 1, weight: 40 },
  {
    key: 'MonthlyPlus',
    nickname: 'Monthly therapy plus',
    amount: 9_900,
    interval: 'month',
    count: 1,
    weight: 20,
  },
  {
    key: 'Quarterly',
    nickname: 'Quarterly care plan',
    amount: 12_900,
    interval: 'month',
    count: 3,
    weight: 15,
  },
  { key: 'Yearly', nickname: 'Yearly membership', amount: 49_000, interval: 'year', count: 1, weight: 15 },
  { key: 'Weekly', nickname: 'Weekly group session', amount: 1_500, interval: 'week', count: 1, weight: 10 },
] as const;

const FIRST_NAMES = [
  'Ada',
  'Grace',
  'Alan',
  'Edsger',
  'Barbara',
  'Donald',
  'Frances',
  'John',
  'Katherine',
  'Radia',
  'Niklaus',
  'Shafi',
  'Leslie',
  'Hedy',
  'Dennis',
  'Annie',
] as const;
const LAST_NAMES = [
  'Lovelace',
  'Hopper',
  'Turing',
  'Dijkstra',
  'Liskov',
  'Knuth',
  'Allen',
  'Backus',
  'Johnson',
  'Perlman',
  'Wirth',
  'Goldwasser',
  'Lamport',
  'Lamarr',
  'Ritchie',
  'Easley',
] as const;

/** mulberry32: small, fast, deterministic. */
function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4_294_967_296;
  };
}

/** FNV-1a, for an id tag per account and seed. */
function hash(text: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < text.length; i += 1) {
    h ^= text.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  return h >>> 0;
}

function addMonths(at: number, months: number): number {
  const date = new Date(at * 1000);
  const year = date.getUTCFullYear();
  const month = date.getUTCMonth() + months;
  const lastDay = new Date(Date.UTC(year, month + 1, 0)).getUTCDate();
  const day = Math.min(date.getUTCDate(), lastDay);
  return Date.UTC(year, month, day, date.getUTCHours(), date.getUTCMinutes(), date.getUTCSeconds()) / 1000;
}

/** The billing period `[start, end)` that contains `at`, for periods anchored at `anchor`. */
function periodAround(anchor: number, price: ClinicPrice, at: number): [number, number] {
  if (price.interval === 'week') {
    const length = 7 * DAY * price.intervalCount;
    const start = anchor + Math.max(0, Math.floor((at - anchor) / length)) * length;
    return [start, start + length];
  }
  const months = price.intervalCount * (price.interval === 'year' ? 12 : 1);
  let k = Math.max(0, Math.floor((at - anchor) / (months * 30.44 * DAY)));
  while (addMonths(anchor, (k + 1) * months) <= at) k += 1;
  while (k > 0 && addMonths(anchor, k * months) > at) k -= 1;
  return [addMonths(anchor, k * months), addMonths(anchor, (k + 1) * months)];
}

interface SubscriptionPlan {
  readonly index: number;
  readonly id: string;
  readonly customer: StripeObject;
  readonly created: number;
  readonly endedAt: number | null;
  readonly trialEnd: number | null;
  readonly items: readonly { readonly price: ClinicPrice; readonly quantity: number }[];
  readonly object: StripeObject;
}

export function seedClinic(options: SeedClinicOptions): SeededClinic {
  const { now, days } = options;
  const windowDays = options.windowDays ?? 90;
  const seed = options.seed ?? 1;
  const random = prng(hash(`${options.accountId}:${seed}`) ^ seed);
  const between = (lo: number, hi: number) => lo + Math.floor(random() * Math.max(0, hi - lo));
  const chance = (p: number) => random() < p;
  const pick = <T>(list: readonly T[]): T => list[Math.floor(random() * list.length)] as T;
  const tag = hash(`${options.accountId}/${seed}`).toString(36).toUpperCase().padStart(7, '0').slice(0, 7);
  const idFor = (prefix: string, n: number) => `${prefix}${tag}${String(n).padStart(7, '0')}`;

  // One template per kind, which the builders copy shallowly: fast enough for benchmark-sized
  // clinics. Nested defaults (addresses, settings…) are therefore shared between objects.
  const templates = {
    customer: current.customer(),
    subscription: current.subscription(),
    subscriptionItem: current.subscriptionItem(),
    invoice: current.invoice(),
    invoicePayment: current.invoicePayment(),
    paymentIntent: current.paymentIntent(),
    charge: current.charge(),
  };

  const span = Math.max(1, Math.round(days * DAY));
  const start = now - span;
  const windowStart = now - windowDays * DAY;
  /** Moves a time out of the band just after the window's start, and never past `now`. */
  const settle = (at: number) =>
    Math.min(
      now,
      at >= windowStart && at < windowStart + EDGE_GUARD_SECONDS ? windowStart + EDGE_GUARD_SECONDS : at,
    );
  /** The i-th of n times spread evenly over [from, to), jittered. */
  const spread = (i: number, n: number, from: number, to: number) =>
    settle(Math.floor(from + ((i + random()) * (to - from)) / Math.max(1, n)));

  const prices: ClinicPrice[] = PRICE_TABLE.map((row) => {
    const product = `prod_Clinic${row.key}`;
    return {
      ...recurringPrice({
        id: `price_1Clinic${row.key}`,
        product,
        nickname: row.nickname,
        amount: row.amount,
        interval: row.interval,
        intervalCount: row.count,
        created: start - 5 * 365 * DAY,
      }),
      amount: row.amount,
      interval: row.interval,
      intervalCount: row.count,
      product,
      weight: row.weight,
    };
  });
  const totalWeight = prices.reduce((sum, p) => sum + p.weight, 0);
  const pickPrice = () => {
    let roll = random() * totalWeight;
    for (const price of prices) {
      roll -= price.weight;
      if (roll < 0) return price;
    }
    return prices[0] as ClinicPrice;
  };

  // Customers: most created in the span, ~15% long-standing patients from up to 4 years before.
  const customers: StripeObject[] = [];
  const oldCount = Math.round(options.customers * 0.15);
  for (let i = 0; i < options.customers; i += 1) {
    const created =
      i < oldCount
        ? settle(start - between(30 * DAY, 4 * 365 * DAY))
        : spread(i - oldCount, options.customers - oldCount, start, now);
    const first = pick(FIRST_NAMES);
    const last = pick(LAST_NAMES);
    const id = idFor('cus_Q', i);
    customers.push(
      patientCustomer(
        {
          id,
          created,
          firstName: first,
          lastName: last,
          emailTag: String(i),
          phone: `+1415${String(5_550_000 + (i % 10_000)).padStart(7, '0')}`,
          invoicePrefix: `${tag}${i.toString(36).toUpperCase()}`.slice(-8),
          patientRef: `internal-${i}`,
        },
        templates.customer,
      ),
    );
  }
  /** A customer that existed at `at` (random tries, then the oldest). */
  const oldest = customers.reduce<StripeObject | undefined>(
    (best, c) => (!best || (c.created as number) < (best.created as number) ? c : best),
    undefined,
  );
  const customerAt = (at: number): StripeObject | undefined => {
    for (let attempt = 0; attempt < 8; attempt += 1) {
      const candidate = pick(customers);
      if ((candidate.created as number) <= at) return candidate;
    }
    return oldest && (oldest.created as number) <= at ? oldest : undefined;
  };

  // Subscriptions.
  const plans: SubscriptionPlan[] = [];
  for (let i = 0; i < options.subscriptions && customers.length > 0; i += 1) {
    const customer = pick(customers);
    const customerCreated = customer.created as number;
    const roll = random();
    let status: string;
    let created = settle(customerCreated + between(0, Math.min(14 * DAY, now - customerCreated)));
    let endedAt: number | null = null;
    let canceledAt: number | null = null;
    let trialStart: number | null = null;
    let trialEnd: number | null = null;
    if (roll < 0.22) {
      status = 'canceled';
      endedAt = settle(between(created + DAY, Math.max(created + DAY + 1, now)));
      if (endedAt > now) endedAt = now;
      canceledAt = endedAt - (chance(0.5) ? between(0, Math.min(20 * DAY, endedAt - created)) : 0);
    } else if (roll < 0.24 && created < now - 2 * DAY) {
      status = 'incomplete_expired';
      endedAt = settle(created + 23 * 3600);
    } else if (roll < 0.3) {
      status = 'trialing';
      created = settle(Math.max(customerCreated, now - between(0, 13 * DAY)));
      trialStart = created;
      trialEnd = created + 14 * DAY;
    } else if (roll < 0.37) {
      status = 'past_due';
    } else if (roll < 0.4) {
      status = 'unpaid';
    } else {
      status = 'active';
    }
    const id = idFor('sub_1', i);
    const itemCount = chance(0.1) ? 2 : 1;
    const items: { price: ClinicPrice; quantity: number }[] = [];
    for (let n = 0; n < itemCount; n += 1) {
      items.push({ price: pickPrice(), quantity: chance(0.1) ? between(2, 4) : 1 });
    }
    const reference = endedAt ?? now;
    const cancelAtPeriodEnd = status === 'active' && chance(0.05);
    const itemObjects = items.map((item, n) => {
      const [periodStart, periodEnd] =
        trialEnd !== null ? [created, trialEnd] : periodAround(created, item.price, reference);
      return subscriptionItemOf(
        {
          id: `${idFor('si_Q', i)}${n}`,
          subscription: id,
          created,
          period: { start: periodStart, end: periodEnd },
          quantity: item.quantity,
          price: item.price.price,
          plan: item.price.plan,
        },
        templates.subscriptionItem,
      );
    });
    const object = subscriptionOf(
      {
        id,
        customer: customer.id,
        created,
        items: itemObjects,
        defaultPaymentMethod: `pm_1Clinic${tag}${i}`,
        status,
        canceledAt: canceledAt ?? (cancelAtPeriodEnd ? between(created, now) : null),
        endedAt,
        cancelAtPeriodEnd,
        cancellationReason: status === 'canceled' || cancelAtPeriodEnd ? 'cancellation_requested' : null,
        trialStart,
        trialEnd,
      },
      templates.subscription,
    );
    plans.push({ index: i, id, customer, created, endedAt, trialEnd, items, object });
  }
  const aliveAt = (plan: SubscriptionPlan, at: number) =>
    plan.created <= at &&
    (plan.endedAt === null || at < plan.endedAt) &&
    (plan.trialEnd === null || at >= plan.trialEnd);

  // Invoices, with their default InvoicePayment, PaymentIntent and Charge.
  const invoices: StripeObject[] = [];
  const invoicePayments: StripeObject[] = [];
  const paymentIntents: StripeObject[] = [];
  const charges: StripeObject[] = [];
  const latestInvoice = new Map<string, { id: string; created: number }>();
  const sequence = new Map<string, number>();
  for (let i = 0; i < options.invoices; i += 1) {
    let created = spread(i, options.invoices, start, now);
    let plan: SubscriptionPlan | undefined;
    for (let attempt = 0; attempt < 6 && plans.length > 0; attempt += 1) {
      const candidate = pick(plans);
      if (aliveAt(candidate, created)) {
        plan = candidate;
        break;
      }
    }
    let customer = plan?.customer ?? customerAt(created);
    if (!customer) {
      customer = oldest;
      if (!customer) break;
      created = Math.max(created, customer.created as number);
    }
    const total = plan
      ? plan.items.reduce((sum, item) => sum + item.price.amount * item.quantity, 0)
      : between(60, 400) * 100;
    const roll = random();
    let status: string;
    if (created > now - 3600 || roll < 0.015) status = 'draft';
    else if (roll < 0.045) status = 'void';
    else if (roll < 0.075) status = 'uncollectible';
    else if (roll < 0.125) status = 'open';
    else status = 'paid';
    const id = idFor('in_1', i);
    const finalizedAt = status === 'draft' ? null : settle(Math.min(now, created + 3600));
    const paidAt =
      status === 'paid' && finalizedAt !== null
        ? settle(Math.min(now, finalizedAt + between(5, 3600)))
        : null;
    const voidedAt =
      status === 'void' && finalizedAt !== null ? Math.min(now, finalizedAt + between(3600, 5 * DAY)) : null;
    const uncollectibleAt =
      status === 'uncollectible' && finalizedAt !== null
        ? Math.min(now, finalizedAt + between(DAY, 30 * DAY))
        : null;
    const seq = (sequence.get(customer.id as string) ?? 0) + 1;
    sequence.set(customer.id as string, seq);
    const firstItem = plan?.items[0];
    const [periodStart, periodEnd] =
      plan && firstItem ? periodAround(plan.created, firstItem.price, created) : [created, created];
    const period = { start: periodStart, end: periodEnd };
    const lines = plan
      ? plan.items.map((item, n) =>
          subscriptionLineItem({
            id: `${idFor('il_1', i)}${n}`,
            invoice: id,
            subscription: plan.id,
            subscriptionItem: `${idFor('si_Q', plan.index)}${n}`,
            price: item.price.price,
            quantity: item.quantity,
            period,
          }),
        )
      : [
          invoiceItemLineItem({
            id: `${idFor('il_1', i)}0`,
            invoice: id,
            invoiceItem: `ii_1Clinic${tag}${i}`,
            amount: total,
            description: 'Assessment session',
            period,
          }),
        ];
    invoices.push(
      invoiceOf(
        {
          id,
          created,
          customer,
          status,
          number:
            status === 'draft' ? null : `${String(customer.invoice_prefix)}-${String(seq).padStart(4, '0')}`,
          billingReason: plan
            ? created - plan.created < 3600
              ? 'subscription_create'
              : 'subscription_cycle'
            : 'manual',
          subscription: plan ? plan.id : null,
          total,
          lines,
          period,
          attemptCount:
            status === 'paid' ? 1 : status === 'open' || status === 'uncollectible' ? between(1, 4) : 0,
          finalizedAt,
          paidAt,
          voidedAt,
          markedUncollectibleAt: uncollectibleAt,
        },
        templates.invoice,
      ),
    );
    if (plan) {
      const previous = latestInvoice.get(plan.id);
      if (!previous || previous.created <= created) latestInvoice.set(plan.id, { id, created });
    }
    if (finalizedAt === null) continue;

    // Stripe creates the default InvoicePayment and its PaymentIntent when it finalizes an invoice.
    const piId = idFor('pi_3', i);
    const chargeId = idFor('ch_3', i);
    const chargeAt = paidAt ?? Math.min(now, finalizedAt + 60);
    const failed = status === 'open' || status === 'uncollectible';
    invoicePayments.push(
      invoicePaymentOf(
        {
          id: idFor('inpay_1', i),
          created: finalizedAt,
          invoice: id,
          paymentIntent: piId,
          amount: total,
          status: status === 'paid' ? 'paid' : status === 'void' ? 'canceled' : 'open',
          paidAt,
          canceledAt: voidedAt,
        },
        templates.invoicePayment,
      ),
    );
    const description = plan ? 'Subscription update' : 'Payment for Invoice';
    paymentIntents.push(
      paymentIntentOf(
        {
          id: piId,
          secretTag: 'clinic',
          created: finalizedAt,
          amount: total,
          customer,
          description,
          status:
            status === 'paid' ? 'succeeded' : status === 'void' ? 'canceled' : 'requires_payment_method',
          latestCharge: status === 'paid' || failed ? chargeId : null,
          canceledAt: voidedAt,
          cancellationReason: status === 'void' ? 'void_invoice' : null,
          declineCode: failed ? 'insufficient_funds' : null,
        },
        templates.paymentIntent,
      ),
    );
    if (status !== 'paid' && !failed) continue;
    const refunded = status === 'paid' && chance(0.02) ? (chance(0.5) ? total : Math.floor(total / 2)) : 0;
    charges.push(
      chargeOf(
        {
          id: chargeId,
          created: chargeAt,
          paymentIntent: piId,
          customer,
          amount: total,
          amountRefunded: refunded,
          description,
          failureMessage: failed ? 'Your card has insufficient funds.' : null,
          balanceTransaction: `txn_3Clinic${tag}${i}`,
        },
        templates.charge,
      ),
    );
  }
  for (const plan of plans) plan.object.latest_invoice = latestInvoice.get(plan.id)?.id ?? null;

  // One-time payments: succeeded PaymentIntents with a Charge, some refunded, plus abandoned ones.
  const abandoned = Math.round(options.oneTimePayments * 0.06);
  const oneTimeTotal = options.oneTimePayments + abandoned;
  let succeededLeft = options.oneTimePayments;
  for (let i = 0; i < oneTimeTotal; i += 1) {
    const created = spread(i, oneTimeTotal, start, now);
    // Spread the abandoned ones among the others, deterministically.
    const succeeded = succeededLeft > 0 && (succeededLeft >= oneTimeTotal - i || random() >= 0.06);
    if (succeeded) succeededLeft -= 1;
    const customer = chance(0.85) ? customerAt(created) : undefined;
    const amount = between(5, 30) * 1_000;
    const piId = idFor('pi_3O', i);
    const chargeId = idFor('ch_3O', i);
    const hasCharge = succeeded || chance(0.5);
    paymentIntents.push(
      paymentIntentOf(
        {
          id: piId,
          secretTag: 'clinic',
          created,
          amount,
          customer,
          description: 'Clinic visit',
          status: succeeded ? 'succeeded' : hasCharge ? 'requires_payment_method' : 'canceled',
          latestCharge: hasCharge ? chargeId : null,
          canceledAt: succeeded || hasCharge ? null : Math.min(now, created + DAY),
          cancellationReason: succeeded || hasCharge ? null : 'abandoned',
        },
        templates.paymentIntent,
      ),
    );
    if (!hasCharge) continue;
    const roll = random();
    const refunded = !succeeded ? 0 : roll < 0.08 ? amount : roll < 0.13 ? Math.floor(amount / 3) : 0;
    charges.push(
      chargeOf(
        {
          id: chargeId,
          created: Math.min(now, created + 2),
          paymentIntent: piId,
          customer,
          amount,
          amountRefunded: refunded,
          description: 'Clinic visit',
          failureMessage: succeeded ? null : 'Your card was declined.',
          balanceTransaction: `txn_3ClinicO${tag}${i}`,
        },
        templates.charge,
      ),
    );
  }

  // Credit notes and disputes draw from a PRNG of their own: the objects above stay as they were.
  const { creditNotes, disputes } = seedAdjustments({
    invoices,
    invoicePayments,
    charges,
    now,
    windowStart,
    settle,
    idFor,
    random: prng(hash(`${options.accountId}:${seed}:adjustments`) ^ seed),
  });
  const objects = {
    customers,
    subscriptions: plans.map((plan) => plan.object),
    invoices,
    invoicePayments,
    paymentIntents,
    charges,
    creditNotes,
    disputes,
  };
  return { objects, expected: expectedImports(objects, { now, windowDays }) };
}

interface AdjustmentContext {
  readonly invoices: readonly StripeObject[];
  readonly invoicePayments: readonly StripeObject[];
  readonly charges: readonly StripeObject[];
  readonly now: number;
  readonly windowStart: number;
  readonly settle: (at: number) => number;
  readonly idFor: (prefix: string, n: number) => string;
  readonly random: () => number;
}

/** Statuses the seeded disputes of the window take in turn, open and closed ones alike. */
const ONE_TIME_DISPUTE_STATUSES = [
  'lost',
  'won',
  'needs_response',
  'under_review',
  'warning_closed',
] as const;
const INVOICE_DISPUTE_STATUSES = ['needs_response', 'lost', 'won', 'warning_needs_response'] as const;
/** Parts of an invoice's total the seeded credit notes credit, in turn. */
const CREDIT_PARTS = [0.25, 0.5, 0.1, 1] as const;

/** `n` of `list`, spread evenly over it (deterministic, distinct while n <= length). */
function spreadPick<T>(list: readonly T[], n: number): T[] {
  const count = Math.min(n, list.length);
  return Array.from({ length: count }, (_, k) => list[Math.floor(((k + 0.5) * list.length) / count)] as T);
}

/** A few of `list` (at least `min`, else about `share` of it). */
const aFew = (length: number, share: number, min = 2) =>
  Math.min(length, Math.max(min, Math.round(length * share)));

/**
 * Credit notes on paid invoices and disputes on succeeded charges (of one-time payments and of
 * invoices): a few in the window, some of them void or lost, and a couple before it that a
 * backfill of the window must not import. The invoices' `post_payment_credit_notes_amount` and
 * the charges' `disputed` are set to match, as at Stripe. Nothing in the window adjusts an order
 * created before it.
 */
function seedAdjustments(context: AdjustmentContext): {
  creditNotes: StripeObject[];
  disputes: StripeObject[];
} {
  const { now, windowStart, settle, idFor, random } = context;
  const between = (lo: number, hi: number) => lo + Math.floor(random() * Math.max(0, hi - lo));
  /** A time `lo` to `hi` seconds after `at`, squeezed into what is left before `now`. */
  const later = (at: number, lo: number, hi: number) => {
    const room = Math.max(0, now - at);
    return settle(at + between(Math.min(lo, room), Math.min(hi, room)));
  };

  const creditNotes: StripeObject[] = [];
  const credit = (invoice: StripeObject, part: number, created: number, voided: boolean) => {
    const amount = Math.max(1, Math.round((invoice.total as number) * part));
    const seq = creditNotes.filter((c) => c.invoice === invoice.id).length + 1;
    creditNotes.push(
      creditNoteForInvoice(
        invoice,
        {
          id: idFor('cn_1', creditNotes.length),
          amount,
          created,
          number: `${String(invoice.number)}-CN-${String(seq).padStart(2, '0')}`,
        },
        {
          reason: part === 1 ? 'duplicate' : 'product_unsatisfactory',
          status: voided ? 'void' : 'issued',
          voided_at: voided ? later(created, 3_600, 3 * DAY) : null,
        },
      ),
    );
    if (!voided) {
      invoice.post_payment_credit_notes_amount =
        (invoice.post_payment_credit_notes_amount as number) + amount;
    }
  };
  const paidAt = (invoice: StripeObject) => (invoice.status_transitions as StripeObject).paid_at as number;
  const paid = context.invoices.filter((i) => i.status === 'paid');
  const paidInWindow = paid.filter((i) => (i.created as number) >= windowStart);
  spreadPick(paidInWindow, aFew(paidInWindow.length, 0.04)).forEach((invoice, k) => {
    const part = CREDIT_PARTS[k % CREDIT_PARTS.length] as number;
    const created = later(paidAt(invoice), 3_600, 20 * DAY);
    credit(invoice, part, created, k % 4 === 1);
    // The first one is credited twice: the order sums its credit notes.
    if (k === 0) credit(invoice, 0.1, later(created, 60, DAY), false);
  });
  // Before the window: credit notes of invoices paid long before, which the backfill skips.
  const paidLongBefore = paid.filter((i) => paidAt(i) < windowStart - 2 * DAY);
  for (const invoice of spreadPick(paidLongBefore, 2)) {
    credit(invoice, 0.5, paidAt(invoice) + between(60, DAY), false);
  }

  // Disputes: the charge's undisputed, unrefunded amount, a day to a month after it.
  const invoiceOfIntent = new Map<string, string>();
  for (const payment of context.invoicePayments) {
    const intent = idOf((payment.payment as StripeObject | null)?.payment_intent);
    if (intent !== undefined) invoiceOfIntent.set(intent, payment.invoice as string);
  }
  const invoiceCreated = new Map(context.invoices.map((i) => [i.id as string, i.created as number]));
  /** When the order a charge paid was created (its invoice's, or its own for a one-time payment). */
  const orderCreated = (charge: StripeObject) => {
    const invoice = invoiceOfIntent.get(charge.payment_intent as string);
    return invoice === undefined ? (charge.created as number) : (invoiceCreated.get(invoice) as number);
  };
  const disputable = context.charges.filter(
    (c) => c.status === 'succeeded' && (c.amount_refunded as number) < (c.amount as number),
  );
  const inWindow = disputable.filter((c) => orderCreated(c) >= windowStart);
  const disputes: StripeObject[] = [];
  const dispute = (charge: StripeObject, status: string, created: number) => {
    disputes.push(disputeOfCharge(charge, { id: idFor('du_1', disputes.length), created, status }));
    charge.disputed = true;
  };
  for (const [statuses, invoiced] of [
    [ONE_TIME_DISPUTE_STATUSES, false],
    [INVOICE_DISPUTE_STATUSES, true],
  ] as const) {
    const candidates = inWindow.filter((c) => invoiceOfIntent.has(c.payment_intent as string) === invoiced);
    spreadPick(candidates, aFew(candidates.length, 0.02)).forEach((charge, k) => {
      dispute(
        charge,
        statuses[k % statuses.length] as string,
        later(charge.created as number, DAY, 30 * DAY),
      );
    });
  }
  // Before the window: disputes closed long ago, of charges long before it.
  const longBefore = disputable.filter((c) => (c.created as number) < windowStart - 40 * DAY);
  for (const charge of spreadPick(longBefore, 2)) {
    dispute(charge, 'lost', (charge.created as number) + between(DAY, 30 * DAY));
  }
  // One invoice both disputed and credited, if there is a disputed paid one without a credit note.
  const invoicesById = new Map(paidInWindow.map((i) => [i.id as string, i]));
  const both = disputes
    .map((d) => invoicesById.get(invoiceOfIntent.get(d.payment_intent as string) ?? ''))
    .find((i) => i !== undefined && !creditNotes.some((c) => c.invoice === i.id));
  if (both) credit(both, 0.1, later(paidAt(both), 3_600, 20 * DAY), false);
  return { creditNotes, disputes };
}

const FINALIZED = new Set(['open', 'paid', 'uncollectible', 'void']);

/**
 * What a backfill over the last `windowDays` days before `now` imports from these objects, by
 * the rule in README "Backfill" ("What is imported").
 */
export function expectedImports(
  objects: SeedObjects,
  options: { readonly now: number; readonly windowDays?: number },
): ClinicExpectation {
  const windowDays = options.windowDays ?? 90;
  const windowStart = options.now - windowDays * DAY;
  const inWindow = (o: StripeObject) =>
    (o.created as number) >= windowStart && (o.created as number) <= options.now;
  const customerIds = new Set<string>();
  const refer = (value: unknown) => {
    const id = idOf(value);
    if (id !== undefined) customerIds.add(id);
  };
  for (const customer of objects.customers ?? [])
    if (inWindow(customer)) customerIds.add(customer.id as string);
  let subscriptionsCreated = 0;
  for (const subscription of objects.subscriptions ?? []) {
    const endedAt = subscription.ended_at as number | null | undefined;
    if (endedAt !== null && endedAt !== undefined && endedAt < windowStart) continue;
    if ((subscription.created as number) > options.now) continue;
    subscriptionsCreated += 1;
    refer(subscription.customer);
  }
  const orders = new Set<string>();
  let invoiceOrders = 0;
  for (const invoice of objects.invoices ?? []) {
    if (!FINALIZED.has(invoice.status as string) || !inWindow(invoice)) continue;
    invoiceOrders += 1;
    orders.add(invoice.id as string);
    refer(invoice.customer);
  }
  const invoiceOfIntent = new Map<string, string>();
  for (const payment of objects.invoicePayments ?? []) {
    const id = idOf((payment.payment as StripeObject | null | undefined)?.payment_intent);
    const invoice = idOf(payment.invoice);
    if (id !== undefined && invoice !== undefined) invoiceOfIntent.set(id, invoice);
  }
  let oneTimeOrders = 0;
  for (const intent of objects.paymentIntents ?? []) {
    if (intent.status !== 'succeeded' || invoiceOfIntent.has(intent.id as string) || !inWindow(intent))
      continue;
    oneTimeOrders += 1;
    orders.add(intent.id as string);
    refer(intent.customer);
  }
  return {
    windowDays,
    windowStart,
    customersUpserted: customerIds.size,
    subscriptionsCreated,
    ordersCreated: invoiceOrders + oneTimeOrders,
    invoiceOrders,
    oneTimeOrders,
    orderAdjustments: orderAdjustments(objects, { orders, invoiceOfIntent, inWindow }),
  };
}

/** {@link ClinicExpectation.orderAdjustments}: credit notes and disputes of the window, by order. */
function orderAdjustments(
  objects: SeedObjects,
  context: {
    readonly orders: ReadonlySet<string>;
    readonly invoiceOfIntent: ReadonlyMap<string, string>;
    readonly inWindow: (object: StripeObject) => boolean;
  },
): Record<string, OrderAdjustment> {
  const { orders, invoiceOfIntent, inWindow } = context;
  const adjustments = new Map<string, { credited: number; disputes: StripeObject[] }>();
  const of = (orderId: string | undefined) => {
    if (orderId === undefined || !orders.has(orderId)) return undefined;
    let entry = adjustments.get(orderId);
    if (!entry) {
      entry = { credited: 0, disputes: [] };
      adjustments.set(orderId, entry);
    }
    return entry;
  };
  for (const note of objects.creditNotes ?? []) {
    if (!inWindow(note)) continue;
    const entry = of(idOf(note.invoice));
    if (entry && note.status !== 'void') entry.credited += note.amount as number;
  }
  const intentOfCharge = new Map(
    (objects.charges ?? []).map((charge) => [charge.id as string, idOf(charge.payment_intent)]),
  );
  for (const dispute of objects.disputes ?? []) {
    if (!inWindow(dispute)) continue;
    const intent = idOf(dispute.payment_intent) ?? intentOfCharge.get(idOf(dispute.charge) ?? '');
    if (intent === undefined) continue;
    of(invoiceOfIntent.get(intent) ?? intent)?.disputes.push(dispute);
  }
  const sum = (list: readonly StripeObject[]) => list.reduce((total, o) => total + (o.amount as number), 0);
  return Object.fromEntries(
    [...adjustments].map(([orderId, { credited, disputes }]) => {
      const newest = [...disputes].sort(compareNewestFirst)[0];
      return [
        orderId,
        {
          amountCredited: credited,
          amountDisputed: sum(disputes),
          amountLost: sum(disputes.filter((d) => d.status === 'lost')),
          disputeStatus: newest ? (newest.status as string) : null,
        },
      ];
    }),
  );
}

/** How many objects of each kind `objects` holds. */
export function countObjects(objects: SeedObjects): Record<CollectionName, number> {
  return Object.fromEntries(COLLECTION_NAMES.map((name) => [name, objects[name]?.length ?? 0])) as Record<
    CollectionName,
    number
  >;
}

/**
 * How many objects each backfill list holds for a window starting at `windowStart` (epoch
 * seconds): subscriptions are listed whole, the other lists from the window on. A list's ideal
 * cost is `ceil(n / 100)` requests.
 */
export function listedInWindow(
  objects: SeededClinic['objects'],
  windowStart: number,
): Record<BackfillPhase, number> {
  const inWindow = (list: readonly StripeObject[]) =>
    list.filter((o) => (o.created as number) >= windowStart).length;
  return {
    subscriptions: objects.subscriptions.length,
    invoices: inWindow(objects.invoices),
    invoice_payments: inWindow(objects.invoicePayments),
    payment_intents: inWindow(objects.paymentIntents),
    credit_notes: inWindow(objects.creditNotes),
    disputes: inWindow(objects.disputes),
    customers: inWindow(objects.customers),
  };
}
