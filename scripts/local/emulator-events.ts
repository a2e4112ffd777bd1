import { randomBytes } from 'node:crypto';
import type { AccountData } from '../stripe-emulator/account-data.ts';
import {
  application,
  cancellationDetails,
  chargeOf,
  creditNoteForInvoice,
  DAY,
  disputeOfCharge,
  invoiceOf,
  invoicePaymentOf,
  type Payer,
  patientCustomer,
  paymentIntentOf,
  type StripeObject,
  stripeEvent,
  subscriptionItemOf,
  subscriptionLineItem,
  subscriptionOf,
} from '../stripe-emulator/stripe-objects.ts';

/**
 * The events the local Stripe emulator can fire at the Connect webhook endpoint, each with the
 * change it makes to the demo account's own data, so that a later backfill and the events agree
 * (a paid invoice fired here is also listed by `GET /v1/invoices`). Objects are built from the
 * test fixtures (`current` shape: the API version stripe-node speaks), like the seeded clinic.
 *
 * @module
 */

export interface EmulatorEventType {
  readonly type: string;
  /** The button's words on the emulator's page. */
  readonly label: string;
  /** What it does, in a sentence. */
  readonly description: string;
}

/** Every type `npm run dev:events` and the emulator's buttons accept, in the order shown. */
export const EMULATOR_EVENT_TYPES = [
  { type: 'customer.created', label: 'New patient', description: 'A new customer is created.' },
  {
    type: 'customer.updated',
    label: 'Update patient',
    description: 'The newest customer gets new metadata.',
  },
  {
    type: 'customer.deleted',
    label: 'Delete patient',
    description: 'The newest customer without a live subscription is deleted.',
  },
  {
    type: 'customer.subscription.created',
    label: 'New subscription',
    description: 'The newest customer subscribes to a plan the clinic sells.',
  },
  {
    type: 'customer.subscription.updated',
    label: 'Cancel at period end',
    description: 'The newest active subscription is set to cancel at the end of its period.',
  },
  {
    type: 'customer.subscription.deleted',
    label: 'Cancel subscription now',
    description: 'The newest live subscription is canceled at once.',
  },
  {
    type: 'invoice.paid',
    label: 'Invoice paid',
    description:
      'A live subscription is invoiced and paid (invoice_payment.paid is sent first, as Stripe does).',
  },
  {
    type: 'invoice.payment_failed',
    label: 'Invoice payment failed',
    description: 'A live subscription is invoiced and the card is declined; the invoice stays open.',
  },
  { type: 'invoice.voided', label: 'Void invoice', description: 'The newest open invoice is voided.' },
  {
    type: 'payment_intent.succeeded',
    label: 'One-time payment',
    description: 'A patient pays for a visit (a one-time payment with its charge).',
  },
  {
    type: 'charge.refunded',
    label: 'Refund',
    description: 'The newest paid charge that is not yet refunded is refunded in full.',
  },
  {
    type: 'credit_note.created',
    label: 'Credit note',
    description: 'The newest paid invoice not yet fully credited gets a credit note for part of it.',
  },
  {
    type: 'credit_note.voided',
    label: 'Void credit note',
    description: 'The newest issued credit note is voided.',
  },
  {
    type: 'charge.dispute.created',
    label: 'Dispute',
    description: 'The patient’s bank disputes the newest paid charge without a dispute (needs a response).',
  },
  {
    type: 'charge.dispute.closed',
    label: 'Lose dispute',
    description: 'The newest open dispute (not an inquiry) is closed as lost.',
  },
  {
    type: 'account.application.deauthorized',
    label: 'Revoke access from Stripe',
    description: 'The clinic removes Compass in its Stripe dashboard: Compass is disconnected.',
  },
] as const satisfies readonly EmulatorEventType[];

export type EmulatorEventName = (typeof EMULATOR_EVENT_TYPES)[number]['type'];

export function isEmulatorEventName(value: unknown): value is EmulatorEventName {
  return EMULATOR_EVENT_TYPES.some((entry) => entry.type === value);
}

