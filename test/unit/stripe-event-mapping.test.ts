import { describe, expect, it } from 'vitest';
import type {
  EventMapping,
  OrderRecord,
  RecordChange,
  StripeEventEnvelope,
  SubscriptionRecord,
} from '#shared/domain/records.ts';
import { parseStripeEvent } from '#shared/domain/stripe-event-envelope.ts';
import { HANDLED_STRIPE_EVENT_TYPES, mapStripeEvent } from '#shared/domain/stripe-event-mapping.ts';
import { mapCustomerObject } from '#shared/domain/stripe-kinds/customer.ts';
import { mapInvoiceObject } from '#shared/domain/stripe-kinds/invoice-order.ts';
import { mapSubscriptionObject } from '#shared/domain/stripe-kinds/subscription.ts';
import {
  CONNECTED_ACCOUNT_ID,
  CURRENT_API_VERSION,
  current,
  DAY,
  ids,
  LEGACY_API_VERSION,
  legacy,
  list,
  PHI,
  PHI_STRINGS,
  type StripeObject,
  stripeEvent,
  T0,
  without,
} from '../../scripts/stripe-emulator/stripe-objects.ts';

const EVENT_CREATED = T0 + 4_000;

function iso(epochSeconds: number): string {
  return new Date(epochSeconds * 1000).toISOString();
}

/** Parses a webhook body as it comes off the wire (through JSON), failing the test if it is not an event. */
function parse(body: StripeObject): StripeEventEnvelope {
  const envelope = parseStripeEvent(JSON.parse(JSON.stringify(body)));
  if (envelope === undefined) {
    throw new Error('fixture is not a Stripe event');
  }
  return envelope;
}

/** Builds the event of one shape, sends it through JSON and the parser, and maps it. */
function map(shape: typeof legacy | typeof current, type: string, object: StripeObject): EventMapping {
  return mapStripeEvent(parse(shape.event(type, object, { created: EVENT_CREATED })));
}

function changesOf(mapping: EventMapping): readonly RecordChange[] {
  if (mapping.outcome !== 'changes') {
    throw new Error(`ignored: ${mapping.reason}`);
  }
  return mapping.changes;
}

const shapes = [
  ['legacy (2024-06-20)', legacy],
  ['current (2026-10-28.endive)', current],
] as const;

const subscriptionRecord: SubscriptionRecord = {
  id: ids.subscription,
  customerId: ids.customer,
  status: 'active',
  currency: 'usd',
  items: [
    {
      priceId: ids.price,
      productId: ids.product,
      unitAmount: 4_900,
      quantity: 1,
      interval: 'month',
      intervalCount: 1,
    },
  ],
  mrr: 4_900,
  cancelAtPeriodEnd: false,
  canceledAt: null,
  endedAt: null,
  trialEnd: null,
  currentPeriodEnd: '2026-02-01T00:00:00.000Z',
  startDate: '2026-01-01T00:00:00.000Z',
  created: '2026-01-01T00:00:00.000Z',
};

const invoiceOrder: OrderRecord = {
  id: ids.invoice,
  kind: 'invoice',
  status: 'paid',
  amount: 4_900,
  amountPaid: 4_900,
  currency: 'usd',
  customerId: ids.customer,
  subscriptionId: ids.subscription,
  created: '2026-01-01T00:00:00.000Z',
  paidAt: iso(T0 + 3_630),
};

const oneTimeOrder: OrderRecord = {
  id: ids.oneTimePaymentIntent,
  kind: 'one_time',
  status: 'succeeded',
  amount: 12_000,
  amountPaid: 12_000,
  currency: 'usd',
  customerId: ids.customer,
  subscriptionId: null,
  created: iso(T0 + 30),
  paidAt: iso(EVENT_CREATED),
};

describe('parseStripeEvent', () => {
  it.each(shapes)('reads the envelope of a %s event', (_name, shape) => {
    // Arrange
    const body = shape.event('customer.created', shape.customer(), {
      id: 'evt_1QFixtureParse',
      created: EVENT_CREATED,
    });

    // Act
    const envelope = parseStripeEvent(JSON.parse(JSON.stringify(body)));

    // Assert
    expect(envelope).toEqual({
      id: 'evt_1QFixtureParse',
      type: 'customer.created',
      created: EVENT_CREATED,
      livemode: false,
      account: null,
      apiVersion: shape.apiVersion,
      object: shape.customer(),
    });
  });

  it('keeps the connected account and livemode of a Connect delivery', () => {
    // Arrange
    const body = stripeEvent(
      'account.application.deauthorized',
      {},
      { account: CONNECTED_ACCOUNT_ID, livemode: true },
    );

    // Act
    const envelope = parseStripeEvent(body);

    // Assert
    expect(envelope).toMatchObject({
      account: CONNECTED_ACCOUNT_ID,
      livemode: true,
      apiVersion: CURRENT_API_VERSION,
    });
  });

  it.each([
    ['null', null],
    ['absent', undefined],
  ])('turns an api_version that is %s into null', (_name, apiVersion) => {
    // Arrange
    const body = stripeEvent('customer.created', current.customer(), { apiVersion: LEGACY_API_VERSION });
    body.api_version = apiVersion;

    // Act
    const envelope = parseStripeEvent(JSON.parse(JSON.stringify(body)));

    // Assert
    expect(envelope?.apiVersion).toBeNull();
  });

  it('accepts the longest id and type allowed', () => {
    // Arrange
    const body = stripeEvent(`${'x'.repeat(99)}y`, {}, { id: `evt_${'A'.repeat(251)}` });

    // Act
    const envelope = parseStripeEvent(body);

    // Assert
    expect(envelope?.id).toHaveLength(255);
    expect(envelope?.type).toHaveLength(100);
  });

  const valid = (): StripeObject => stripeEvent('customer.created', current.customer());
  const withField = (key: string, value: unknown): StripeObject => ({ ...valid(), [key]: value });

  it.each<[string, unknown]>([
    ['null', null],
    ['undefined', undefined],
    ['a string', JSON.stringify(valid())],
    ['a number', 42],
    ['an empty array', []],
    ['an array holding an event', [valid()]],
    ['an empty object', {}],
    ['a customer (object: customer)', current.customer()],
    ['an event object with object: "customer"', withField('object', 'customer')],
    ['an event without object', without(valid(), 'object')],
    ['an event without data', without(valid(), 'data')],
    ['an event whose data is not an object', withField('data', 'customer')],
    ['an event without data.object', withField('data', {})],
    ['an event whose data.object is null', withField('data', { object: null })],
    ['an event whose data.object is an array', withField('data', { object: [current.customer()] })],
    ['an event whose data.object is a string', withField('data', { object: ids.customer })],
    ['an id that is not evt_', withField('id', 'cus_QFixturePatient1')],
    ['an id of evt_ alone', withField('id', 'evt_')],
    ['an id with a hyphen', withField('id', 'evt_abc-def')],
    ['an id with a newline', withField('id', 'evt_abc\n')],
    ['an id longer than 255', withField('id', `evt_${'A'.repeat(252)}`)],
    ['a numeric id', withField('id', 123)],
    ['a missing id', without(valid(), 'id')],
    ['an empty type', withField('type', '')],
    ['a type longer than 100', withField('type', 'x'.repeat(101))],
    ['a numeric type', withField('type', 7)],
    ['a missing type', without(valid(), 'type')],
    ['created as a string', withField('created', String(T0))],
    ['created as 0', withField('created', 0)],
    ['created negative', withField('created', -T0)],
    ['created fractional', withField('created', T0 + 0.5)],
    ['created missing', without(valid(), 'created')],
    ['livemode as a string', withField('livemode', 'false')],
    ['livemode missing', without(valid(), 'livemode')],
    ['account as a number', withField('account', 12)],
    ['account as an object', withField('account', { id: CONNECTED_ACCOUNT_ID })],
    ['api_version as a number', withField('api_version', 20240620)],
  ])('rejects %s', (_name, value) => {
    // Act
    const envelope = parseStripeEvent(value);

    // Assert
    expect(envelope).toBeUndefined();
  });
});