/** A fire that the account's data cannot support (nothing to refund, say): a 409 for the caller. */
export class NothingToChangeError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'NothingToChangeError';
  }
}

export interface EventContext {
  readonly data: AccountData;
  readonly accountId: string;
  /** The platform's Connect client id (the application an account deauthorizes). */
  readonly clientId: string;
  /** Epoch seconds. */
  readonly now: number;
}

/**
 * Applies `type` to the account's data and returns the events Stripe would send for it, oldest
 * first (Connect events: `account` set; test mode).
 */
export function buildEmulatorEvents(type: EmulatorEventName, context: EventContext): StripeObject[] {
  const build = BUILDERS[type];
  return build(context).map(([eventType, object, previousAttributes]) =>
    stripeEvent(eventType, object, {
      id: `evt_1Dev${token(12)}`,
      created: context.now,
      account: context.accountId,
      livemode: false,
      ...(previousAttributes ? { previousAttributes } : {}),
    }),
  );
}

type Built = [type: string, object: StripeObject, previousAttributes?: StripeObject];

const BUILDERS: Readonly<Record<EmulatorEventName, (context: EventContext) => Built[]>> = {
  'customer.created': ({ data, now }) => {
    const customer = newCustomer(now);
    data.customers.add(customer);
    return [['customer.created', customer]];
  },

  'customer.updated': ({ data, now }) => {
    const customer = first(data.customers.all(), () => true, 'No customer to update: fire customer.created');
    const metadata = { ...(customer.metadata as StripeObject), last_visit: isoDate(now) };
    const updated = data.customers.update(customer.id as string, { metadata });
    return [['customer.updated', updated, { metadata: customer.metadata }]];
  },

  'customer.deleted': ({ data }) => {
    const live = new Set(
      data.subscriptions
        .all()
        .filter((s) => isLive(s))
        .map((s) => s.customer),
    );
    const customer = first(
      data.customers.all(),
      (c) => !live.has(c.id),
      'No customer without a live subscription to delete: fire customer.created first',
    );
    data.customers.delete(customer.id as string);
    // Stripe's customer.deleted carries the customer as it was, with `deleted` only in the API.
    return [['customer.deleted', customer]];
  },

  'customer.subscription.created': ({ data, now }) => {
    const customer = first(data.customers.all(), () => true, 'No customer: fire customer.created first');
    const priced = first(
      data.subscriptions.all(),
      (s) => itemsOf(s).length > 0,
      'No plan to subscribe to: the demo account has no subscriptions',
    );
    const template = itemsOf(priced)[0] as StripeObject;
    const id = `sub_1Dev${token(10)}`;
    const periodEnd = now + 30 * DAY;
    const item = subscriptionItemOf({
      id: `si_Dev${token(10)}`,
      subscription: id,
      created: now,
      period: { start: now, end: periodEnd },
      quantity: 1,
      price: template.price,
      plan: template.plan,
    });
    const subscription = subscriptionOf({
      id,
      customer: customer.id,
      created: now,
      items: [item],
      defaultPaymentMethod: `pm_1Dev${token(10)}`,
    });
    data.subscriptions.add(subscription);
    return [['customer.subscription.created', subscription]];
  },

  'customer.subscription.updated': ({ data, now }) => {
    const subscription = first(
      data.subscriptions.all(),
      (s) => s.status === 'active' && s.cancel_at_period_end !== true,
      'No active subscription left to cancel at period end',
    );
    const periodEnd = Math.max(...itemsOf(subscription).map((i) => Number(i.current_period_end ?? now)));
    const updated = data.subscriptions.update(subscription.id as string, {
      cancel_at_period_end: true,
      cancel_at: periodEnd,
      canceled_at: now,
      cancellation_details: cancellationDetails('cancellation_requested'),
    });
    return [
      [
        'customer.subscription.updated',
        updated,
        {
          cancel_at_period_end: false,
          cancel_at: subscription.cancel_at ?? null,
          canceled_at: subscription.canceled_at ?? null,
          cancellation_details: subscription.cancellation_details,
        },
      ],
    ];
  },

  'customer.subscription.deleted': ({ data, now }) => {
    const subscription = first(data.subscriptions.all(), isLive, 'No live subscription to cancel');
    const updated = data.subscriptions.update(subscription.id as string, {
      status: 'canceled',
      ended_at: now,
      canceled_at: subscription.canceled_at ?? now,
      cancel_at_period_end: false,
      cancellation_details: cancellationDetails('cancellation_requested'),
    });
    return [['customer.subscription.deleted', updated]];
  },

  'invoice.paid': (context) => {
    const { invoice, invoicePayment } = newSubscriptionInvoice(context, 'paid');
    return [
      ['invoice_payment.paid', invoicePayment],
      ['invoice.paid', invoice],
    ];
  },

  'invoice.payment_failed': (context) => {
    const { invoice } = newSubscriptionInvoice(context, 'failed');
    return [['invoice.payment_failed', invoice]];
  },

  'invoice.voided': ({ data, now }) => {
    const invoice = first(data.invoices.all(), (i) => i.status === 'open', 'No open invoice to void');
    const transitions = invoice.status_transitions as StripeObject;
    const updated = data.invoices.update(invoice.id as string, {
      status: 'void',
      amount_remaining: 0,
      auto_advance: false,
      status_transitions: { ...transitions, voided_at: now },
    });
    for (const payment of data.invoicePaymentsOf(invoice.id as string)) {
      data.invoicePayments.update(payment.id as string, {
        status: 'canceled',
        status_transitions: { ...(payment.status_transitions as StripeObject), canceled_at: now },
      });
      const intent = (payment.payment as StripeObject | null)?.payment_intent;
      if (typeof intent === 'string' && data.paymentIntents.has(intent)) {
        data.paymentIntents.update(intent, {
          status: 'canceled',
          canceled_at: now,
          cancellation_reason: 'void_invoice',
        });
      }
    }
    return [['invoice.voided', updated, { status: 'open' }]];
  },

  'payment_intent.succeeded': ({ data, now }) => {
    const customer = data.customers.all()[0];
    const amount = (5 + Math.floor(Math.random() * 26)) * 1_000;
    const intentId = `pi_3Dev${token(12)}`;
    const chargeId = `ch_3Dev${token(12)}`;
    const intent = paymentIntentOf({
      id: intentId,
      secretTag: 'dev',
      created: now,
      amount,
      customer,
      description: 'Clinic visit',
      status: 'succeeded',
      latestCharge: chargeId,
    });
    data.paymentIntents.add(intent);
    data.charges.add(
      chargeOf({
        id: chargeId,
        created: now,
        paymentIntent: intentId,
        customer,
        amount,
        description: 'Clinic visit',
        balanceTransaction: `txn_3Dev${token(10)}`,
      }),
    );
    return [['payment_intent.succeeded', intent]];
  },

  'charge.refunded': ({ data }) => {
    const charge = first(
      data.charges.all(),
      (c) => c.status === 'succeeded' && Number(c.amount_refunded) < Number(c.amount),
      'No paid charge left to refund',
    );
    const updated = data.charges.update(charge.id as string, {
      amount_refunded: charge.amount,
      refunded: true,
    });
    return [
      ['charge.refunded', updated, { amount_refunded: charge.amount_refunded, refunded: charge.refunded }],
    ];
  },

  'credit_note.created': ({ data, now }) => {
    const credited = (invoice: StripeObject) => Number(invoice.post_payment_credit_notes_amount ?? 0);
    const invoice = first(
      data.invoices.all(),
      (i) => i.status === 'paid' && credited(i) < Number(i.amount_paid),
      'No paid invoice left to credit: fire invoice.paid first',
    );
    const left = Number(invoice.amount_paid) - credited(invoice);
    const amount = Math.min(left, Math.max(1, Math.round(Number(invoice.total) * 0.2)));
    const creditNote = creditNoteForInvoice(invoice, {
      id: `cn_1Dev${token(12)}`,
      amount,
      created: now,
      number: `${String(invoice.number)}-CN-${token(4)}`,
    });
    data.creditNotes.add(creditNote);
    data.invoices.update(invoice.id as string, {
      post_payment_credit_notes_amount: credited(invoice) + amount,
    });
    return [['credit_note.created', creditNote]];
  },

  'credit_note.voided': ({ data, now }) => {
    const creditNote = first(
      data.creditNotes.all(),
      (c) => c.status === 'issued',
      'No issued credit note to void: fire credit_note.created first',
    );
    const voided = data.creditNotes.update(creditNote.id as string, { status: 'void', voided_at: now });
    const invoice = data.invoices.get(creditNote.invoice as string);
    if (invoice) {
      const credited = Number(invoice.post_payment_credit_notes_amount ?? 0) - Number(creditNote.amount);
      data.invoices.update(invoice.id as string, { post_payment_credit_notes_amount: Math.max(0, credited) });
    }
    return [['credit_note.voided', voided]];
  },

  'charge.dispute.created': ({ data, now }) => {
    const disputed = new Set(data.disputes.all().map((d) => d.charge));
    const charge = first(
      data.charges.all(),
      (c) => c.status === 'succeeded' && Number(c.amount_refunded) < Number(c.amount) && !disputed.has(c.id),
      'No paid charge left to dispute: fire payment_intent.succeeded first',
    );
    const dispute = disputeOfCharge(charge, { id: `du_1Dev${token(12)}`, created: now });
    data.disputes.add(dispute);
    data.charges.update(charge.id as string, { disputed: true });
    return [['charge.dispute.created', dispute]];
  },

  'charge.dispute.closed': ({ data }) => {
    const dispute = first(
      data.disputes.all(),
      (d) => OPEN_DISPUTE_STATUSES.has(d.status as string),
      'No open dispute to close: fire charge.dispute.created first',
    );
    const closed = data.disputes.update(dispute.id as string, {
      status: 'lost',
      evidence_details: { ...(dispute.evidence_details as StripeObject), due_by: null },
    });
    return [['charge.dispute.closed', closed]];
  },

  'account.application.deauthorized': ({ clientId }) => [
    ['account.application.deauthorized', application({ id: clientId, name: 'Compass (local)' })],
  ],
};