describe('mapStripeEvent', () => {
  describe.each(shapes)('customers, %s', (_name, shape) => {
    it.each(['customer.created', 'customer.updated'])('maps %s to the customer record', (type) => {
      // Act
      const mapping = map(shape, type, shape.customer());

      // Assert
      expect(mapping).toEqual({
        outcome: 'changes',
        changes: [
          {
            kind: 'customer',
            record: { id: ids.customer, created: '2026-01-01T00:00:00.000Z', deleted: false },
          },
        ],
      });
    });

    it('maps customer.deleted to a tombstone', () => {
      // Act
      const mapping = map(shape, 'customer.deleted', shape.customer());

      // Assert
      expect(mapping).toEqual({
        outcome: 'changes',
        changes: [
          {
            kind: 'customer',
            record: { id: ids.customer, created: '2026-01-01T00:00:00.000Z', deleted: true },
          },
        ],
      });
    });

    it('maps a customer.deleted payload without created', () => {
      // Act
      const mapping = map(shape, 'customer.deleted', without(shape.customer(), 'created'));

      // Assert
      expect(mapping).toEqual({
        outcome: 'changes',
        changes: [{ kind: 'customer', record: { id: ids.customer, created: null, deleted: true } }],
      });
    });
  });

  describe.each(shapes)('subscriptions, %s', (_name, shape) => {
    it.each(['customer.subscription.created', 'customer.subscription.updated'])(
      'maps %s to the subscription record',
      (type) => {
        // Act
        const mapping = map(shape, type, shape.subscription());

        // Assert
        expect(mapping).toEqual({
          outcome: 'changes',
          changes: [{ kind: 'subscription', record: subscriptionRecord }],
        });
      },
    );

    it('maps customer.subscription.deleted to a canceled subscription worth no MRR', () => {
      // Arrange
      const subscription = shape.subscription({
        status: 'canceled',
        canceled_at: T0 + 10 * DAY,
        ended_at: T0 + 10 * DAY,
        cancellation_details: {
          comment: PHI.description,
          feedback: 'too_expensive',
          reason: 'cancellation_requested',
        },
      });

      // Act
      const mapping = map(shape, 'customer.subscription.deleted', subscription);

      // Assert
      expect(mapping).toEqual({
        outcome: 'changes',
        changes: [
          {
            kind: 'subscription',
            record: {
              ...subscriptionRecord,
              status: 'canceled',
              mrr: 0,
              canceledAt: iso(T0 + 10 * DAY),
              endedAt: iso(T0 + 10 * DAY),
            },
          },
        ],
      });
    });

    it('maps a trial: no MRR yet, and its end', () => {
      // Arrange
      const subscription = shape.subscription({
        status: 'trialing',
        trial_start: T0,
        trial_end: T0 + 14 * DAY,
      });

      // Act
      const mapping = map(shape, 'customer.subscription.created', subscription);

      // Assert
      expect(mapping).toEqual({
        outcome: 'changes',
        changes: [
          {
            kind: 'subscription',
            record: { ...subscriptionRecord, status: 'trialing', mrr: 0, trialEnd: iso(T0 + 14 * DAY) },
          },
        ],
      });
    });

    it('keeps MRR for past_due and a cancellation at period end', () => {
      // Arrange
      const subscription = shape.subscription({
        status: 'past_due',
        cancel_at_period_end: true,
        cancel_at: T0 + 31 * DAY,
        canceled_at: T0 + 5 * DAY,
      });

      // Act
      const mapping = map(shape, 'customer.subscription.updated', subscription);

      // Assert
      expect(mapping).toEqual({
        outcome: 'changes',
        changes: [
          {
            kind: 'subscription',
            record: {
              ...subscriptionRecord,
              status: 'past_due',
              cancelAtPeriodEnd: true,
              canceledAt: iso(T0 + 5 * DAY),
            },
          },
        ],
      });
    });

    it('reads expanded customer and product objects as their ids', () => {
      // Arrange
      const subscription = shape.subscription({
        customer: shape.customer(),
        items: list([
          shape.subscriptionItem({
            price: shape.price({ product: { id: ids.product, object: 'product', name: 'Therapy' } }),
          }),
        ]),
      });

      // Act
      const mapping = map(shape, 'customer.subscription.updated', subscription);

      // Assert
      expect(mapping).toEqual({
        outcome: 'changes',
        changes: [{ kind: 'subscription', record: subscriptionRecord }],
      });
    });

    it('maps several items with their intervals, quantities and MRR', () => {
      // Arrange
      const subscription = shape.subscription({
        items: list([
          shape.subscriptionItem({ quantity: 3 }),
          shape.subscriptionItem({
            id: 'si_QFixtureYearly',
            price: shape.price({
              id: 'price_1QFixtureYearly',
              unit_amount: 120_000,
              unit_amount_decimal: '120000',
              recurring: {
                interval: 'year',
                interval_count: 1,
                meter: null,
                trial_period_days: null,
                usage_type: 'licensed',
              },
            }),
          }),
          shape.subscriptionItem({
            id: 'si_QFixtureQuarterly',
            quantity: 2,
            price: shape.price({
              id: 'price_1QFixtureQuarterly',
              unit_amount: 9_000,
              unit_amount_decimal: '9000',
              recurring: {
                interval: 'month',
                interval_count: 3,
                meter: null,
                trial_period_days: null,
                usage_type: 'licensed',
              },
            }),
          }),
        ]),
      });

      // Act
      const mapping = map(shape, 'customer.subscription.updated', subscription);

      // Assert
      expect(mapping).toEqual({
        outcome: 'changes',
        changes: [
          {
            kind: 'subscription',
            record: {
              ...subscriptionRecord,
              items: [
                { ...subscriptionRecord.items[0], quantity: 3 },
                {
                  priceId: 'price_1QFixtureYearly',
                  productId: ids.product,
                  unitAmount: 120_000,
                  quantity: 1,
                  interval: 'year',
                  intervalCount: 1,
                },
                {
                  priceId: 'price_1QFixtureQuarterly',
                  productId: ids.product,
                  unitAmount: 9_000,
                  quantity: 2,
                  interval: 'month',
                  intervalCount: 3,
                },
              ],
              mrr: 3 * 4_900 + 10_000 + 6_000,
            },
          },
        ],
      });
    });

    it('maps a tiered price without a unit amount, leaving it out of MRR', () => {
      // Arrange
      const subscription = shape.subscription({
        items: list([shape.subscriptionItem({ price: shape.tieredPrice(), quantity: 40 })]),
      });

      // Act
      const mapping = map(shape, 'customer.subscription.updated', subscription);

      // Assert
      expect(mapping).toEqual({
        outcome: 'changes',
        changes: [
          {
            kind: 'subscription',
            record: {
              ...subscriptionRecord,
              items: [
                {
                  ...subscriptionRecord.items[0],
                  priceId: 'price_1QFixtureTiered',
                  unitAmount: null,
                  quantity: 40,
                },
              ],
              mrr: 0,
            },
          },
        ],
      });
    });

    it('falls back to unit_amount_decimal, rounded, when unit_amount is null', () => {
      // Arrange
      const subscription = shape.subscription({
        items: list([
          shape.subscriptionItem({
            price: shape.price({ unit_amount: null, unit_amount_decimal: '1234.5' }),
          }),
        ]),
      });

      // Act
      const mapping = map(shape, 'customer.subscription.updated', subscription);

      // Assert
      expect(mapping).toEqual({
        outcome: 'changes',
        changes: [
          {
            kind: 'subscription',
            record: {
              ...subscriptionRecord,
              items: [{ ...subscriptionRecord.items[0], unitAmount: 1_235 }],
              mrr: 1_235,
            },
          },
        ],
      });
    });

    it('counts a metered item without quantity as 1', () => {
      // Arrange
      const subscription = shape.subscription({
        items: list([without(shape.subscriptionItem(), 'quantity')]),
      });

      // Act
      const mapping = map(shape, 'customer.subscription.updated', subscription);

      // Assert
      expect(mapping).toEqual({
        outcome: 'changes',
        changes: [{ kind: 'subscription', record: subscriptionRecord }],
      });
    });

    it('takes the currency of the first price when the subscription has none', () => {
      // Arrange
      const subscription = without(
        shape.subscription({
          items: list([shape.subscriptionItem({ price: shape.price({ currency: 'eur' }) })]),
        }),
        'currency',
      );

      // Act
      const mapping = map(shape, 'customer.subscription.updated', subscription);

      // Assert
      expect(mapping).toEqual({
        outcome: 'changes',
        changes: [{ kind: 'subscription', record: { ...subscriptionRecord, currency: 'eur' } }],
      });
    });

    it('maps a legacy plan-only item (no price)', () => {
      // Arrange
      const plan = legacy.plan({
        id: 'plan_gold_yearly',
        amount: 60_000,
        amount_decimal: '60000',
        interval: 'year',
        interval_count: 2,
        product: { id: 'prod_Gold', object: 'product' },
      });
      const subscription = shape.subscription({
        items: list([without(shape.subscriptionItem({ plan }), 'price')]),
      });

      // Act
      const mapping = map(shape, 'customer.subscription.updated', subscription);

      // Assert
      expect(mapping).toEqual({
        outcome: 'changes',
        changes: [
          {
            kind: 'subscription',
            record: {
              ...subscriptionRecord,
              items: [
                {
                  priceId: 'plan_gold_yearly',
                  productId: 'prod_Gold',
                  unitAmount: 60_000,
                  quantity: 1,
                  interval: 'year',
                  intervalCount: 2,
                },
              ],
              mrr: 2_500,
            },
          },
        ],
      });
    });

    it('keeps an interval word it does not know, as null, worth no MRR', () => {
      // Arrange
      const subscription = shape.subscription({
        items: list([
          shape.subscriptionItem({
            price: shape.price({
              recurring: { interval: 'quarter', interval_count: 1, usage_type: 'licensed' },
            }),
          }),
        ]),
      });

      // Act
      const mapping = map(shape, 'customer.subscription.updated', subscription);

      // Assert
      expect(mapping).toEqual({
        outcome: 'changes',
        changes: [
          {
            kind: 'subscription',
            record: {
              ...subscriptionRecord,
              items: [{ ...subscriptionRecord.items[0], interval: null }],
              mrr: 0,
            },
          },
        ],
      });
    });
  });

  describe('subscription billing periods across API versions', () => {
    it('reads current_period_end from the subscription in older payloads', () => {
      // Arrange
      const subscription = legacy.subscription({ current_period_end: T0 + 40 * DAY });

      // Act
      const mapping = map(legacy, 'customer.subscription.updated', subscription);

      // Assert
      expect(mapping).toEqual({
        outcome: 'changes',
        changes: [
          { kind: 'subscription', record: { ...subscriptionRecord, currentPeriodEnd: iso(T0 + 40 * DAY) } },
        ],
      });
    });

    it('takes the latest current_period_end of the items in basil and later payloads', () => {
      // Arrange
      const subscription = current.subscription({
        items: list([
          current.subscriptionItem({ current_period_end: T0 + 31 * DAY }),
          current.subscriptionItem({ id: 'si_QFixtureItem2', current_period_end: T0 + 365 * DAY }),
          current.subscriptionItem({ id: 'si_QFixtureItem3', current_period_end: T0 + 7 * DAY }),
        ]),
      });

      // Act
      const mapping = map(current, 'customer.subscription.updated', subscription);

      // Assert
      expect(mapping).toMatchObject({
        changes: [
          { kind: 'subscription', record: { currentPeriodEnd: iso(T0 + 365 * DAY), mrr: 3 * 4_900 } },
        ],
      });
    });

    it('has no period end when neither the subscription nor its items say', () => {
      // Arrange
      const subscription = current.subscription({
        items: list([without(current.subscriptionItem(), 'current_period_end', 'current_period_start')]),
      });

      // Act
      const mapping = map(current, 'customer.subscription.updated', subscription);

      // Assert
      expect(mapping).toMatchObject({ changes: [{ record: { currentPeriodEnd: null } }] });
    });
  });

  describe('invoices', () => {
    it('maps a legacy invoice.paid to the order alone (its payment intent names the invoice itself)', () => {
      // Act
      const mapping = map(legacy, 'invoice.paid', legacy.invoice());

      // Assert
      expect(mapping).toEqual({
        outcome: 'changes',
        changes: [{ kind: 'order', record: invoiceOrder }],
      });
    });

    it('maps a current invoice.paid to the order, its subscription read from parent', () => {
      // Act
      const mapping = map(current, 'invoice.paid', current.invoice());

      // Assert
      expect(mapping).toEqual({ outcome: 'changes', changes: [{ kind: 'order', record: invoiceOrder }] });
    });

    const failedInvoice = {
      status: 'open',
      amount_paid: 0,
      amount_remaining: 4_900,
      status_transitions: {
        finalized_at: T0 + 3_600,
        marked_uncollectible_at: null,
        paid_at: null,
        voided_at: null,
      },
    };
    const voidedInvoice = {
      status: 'void',
      amount_paid: 0,
      amount_remaining: 0,
      status_transitions: {
        finalized_at: T0 + 3_600,
        marked_uncollectible_at: null,
        paid_at: null,
        voided_at: T0 + DAY,
      },
    };

    it('maps a legacy invoice.payment_failed to an open order, still linking the payment intent', () => {
      // Act
      const mapping = map(
        legacy,
        'invoice.payment_failed',
        legacy.invoice({ ...failedInvoice, paid: false }),
      );

      // Assert
      expect(mapping).toEqual({
        outcome: 'changes',
        changes: [
          { kind: 'order', record: { ...invoiceOrder, status: 'open', amountPaid: 0, paidAt: null } },
        ],
      });
    });

    it('maps a current invoice.payment_failed to an open order', () => {
      // Act
      const mapping = map(current, 'invoice.payment_failed', current.invoice(failedInvoice));

      // Assert
      expect(mapping).toEqual({
        outcome: 'changes',
        changes: [
          { kind: 'order', record: { ...invoiceOrder, status: 'open', amountPaid: 0, paidAt: null } },
        ],
      });
    });

    it.each(shapes)('maps a %s invoice.voided to a void order', (_name, shape) => {
      // Arrange
      const invoice =
        shape === legacy
          ? legacy.invoice({ ...voidedInvoice, paid: false, payment_intent: null })
          : current.invoice(voidedInvoice);

      // Act
      const mapping = map(shape, 'invoice.voided', invoice);

      // Assert
      expect(mapping).toEqual({
        outcome: 'changes',
        changes: [
          { kind: 'order', record: { ...invoiceOrder, status: 'void', amountPaid: 0, paidAt: null } },
        ],
      });
    });

    it.each([
      ['invoice.paid', 'paid'],
      ['invoice.voided', 'void'],
      ['invoice.payment_failed', 'open'],
    ])('gives %s without a status the status %j', (type, status) => {
      // Act
      const mapping = map(current, type, without(current.invoice(), 'status'));

      // Assert
      expect(mapping).toMatchObject({ outcome: 'changes', changes: [{ kind: 'order', record: { status } }] });
    });

    it.each(shapes)('ignores a %s draft invoice', (_name, shape) => {
      // Act
      const mapping = map(shape, 'invoice.voided', shape.invoice({ status: 'draft' }));

      // Assert
      expect(mapping).toEqual({ outcome: 'ignored', reason: 'draft_invoice' });
    });

    it('takes amount_due when total is absent, and 0 paid when amount_paid is', () => {
      // Arrange
      const invoice = without(current.invoice({ amount_due: 5_100 }), 'total', 'amount_paid');

      // Act
      const mapping = map(current, 'invoice.payment_failed', invoice);

      // Assert
      expect(mapping).toMatchObject({ changes: [{ record: { amount: 5_100, amountPaid: 0 } }] });
    });

    it('keeps a negative total (proration credits beyond the charges)', () => {
      // Act
      const mapping = map(
        current,
        'invoice.paid',
        current.invoice({ total: -1_500, amount_due: 0, amount_paid: 0 }),
      );

      // Assert
      expect(mapping).toMatchObject({ changes: [{ record: { amount: -1_500, amountPaid: 0 } }] });
    });

    it('reads expanded customer, subscription and payment intent objects (legacy)', () => {
      // Arrange
      const invoice = legacy.invoice({
        customer: legacy.customer(),
        subscription: legacy.subscription(),
        payment_intent: legacy.paymentIntent(),
      });

      // Act
      const mapping = map(legacy, 'invoice.paid', invoice);

      // Assert
      expect(mapping).toEqual({
        outcome: 'changes',
        changes: [{ kind: 'order', record: invoiceOrder }],
      });
    });

    it('reads an expanded subscription under parent (current)', () => {
      // Arrange
      const invoice = current.invoice({
        customer: current.customer(),
        parent: {
          quote_details: null,
          subscription_details: { metadata: {}, subscription: current.subscription() },
          type: 'subscription_details',
        },
      });

      // Act
      const mapping = map(current, 'invoice.paid', invoice);

      // Assert
      expect(mapping).toEqual({ outcome: 'changes', changes: [{ kind: 'order', record: invoiceOrder }] });
    });

    it.each([
      ['legacy', legacy.invoice({ subscription: null, billing_reason: 'manual' })],
      ['current', current.invoice({ parent: null, billing_reason: 'manual' })],
      [
        'current, quote parent',
        current.invoice({
          parent: { quote_details: { quote: 'qt_1' }, subscription_details: null, type: 'quote_details' },
        }),
      ],
    ])('maps a one-off invoice (%s) with no subscription', (_name, invoice) => {
      // Act
      const mapping = mapStripeEvent(parse(stripeEvent('invoice.paid', invoice)));

      // Assert
      expect(changesOf(mapping)[0]).toMatchObject({
        kind: 'order',
        record: { kind: 'invoice', subscriptionId: null },
      });
    });
  });

  describe('invoice_payment.paid (basil and later)', () => {
    it('maps to the link between the invoice and its payment intent', () => {
      // Act
      const mapping = map(current, 'invoice_payment.paid', current.invoicePayment());

      // Assert
      expect(mapping).toEqual({
        outcome: 'changes',
        changes: [{ kind: 'payment_link', paymentIntentId: ids.paymentIntent, invoiceId: ids.invoice }],
      });
    });

    it('reads expanded invoice and payment intent objects', () => {
      // Arrange
      const invoicePayment = current.invoicePayment({
        invoice: current.invoice(),
        payment: { type: 'payment_intent', payment_intent: current.paymentIntent() },
      });

      // Act
      const mapping = map(current, 'invoice_payment.paid', invoicePayment);

      // Assert
      expect(mapping).toEqual({
        outcome: 'changes',
        changes: [{ kind: 'payment_link', paymentIntentId: ids.paymentIntent, invoiceId: ids.invoice }],
      });
    });

    it.each([
      ['paid out of band (a payment record)', { type: 'payment_record', payment_record: 'prec_1QFixture' }],
      ['paid by a bare charge', { type: 'charge', charge: 'ch_1QFixtureBare' }],
    ])('ignores an invoice payment %s: no payment intent to link', (_name, payment) => {
      // Act
      const mapping = map(current, 'invoice_payment.paid', current.invoicePayment({ payment }));

      // Assert
      expect(mapping).toEqual({ outcome: 'ignored', reason: 'invoice_payment_without_payment_intent' });
    });
  });

  describe('payment_intent.succeeded', () => {
    it('maps a legacy payment intent of an invoice to the link only: it is not a one-time payment', () => {
      // Act
      const mapping = map(legacy, 'payment_intent.succeeded', legacy.paymentIntent());

      // Assert
      expect(mapping).toEqual({
        outcome: 'changes',
        changes: [{ kind: 'payment_link', paymentIntentId: ids.paymentIntent, invoiceId: ids.invoice }],
      });
    });

    it('reads an expanded invoice as its id', () => {
      // Act
      const mapping = map(
        legacy,
        'payment_intent.succeeded',
        legacy.paymentIntent({ invoice: legacy.invoice() }),
      );

      // Assert
      expect(mapping).toEqual({
        outcome: 'changes',
        changes: [{ kind: 'payment_link', paymentIntentId: ids.paymentIntent, invoiceId: ids.invoice }],
      });
    });

    it('maps a legacy payment intent with invoice: null to a one-time order', () => {
      // Act
      const mapping = map(legacy, 'payment_intent.succeeded', legacy.oneTimePaymentIntent());

      // Assert
      expect(mapping).toEqual({ outcome: 'changes', changes: [{ kind: 'order', record: oneTimeOrder }] });
    });

    it('maps a current payment intent (no invoice key) to a one-time candidate', () => {
      // Act
      const mapping = map(current, 'payment_intent.succeeded', current.oneTimePaymentIntent());

      // Assert
      expect(mapping).toEqual({
        outcome: 'changes',
        changes: [
          { kind: 'one_time_candidate', paymentIntentId: ids.oneTimePaymentIntent, record: oneTimeOrder },
        ],
      });
    });

    it('maps a guest payment (no customer)', () => {
      // Act
      const mapping = map(
        current,
        'payment_intent.succeeded',
        current.oneTimePaymentIntent({ customer: null }),
      );

      // Assert
      expect(mapping).toMatchObject({ changes: [{ record: { customerId: null } }] });
    });

    it('reads an expanded customer as its id', () => {
      // Act
      const mapping = map(
        legacy,
        'payment_intent.succeeded',
        legacy.oneTimePaymentIntent({ customer: legacy.customer() }),
      );

      // Assert
      expect(mapping).toEqual({ outcome: 'changes', changes: [{ kind: 'order', record: oneTimeOrder }] });
    });
  });

  describe('charge.refunded', () => {
    it('maps a legacy charge to a refund naming the invoice and the payment intent', () => {
      // Act
      const mapping = map(legacy, 'charge.refunded', legacy.charge());

      // Assert
      expect(mapping).toEqual({
        outcome: 'changes',
        changes: [
          {
            kind: 'refund',
            invoiceId: ids.invoice,
            paymentIntentId: ids.paymentIntent,
            amountRefunded: 4_900,
            invoiceKnown: true,
          },
        ],
      });
    });

    it('maps a current charge to a refund naming the payment intent only', () => {
      // Act
      const mapping = map(
        current,
        'charge.refunded',
        current.charge({ amount_refunded: 1_000, refunded: false }),
      );

      // Assert
      expect(mapping).toEqual({
        outcome: 'changes',
        changes: [
          {
            kind: 'refund',
            invoiceId: null,
            paymentIntentId: ids.paymentIntent,
            amountRefunded: 1_000,
            invoiceKnown: false,
          },
        ],
      });
    });

    it('reads expanded invoice and payment intent objects', () => {
      // Arrange
      const charge = legacy.charge({ invoice: legacy.invoice(), payment_intent: legacy.paymentIntent() });

      // Act
      const mapping = map(legacy, 'charge.refunded', charge);

      // Assert
      expect(mapping).toEqual({
        outcome: 'changes',
        changes: [
          {
            kind: 'refund',
            invoiceId: ids.invoice,
            paymentIntentId: ids.paymentIntent,
            amountRefunded: 4_900,
            invoiceKnown: true,
          },
        ],
      });
    });

    it('marks a legacy one-time charge (invoice: null) as known, so no link lookup is needed', () => {
      const mapping = map(legacy, 'charge.refunded', legacy.charge({ invoice: null }));
      expect(mapping).toMatchObject({ changes: [{ kind: 'refund', invoiceId: null, invoiceKnown: true }] });
    });

    it.each(shapes)(
      'ignores a %s refund of a charge with neither invoice nor payment intent',
      (_name, shape) => {
        // Arrange
        const charge = shape.charge({ payment_intent: null, invoice: null });

        // Act
        const mapping = map(shape, 'charge.refunded', charge);

        // Assert
        expect(mapping).toEqual({ outcome: 'ignored', reason: 'refund_without_payment' });
      },
    );
  });

  describe('account.application.deauthorized', () => {
    it('maps to deauthorized', () => {
      // Arrange
      const body = stripeEvent(
        'account.application.deauthorized',
        { id: ids.application, object: 'application', name: 'Compass' },
        { account: CONNECTED_ACCOUNT_ID },
      );

      // Act
      const mapping = mapStripeEvent(parse(body));

      // Assert
      expect(mapping).toEqual({ outcome: 'changes', changes: [{ kind: 'deauthorized' }] });
    });

    it('does not depend on the shape of the application object', () => {
      // Act
      const mapping = mapStripeEvent(parse(stripeEvent('account.application.deauthorized', {})));

      // Assert
      expect(mapping).toEqual({ outcome: 'changes', changes: [{ kind: 'deauthorized' }] });
    });
  });

  describe('unhandled types', () => {
    it.each([
      'customer.source.created',
      'customer.subscription.trial_will_end',
      'invoice.created',
      'invoice.finalized',
      'invoice.payment_succeeded',
      'payment_intent.created',
      'charge.succeeded',
      'account.application.authorized',
      'v2.core.account.updated',
      'constructor',
      '__proto__',
      'toString',
      'hasOwnProperty',
    ])('ignores %s', (type) => {
      // Act
      const mapping = mapStripeEvent(parse(stripeEvent(type, current.customer())));

      // Assert
      expect(mapping).toEqual({ outcome: 'ignored', reason: 'unhandled_type' });
    });
  });

  describe('malformed payloads', () => {
    const bigTimestamp = 1e20;
    const priceItem = (price: StripeObject): StripeObject =>
      current.subscription({ items: list([current.subscriptionItem({ price })]) });

    it.each<[string, string, StripeObject, string]>([
      ['customer without id', 'customer.created', without(current.customer(), 'id'), 'malformed_customer'],
      ['customer with a numeric id', 'customer.updated', current.customer({ id: 42 }), 'malformed_customer'],
      ['customer with an empty id', 'customer.updated', current.customer({ id: '' }), 'malformed_customer'],
      [
        'customer created as a string',
        'customer.deleted',
        current.customer({ created: '2026-01-01' }),
        'malformed_customer',
      ],
      ['data.object of another type', 'customer.created', current.invoice(), 'malformed_customer'],
      [
        'subscription without id',
        'customer.subscription.created',
        without(current.subscription(), 'id'),
        'malformed_subscription',
      ],
      [
        'subscription without status',
        'customer.subscription.updated',
        without(current.subscription(), 'status'),
        'malformed_subscription',
      ],
      [
        'subscription without items',
        'customer.subscription.updated',
        without(legacy.subscription(), 'items'),
        'malformed_subscription',
      ],
      [
        'subscription items not a list',
        'customer.subscription.updated',
        current.subscription({ items: [current.subscriptionItem()] }),
        'malformed_subscription',
      ],
      [
        'subscription item that is a string',
        'customer.subscription.updated',
        current.subscription({ items: { object: 'list', data: ['si_1'] } }),
        'malformed_subscription',
      ],
      [
        'subscription item without price or plan',
        'customer.subscription.updated',
        current.subscription({ items: list([without(current.subscriptionItem(), 'price', 'plan')]) }),
        'malformed_subscription',
      ],
      [
        'unit_amount as a string',
        'customer.subscription.updated',
        priceItem(current.price({ unit_amount: '4900' })),
        'malformed_subscription',
      ],
      [
        'unit_amount_decimal not a number',
        'customer.subscription.updated',
        priceItem(current.price({ unit_amount: null, unit_amount_decimal: 'abc' })),
        'malformed_subscription',
      ],
      [
        'interval_count 0',
        'customer.subscription.updated',
        priceItem(current.price({ recurring: { interval: 'month', interval_count: 0 } })),
        'malformed_subscription',
      ],
      [
        'negative quantity',
        'customer.subscription.updated',
        current.subscription({ items: list([current.subscriptionItem({ quantity: -1 })]) }),
        'malformed_subscription',
      ],
      [
        'quantity as a string',
        'customer.subscription.updated',
        current.subscription({ items: list([current.subscriptionItem({ quantity: '2' })]) }),
        'malformed_subscription',
      ],
      [
        'timestamp beyond Date',
        'customer.subscription.updated',
        current.subscription({ canceled_at: bigTimestamp }),
        'malformed_subscription',
      ],
      [
        'item period end beyond Date',
        'customer.subscription.updated',
        current.subscription({
          items: list([current.subscriptionItem({ current_period_end: bigTimestamp })]),
        }),
        'malformed_subscription',
      ],
      [
        'customer reference as a number',
        'customer.subscription.updated',
        current.subscription({ customer: 7 }),
        'malformed_subscription',
      ],
      [
        'expanded customer without id',
        'customer.subscription.updated',
        current.subscription({ customer: { object: 'customer' } }),
        'malformed_subscription',
      ],
      [
        'cancel_at_period_end as a string',
        'customer.subscription.updated',
        current.subscription({ cancel_at_period_end: 'true' }),
        'malformed_subscription',
      ],
      ['invoice without id', 'invoice.paid', without(current.invoice(), 'id'), 'malformed_invoice'],
      [
        'invoice without total or amount_due',
        'invoice.paid',
        without(current.invoice(), 'total', 'amount_due'),
        'malformed_invoice',
      ],
      ['invoice total as a string', 'invoice.paid', current.invoice({ total: '4900' }), 'malformed_invoice'],
      [
        'invoice total fractional',
        'invoice.payment_failed',
        current.invoice({ total: 49.5 }),
        'malformed_invoice',
      ],
      [
        'invoice amount_paid as a string',
        'invoice.voided',
        current.invoice({ amount_paid: '0' }),
        'malformed_invoice',
      ],
      ['invoice status as a number', 'invoice.paid', current.invoice({ status: 1 }), 'malformed_invoice'],
      [
        'invoice paid_at as a string',
        'invoice.paid',
        current.invoice({ status_transitions: { paid_at: 'now' } }),
        'malformed_invoice',
      ],
      [
        'invoice parent not an object',
        'invoice.paid',
        current.invoice({ parent: 'sub_1' }),
        'malformed_invoice',
      ],
      ['data.object a charge for an invoice event', 'invoice.paid', current.charge(), 'malformed_invoice'],
      [
        'invoice payment without invoice',
        'invoice_payment.paid',
        without(current.invoicePayment(), 'invoice'),
        'malformed_invoice_payment',
      ],
      [
        'invoice payment without payment',
        'invoice_payment.paid',
        without(current.invoicePayment(), 'payment'),
        'malformed_invoice_payment',
      ],
      [
        'invoice payment without id',
        'invoice_payment.paid',
        without(current.invoicePayment(), 'id'),
        'malformed_invoice_payment',
      ],
      [
        'payment intent without id',
        'payment_intent.succeeded',
        without(current.paymentIntent(), 'id'),
        'malformed_payment_intent',
      ],
      [
        'payment intent amount as a string',
        'payment_intent.succeeded',
        current.paymentIntent({ amount: '4900' }),
        'malformed_payment_intent',
      ],
      [
        'payment intent without amount_received',
        'payment_intent.succeeded',
        without(legacy.oneTimePaymentIntent(), 'amount_received'),
        'malformed_payment_intent',
      ],
      [
        'payment intent invoice as a number',
        'payment_intent.succeeded',
        legacy.paymentIntent({ invoice: 123 }),
        'malformed_payment_intent',
      ],
      ['charge without id', 'charge.refunded', without(current.charge(), 'id'), 'malformed_charge'],
      [
        'charge without amount_refunded',
        'charge.refunded',
        without(current.charge(), 'amount_refunded'),
        'malformed_charge',
      ],
      [
        'charge with an expanded payment intent without id',
        'charge.refunded',
        current.charge({ payment_intent: { object: 'payment_intent' } }),
        'malformed_charge',
      ],
    ])('ignores a %s', (_name, type, object, reason) => {
      // Act
      const mapping = mapStripeEvent(parse(stripeEvent(type, object)));

      // Assert
      expect(mapping).toEqual({ outcome: 'ignored', reason });
    });

    const junk: unknown[] = [
      null,
      0,
      '',
      'x',
      true,
      [],
      [null],
      {},
      { id: {} },
      { id: [] },
      { id: 'x'.repeat(300) },
      { object: 'list', data: [null] },
      { data: [{}] },
      { id: 'x', price: null, plan: null },
    ];
    const garbage: StripeObject[] = [
      {},
      { id: 'x' },
      ...[
        'items',
        'price',
        'customer',
        'invoice',
        'payment',
        'payment_intent',
        'parent',
        'status_transitions',
        'total',
        'amount',
        'amount_refunded',
        'created',
        'status',
      ].flatMap((key) => junk.map((value) => ({ id: 'x', [key]: value }))),
      ...junk.map((value) =>
        current.subscription({ items: list([current.subscriptionItem({ price: value })]) }),
      ),
      ...junk.map((value) =>
        current.subscription({
          items: list([current.subscriptionItem({ price: current.price({ recurring: value }) })]),
        }),
      ),
      ...junk.map((value) => current.invoice({ parent: { subscription_details: value } })),
    ];

    it.each(HANDLED_STRIPE_EVENT_TYPES)('never throws on junk in a %s payload', (type) => {
      for (const object of garbage) {
        // Act
        const mapping = mapStripeEvent({
          id: 'evt_junk',
          type,
          created: T0,
          livemode: false,
          account: null,
          apiVersion: null,
          object,
        });

        // Assert
        expect(['changes', 'ignored']).toContain(mapping.outcome);
      }
    });
  });

  describe('PHI', () => {
    const events: [string, StripeObject][] = [
      ...shapes.flatMap(([, shape]): [string, StripeObject][] => [
        ['customer.created', shape.customer()],
        ['customer.updated', shape.customer()],
        ['customer.deleted', shape.customer()],
        ['customer.subscription.created', shape.subscription({ customer: shape.customer() })],
        ['customer.subscription.updated', shape.subscription()],
        ['customer.subscription.deleted', shape.subscription({ status: 'canceled' })],
        ['invoice.paid', shape.invoice({ customer: shape.customer() })],
        ['invoice.payment_failed', shape.invoice({ status: 'open' })],
        ['invoice.voided', shape.invoice({ status: 'void' })],
        ['payment_intent.succeeded', shape.paymentIntent()],
        ['payment_intent.succeeded', shape.oneTimePaymentIntent({ customer: shape.customer() })],
        ['charge.refunded', shape.charge({ customer: shape.customer() })],
      ]),
      ['payment_intent.succeeded', legacy.paymentIntent({ invoice: legacy.invoice() })],
      ['invoice_payment.paid', current.invoicePayment({ invoice: current.invoice() })],
      [
        'invoice_payment.paid',
        current.invoicePayment({
          payment: { type: 'payment_intent', payment_intent: current.paymentIntent() },
        }),
      ],
      ['account.application.deauthorized', { id: ids.application, object: 'application', name: PHI.name }],
    ];

    it('the fixtures do carry PHI, so the check below means something', () => {
      // Arrange
      const inputs = JSON.stringify(events);

      // Assert
      for (const value of PHI_STRINGS) {
        expect(inputs).toContain(value);
      }
    });

    it.each(events)('no name, email, phone or address survives %s', (type, object) => {
      // Act
      const mapping = mapStripeEvent(parse(stripeEvent(type, object)));

      // Assert
      expect(mapping.outcome).toBe('changes');
      const json = JSON.stringify(mapping);
      for (const value of PHI_STRINGS) {
        expect(json).not.toContain(value);
      }
    });
  });
});