const FIRST_NAMES = ['Ada', 'Grace', 'Alan', 'Hedy', 'Radia', 'Annie', 'Edsger', 'Barbara'] as const;
const LAST_NAMES = [
  'Lovelace',
  'Hopper',
  'Turing',
  'Lamarr',
  'Perlman',
  'Easley',
  'Dijkstra',
  'Liskov',
] as const;

/** A patient as Stripe sends it: with name, email and phone (which the records must drop). */
function newCustomer(now: number): StripeObject {
  const tag = token(10);
  const firstName = pick(FIRST_NAMES);
  const lastName = pick(LAST_NAMES);
  return patientCustomer({
    id: `cus_QDev${tag}`,
    created: now,
    firstName,
    lastName,
    emailTag: `.${tag}`,
    phone: `+1415555${String(Math.floor(Math.random() * 10_000)).padStart(4, '0')}`,
    invoicePrefix: tag.slice(0, 8),
    patientRef: `dev-${tag}`,
  });
}

/**
 * A new invoice of a live subscription, finalized now, with the default InvoicePayment, its
 * PaymentIntent and a Charge, as Stripe creates them; `paid`, or `failed` (stays open).
 */
function newSubscriptionInvoice(
  { data, now }: EventContext,
  outcome: 'paid' | 'failed',
): { invoice: StripeObject; invoicePayment: StripeObject } {
  const subscription = first(
    data.subscriptions.all(),
    (s) => s.status === 'active' || s.status === 'past_due',
    'No active subscription to invoice: fire customer.subscription.created first',
  );
  const customer = data.customers.get(subscription.customer as string);
  const payer: Payer = customer ?? { id: subscription.customer };
  const items = itemsOf(subscription);
  const total = items.reduce(
    (sum, item) => sum + Number((item.price as StripeObject).unit_amount ?? 0) * Number(item.quantity ?? 1),
    0,
  );
  const paid = outcome === 'paid';
  const id = `in_1Dev${token(12)}`;
  const intentId = `pi_3Dev${token(12)}`;
  const chargeId = `ch_3Dev${token(12)}`;
  const period = { start: now, end: now + 30 * DAY };
  const lines = items.map((item, n) =>
    subscriptionLineItem({
      id: `il_1Dev${token(8)}${n}`,
      invoice: id,
      subscription: subscription.id,
      subscriptionItem: item.id,
      price: item.price as StripeObject,
      quantity: Number(item.quantity ?? 1),
      period,
    }),
  );
  const invoice = invoiceOf({
    id,
    created: now,
    customer: payer,
    status: paid ? 'paid' : 'open',
    number: `${String(customer?.invoice_prefix ?? 'DEV')}-${token(4)}`,
    billingReason: 'subscription_cycle',
    subscription: subscription.id as string,
    total,
    lines,
    period,
    attemptCount: 1,
    finalizedAt: now,
    paidAt: paid ? now : null,
  });
  const invoicePayment = invoicePaymentOf({
    id: `inpay_1Dev${token(12)}`,
    created: now,
    invoice: id,
    paymentIntent: intentId,
    amount: total,
    status: paid ? 'paid' : 'open',
    paidAt: paid ? now : null,
  });
  const intent = paymentIntentOf({
    id: intentId,
    secretTag: 'dev',
    created: now,
    amount: total,
    customer: payer,
    description: 'Subscription update',
    status: paid ? 'succeeded' : 'requires_payment_method',
    latestCharge: chargeId,
    declineCode: paid ? null : 'insufficient_funds',
  });
  const charge = chargeOf({
    id: chargeId,
    created: now,
    paymentIntent: intentId,
    customer,
    amount: total,
    description: 'Subscription update',
    failureMessage: paid ? null : 'Your card has insufficient funds.',
    balanceTransaction: `txn_3Dev${token(10)}`,
  });
  data.invoices.add(invoice);
  data.invoicePayments.add(invoicePayment);
  data.paymentIntents.add(intent);
  data.charges.add(charge);
  data.subscriptions.update(subscription.id as string, { latest_invoice: id });
  return { invoice, invoicePayment };
}