describe('object mappers for API reads', () => {
  it('maps a customer, or undefined when it has no id', () => {
    expect(mapCustomerObject(current.customer())).toEqual({
      id: ids.customer,
      created: '2026-01-01T00:00:00.000Z',
      deleted: false,
    });
    expect(mapCustomerObject(current.customer(), true)).toMatchObject({ deleted: true });
    expect(mapCustomerObject(without(current.customer(), 'id'))).toBeUndefined();
    expect(mapCustomerObject(null)).toBeUndefined();
  });

  it.each(shapes)('maps a %s subscription, or undefined when malformed', (_name, shape) => {
    expect(mapSubscriptionObject(shape.subscription())).toEqual(subscriptionRecord);
    expect(mapSubscriptionObject(without(shape.subscription(), 'items'))).toBeUndefined();
    expect(mapSubscriptionObject([shape.subscription()])).toBeUndefined();
  });

  it.each(shapes)('maps a %s finalized invoice, or undefined when a draft or malformed', (_name, shape) => {
    expect(mapInvoiceObject(shape.invoice())).toEqual(invoiceOrder);
    expect(mapInvoiceObject(shape.invoice({ status: 'uncollectible' }))).toEqual({
      ...invoiceOrder,
      status: 'uncollectible',
    });
    expect(mapInvoiceObject(shape.invoice({ status: 'draft' }))).toBeUndefined();
    expect(mapInvoiceObject(without(shape.invoice(), 'status'))).toBeUndefined();
    expect(mapInvoiceObject(shape.invoice({ total: 'lots' }))).toBeUndefined();
  });

  it('accepts a stripe-node Decimal for unit_amount_decimal', () => {
    // Arrange: stripe-node parses decimals into an object whose valueOf/toString is the string.
    const decimal = { toString: () => '250.4', valueOf: () => '250.4' };
    const subscription = current.subscription({
      items: list([
        current.subscriptionItem({
          price: { ...current.price({ unit_amount: null }), unit_amount_decimal: decimal },
        }),
      ]),
    });

    // Act
    const record = mapSubscriptionObject(subscription);

    // Assert
    expect(record?.items[0]?.unitAmount).toBe(250);
  });
});