/**
 * Disputes the bank has not decided yet, and that can be lost (an inquiry, `warning_*`, closes as
 * `warning_closed` instead, so it is not one of them).
 */
const OPEN_DISPUTE_STATUSES = new Set(['needs_response', 'under_review']);

/** Live: billing or about to (what a cancellation can still end). */
function isLive(subscription: StripeObject): boolean {
  return ['active', 'past_due', 'unpaid', 'trialing'].includes(subscription.status as string);
}

function itemsOf(subscription: StripeObject): StripeObject[] {
  return ((subscription.items as StripeObject | undefined)?.data ?? []) as StripeObject[];
}

/** The newest object that matches (lists are newest first), or a 409 saying what is missing. */
function first(
  objects: readonly StripeObject[],
  predicate: (object: StripeObject) => boolean,
  missing: string,
): StripeObject {
  const found = objects.find(predicate);
  if (!found) throw new NothingToChangeError(missing);
  return found;
}

/** Stripe-like id characters; random so events and objects never collide across restarts. */
function token(length: number): string {
  const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789';
  return Array.from(randomBytes(length), (byte) => alphabet[byte % alphabet.length]).join('');
}

function pick<T>(values: readonly T[]): T {
  return values[Math.floor(Math.random() * values.length)] as T;
}

function isoDate(epochSeconds: number): string {
  return new Date(epochSeconds * 1000).toISOString().slice(0, 10);
}
