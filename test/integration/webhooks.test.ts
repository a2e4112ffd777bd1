import { QueryCommand } from '@aws-sdk/lib-dynamodb';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createDocumentClient } from '#shared/adapters/dynamodb/document-client.ts';
import {
  CONNECTED_ACCOUNT_ID,
  creditNoteAmounts,
  current,
  ids,
  legacy,
  PHI_STRINGS,
  stripeEvent,
  T0,
} from '../../scripts/stripe-emulator/stripe-objects.ts';
import { bearer, type Handlers, handlersFor } from '../support/handlers.ts';
import { CONNECT_WEBHOOK_SECRET, createTestApp, type TestApp, tenantA, tenantB } from '../support/harness.ts';
import { connectWithSecret, readAll, sign } from '../support/webhook-helpers.ts';

const SECRET_A = `whsec_${'tenantAsecret'.repeat(2)}`;
const SECRET_B = `whsec_${'tenantBsecret'.repeat(2)}`;
const ACCOUNT_A = CONNECTED_ACCOUNT_ID;
const ACCOUNT_B = 'acct_1ClinicB';

let app: TestApp;
let handlers: Handlers;
let tokenA: string;
let tokenB: string;

beforeEach(async () => {
  app = await createTestApp();
  handlers = handlersFor(app);
  tokenA = await app.session(tenantA);
  tokenB = await app.session(tenantB);
  await connectWithSecret(app, handlers, tokenA, ACCOUNT_A, SECRET_A);
});
afterEach(() => app.close());

function post(slug: string, event: object, options: { secret?: string; header?: string; raw?: string } = {}) {
  const body = options.raw ?? JSON.stringify(event);
  const header = options.header ?? sign(body, options.secret ?? SECRET_A);
  return handlers.tenantWebhook(slug, {
    headers: { 'stripe-signature': header, 'content-type': 'application/json' },
    body,
  });
}

function postConnect(event: object, secret = CONNECT_WEBHOOK_SECRET) {
  const body = JSON.stringify(event);
  return handlers.connectWebhook({ headers: { 'stripe-signature': sign(body, secret) }, body });
}

const read = (collection: string, token = tokenA) => readAll(handlers, token, collection);

async function ledger(tenantId: string) {
  const db = createDocumentClient({ endpoint: app.dynamoEndpoint });
  const { Items } = await db.send(
    new QueryCommand({
      TableName: app.tableName,
      KeyConditionExpression: 'pk = :pk',
      ExpressionAttributeValues: { ':pk': `LEDGER#${tenantId}` },
    }),
  );
  return (Items ?? []).map((item) => ({
    status: item.status,
    ...(typeof item.data === 'string' ? JSON.parse(item.data) : item.data),
  }));
}

describe('POST /api/webhooks/stripe/{slug}: events become records', () => {
  it.each([
    ['current', current],
    ['legacy', legacy],
  ] as const)('customer created, updated, deleted (%s shape) — no PHI kept', async (_, shape) => {
    const created = await post(
      'clinic-a',
      stripeEvent('customer.created', shape.customer(), { created: T0 }),
    );
    expect(created.statusCode).toBe(200);
    expect(created.json()).toEqual({ received: true, outcome: 'processed' });
    await post('clinic-a', stripeEvent('customer.updated', shape.customer(), { created: T0 + 10 }));
    expect(await read('customers')).toEqual([
      { id: ids.customer, created: expect.any(String), deleted: false },
    ]);

    await post('clinic-a', stripeEvent('customer.deleted', shape.customer(), { created: T0 + 20 }));
    const customers = await read('customers');
    expect(customers).toEqual([{ id: ids.customer, created: expect.any(String), deleted: true }]);
    const table = JSON.stringify(customers);
    for (const phi of PHI_STRINGS) expect(table).not.toContain(phi);
  });

  it('a late customer.updated never resurrects a deleted customer', async () => {
    await post('clinic-a', stripeEvent('customer.deleted', current.customer(), { created: T0 + 20 }));
    const late = await post(
      'clinic-a',
      stripeEvent('customer.updated', current.customer(), { created: T0 + 10 }),
    );
    expect(late.statusCode).toBe(200);
    expect(await read('customers')).toEqual([expect.objectContaining({ deleted: true })]);
  });

  it.each([
    ['current', current],
    ['legacy', legacy],
  ] as const)('subscription lifecycle with MRR and period end (%s shape)', async (_, shape) => {
    await post(
      'clinic-a',
      stripeEvent('customer.subscription.created', shape.subscription(), { created: T0 }),
    );
    let [subscription] = await read('subscriptions');
    expect(subscription).toMatchObject({
      id: ids.subscription,
      customerId: ids.customer,
      status: 'active',
      currency: 'usd',
      mrr: 4900,
      items: [
        {
          priceId: ids.price,
          productId: ids.product,
          unitAmount: 4900,
          quantity: 1,
          interval: 'month',
          intervalCount: 1,
        },
      ],
      cancelAtPeriodEnd: false,
    });
    expect(subscription?.currentPeriodEnd).toEqual(expect.any(String));

    await post(
      'clinic-a',
      stripeEvent('customer.subscription.updated', shape.subscription({ cancel_at_period_end: true }), {
        created: T0 + 5,
      }),
    );
    [subscription] = await read('subscriptions');
    expect(subscription).toMatchObject({ cancelAtPeriodEnd: true, status: 'active' });

    await post(
      'clinic-a',
      stripeEvent(
        'customer.subscription.deleted',
        shape.subscription({ status: 'canceled', canceled_at: T0 + 9, ended_at: T0 + 9 }),
        { created: T0 + 10 },
      ),
    );
    // A late, replayed `created` never brings it back.
    await post(
      'clinic-a',
      stripeEvent('customer.subscription.created', shape.subscription(), { created: T0 }),
    );
    [subscription] = await read('subscriptions');
    expect(subscription).toMatchObject({
      status: 'canceled',
      mrr: 0,
      canceledAt: new Date((T0 + 9) * 1000).toISOString(),
    });
  });

  it.each([
    ['current', current],
    ['legacy', legacy],
  ] as const)(
    'invoice paid, then refunded, then a void invoice and a failed one (%s shape)',
    async (name, shape) => {
      await post('clinic-a', stripeEvent('invoice.paid', shape.invoice(), { created: T0 }));
      if (name === 'current') {
        // basil+: the payment intent is linked through the InvoicePayment.
        await post(
          'clinic-a',
          stripeEvent('invoice_payment.paid', current.invoicePayment(), { created: T0 + 1 }),
        );
      }
      await post(
        'clinic-a',
        stripeEvent('charge.refunded', shape.charge({ amount_refunded: 1500, refunded: false }), {
          created: T0 + 2,
        }),
      );
      const [order] = await read('orders');
      expect(order).toMatchObject({
        id: ids.invoice,
        kind: 'invoice',
        status: 'paid',
        amountPaid: 4900,
        amountRefunded: 1500,
        currency: 'usd',
        customerId: ids.customer,
        subscriptionId: ids.subscription,
      });

      await post(
        'clinic-a',
        stripeEvent('invoice.voided', shape.invoice({ id: 'in_void', status: 'void', amount_paid: 0 }), {
          created: T0 + 3,
        }),
      );
      await post(
        'clinic-a',
        stripeEvent(
          'invoice.payment_failed',
          shape.invoice({ id: 'in_failed', status: 'open', amount_paid: 0 }),
          { created: T0 + 4 },
        ),
      );
      const orders = await read('orders');
      expect(orders.map((o) => [o.id, o.status])).toEqual(
        expect.arrayContaining([
          ['in_void', 'void'],
          ['in_failed', 'open'],
          [ids.invoice, 'paid'],
        ]),
      );
    },
  );

  it('a one-time payment is an order; an invoice payment intent is not, whichever event comes first (current shape)', async () => {
    await post(
      'clinic-a',
      stripeEvent('payment_intent.succeeded', current.oneTimePaymentIntent(), { created: T0 }),
    );
    // The invoice's payment intent arrives before its InvoicePayment link...
    await post(
      'clinic-a',
      stripeEvent('payment_intent.succeeded', current.paymentIntent(), { created: T0 + 1 }),
    );
    await post('clinic-a', stripeEvent('invoice.paid', current.invoice(), { created: T0 + 1 }));
    await post(
      'clinic-a',
      stripeEvent('invoice_payment.paid', current.invoicePayment(), { created: T0 + 2 }),
    );
    // ...and a replay of it after the link changes nothing.
    await post(
      'clinic-a',
      stripeEvent('payment_intent.succeeded', current.paymentIntent(), { created: T0 + 3 }),
    );
    const orders = await read('orders');
    expect(orders.map((o) => [o.id, o.kind]).sort()).toEqual(
      [
        [ids.invoice, 'invoice'],
        [ids.oneTimePaymentIntent, 'one_time'],
      ].sort(),
    );
    await post(
      'clinic-a',
      stripeEvent(
        'charge.refunded',
        current.charge({
          id: ids.oneTimeCharge,
          payment_intent: ids.oneTimePaymentIntent,
          amount_refunded: 700,
        }),
        { created: T0 + 4 },
      ),
    );
    const oneTime = (await read('orders')).find((o) => o.id === ids.oneTimePaymentIntent);
    expect(oneTime).toMatchObject({ amountRefunded: 700 });
  });

  it('a refund that arrives before the invoice link still lands on the invoice (current shape)', async () => {
    await post('clinic-a', stripeEvent('invoice.paid', current.invoice(), { created: T0 }));
    await post(
      'clinic-a',
      stripeEvent('charge.refunded', current.charge({ amount_refunded: 1500 }), { created: T0 + 2 }),
    );
    await post(
      'clinic-a',
      stripeEvent('invoice_payment.paid', current.invoicePayment(), { created: T0 + 3 }),
    );
    expect(await read('orders')).toEqual([
      expect.objectContaining({ id: ids.invoice, amountRefunded: 1500 }),
    ]);
  });

  it('within one second, a deletion wins over an update and an update over a creation, whatever the ids', async () => {
    const second = T0 + 100;
    await post(
      'clinic-a',
      stripeEvent('customer.subscription.updated', current.subscription(), {
        created: second,
        id: 'evt_1AAA',
      }),
    );
    await post(
      'clinic-a',
      stripeEvent('customer.subscription.created', current.subscription({ status: 'incomplete' }), {
        created: second,
        id: 'evt_1ZZZ',
      }),
    );
    expect(await read('subscriptions')).toEqual([expect.objectContaining({ status: 'active', mrr: 4900 })]);
    await post(
      'clinic-a',
      stripeEvent('customer.subscription.deleted', current.subscription({ status: 'canceled' }), {
        created: second,
        id: 'evt_0000',
      }),
    );
    await post(
      'clinic-a',
      stripeEvent('customer.subscription.updated', current.subscription(), {
        created: second,
        id: 'evt_1ZZZZ',
      }),
    );
    expect(await read('subscriptions')).toEqual([expect.objectContaining({ status: 'canceled', mrr: 0 })]);
  });

  it('ignores events of another account forwarded to the tenant endpoint, and a deauthorization older than the connection', async () => {
    const foreign = await post(
      'clinic-a',
      stripeEvent('customer.created', current.customer({ id: 'cus_Foreign' }), { account: 'acct_1Other' }),
    );
    expect(foreign.json()).toEqual({ received: true, outcome: 'ignored', reason: 'foreign_account' });
    const deauth = await post(
      'clinic-a',
      stripeEvent('account.application.deauthorized', { id: app.stripe.clientId, object: 'application' }),
    );
    expect(deauth.json()).toMatchObject({ outcome: 'ignored', reason: 'stale_deauthorization' });
    expect(await read('customers')).toEqual([]);
    expect((await app.deps.integrations.getByTenant('tenant_a'))?.status).toBe('connected');
  });

  it('answers 200 and records unknown event types as ignored', async () => {
    const response = await post(
      'clinic-a',
      stripeEvent('product.created', { id: 'prod_1', object: 'product' }),
    );
    expect(response.json()).toEqual({ received: true, outcome: 'ignored', reason: 'unhandled_type' });
    expect(await ledger('tenant_a')).toEqual([
      expect.objectContaining({
        status: 'COMPLETED',
        type: 'product.created',
        outcome: 'ignored:unhandled_type',
        endpoint: 'tenant',
      }),
    ]);
  });

  it('records the audit trail: type, created, received, outcome', async () => {
    const event = stripeEvent('customer.created', current.customer(), { created: T0 });
    await post('clinic-a', event);
    expect(await ledger('tenant_a')).toEqual([
      {
        status: 'COMPLETED',
        eventId: (event as { id: string }).id,
        type: 'customer.created',
        created: new Date(T0 * 1000).toISOString(),
        received: app.clock.now().toISOString(),
        endpoint: 'tenant',
        outcome: 'processed',
      },
    ]);
  });

  it('updates webhook.lastEventAt in the status', async () => {
    await post('clinic-a', stripeEvent('customer.created', current.customer()));
    const status = (await handlers.status({ headers: bearer(tokenA) })).json<{
      webhook: Record<string, unknown>;
    }>();
    expect(status.webhook).toMatchObject({
      lastEventAt: app.clock.now().toISOString(),
      tenantEndpoint: { secretConfigured: true, lastEventAt: app.clock.now().toISOString() },
      connectEndpoint: { lastEventAt: null },
    });
  });

  it('accepts a base64-encoded body (as API Gateway sends non-text content types)', async () => {
    const body = JSON.stringify(stripeEvent('customer.created', current.customer()));
    const response = await handlers.tenantWebhook('clinic-a', {
      headers: { 'stripe-signature': sign(body, SECRET_A) },
      body: Buffer.from(body).toString('base64'),
      isBase64Encoded: true,
    });
    expect(response.json()).toMatchObject({ outcome: 'processed' });
  });

  it('processes a 1 MB event and refuses a body over 2 MiB with 413', async () => {
    const big = stripeEvent(
      'customer.updated',
      current.customer({ metadata: { note: 'x'.repeat(1_000_000) } }),
    );
    const ok = await post('clinic-a', big);
    expect(ok.statusCode).toBe(200);
    expect(ok.json()).toMatchObject({ outcome: 'processed' });
    const huge = stripeEvent(
      'customer.updated',
      current.customer({ metadata: { note: 'x'.repeat(2_200_000) } }),
    );
    const refused = await post('clinic-a', huge);
    expect(refused.statusCode).toBe(413);
    expect(refused.json()).toMatchObject({ error: 'payload_too_large' });
  });
});

describe('POST /api/webhooks/stripe/{slug}: credit notes and disputes adjust orders', () => {
  const adjustments = (order: Record<string, unknown> | undefined) => ({
    amountCredited: order?.amountCredited,
    amountDisputed: order?.amountDisputed,
    amountLost: order?.amountLost,
    disputeStatus: order?.disputeStatus,
  });
  const orderOf = async (id: string) => (await read('orders')).find((o) => o.id === id);

  it.each([
    ['current', current],
    ['legacy', legacy],
  ] as const)(
    'credit notes sum on their invoice; a void credits nothing, whatever the order of arrival (%s shape)',
    async (_, shape) => {
      // The credit note arrives before its invoice: it waits on the invoice's order.
      const first = await post(
        'clinic-a',
        stripeEvent('credit_note.created', shape.creditNote({ ...creditNoteAmounts(1900) }), {
          created: T0 + 5,
        }),
      );
      expect(first.json()).toEqual({ received: true, outcome: 'processed' });
      expect(await read('orders')).toEqual([]);
      await post('clinic-a', stripeEvent('invoice.paid', shape.invoice(), { created: T0 }));
      expect(adjustments(await orderOf(ids.invoice))).toEqual({
        amountCredited: 1900,
        amountDisputed: 0,
        amountLost: 0,
        disputeStatus: null,
      });
      await post(
        'clinic-a',
        stripeEvent('credit_note.created', shape.creditNote({ id: 'cn_second', ...creditNoteAmounts(800) }), {
          created: T0 + 6,
        }),
      );
      expect((await orderOf(ids.invoice))?.amountCredited).toBe(2700);
      // Voided in the same second as an update: the void wins its second.
      await post(
        'clinic-a',
        stripeEvent('credit_note.voided', shape.creditNote({ status: 'void', voided_at: T0 + 9 }), {
          created: T0 + 9,
          id: 'evt_0void',
        }),
      );
      await post(
        'clinic-a',
        stripeEvent('credit_note.updated', shape.creditNote(), { created: T0 + 9, id: 'evt_zupdate' }),
      );
      // A late copy of its creation changes nothing either.
      await post(
        'clinic-a',
        stripeEvent('credit_note.created', shape.creditNote(), { created: T0 + 5, id: 'evt_late' }),
      );
      const order = await orderOf(ids.invoice);
      expect(order).toMatchObject({ id: ids.invoice, amountPaid: 4900, amountCredited: 800 });
      const table = JSON.stringify(await read('orders'));
      for (const phi of PHI_STRINGS) expect(table).not.toContain(phi);
    },
  );

  it('a dispute lands on the one-time payment it contests; losing it shows the money taken back', async () => {
    await post(
      'clinic-a',
      stripeEvent('payment_intent.succeeded', legacy.oneTimePaymentIntent({ invoice: null }), {
        created: T0,
      }),
    );
    const opened = await post(
      'clinic-a',
      stripeEvent('charge.dispute.created', current.dispute({ amount: 12_000 }), { created: T0 + 10 }),
    );
    expect(opened.json()).toEqual({ received: true, outcome: 'processed' });
    expect(adjustments(await orderOf(ids.oneTimePaymentIntent))).toEqual({
      amountCredited: 0,
      amountDisputed: 12_000,
      amountLost: 0,
      disputeStatus: 'needs_response',
    });
    await post(
      'clinic-a',
      stripeEvent('charge.dispute.closed', current.dispute({ amount: 12_000, status: 'lost' }), {
        created: T0 + 20,
      }),
    );
    // A late update from before the close does not reopen it.
    await post(
      'clinic-a',
      stripeEvent('charge.dispute.updated', current.dispute({ amount: 12_000, status: 'under_review' }), {
        created: T0 + 15,
      }),
    );
    expect(adjustments(await orderOf(ids.oneTimePaymentIntent))).toEqual({
      amountCredited: 0,
      amountDisputed: 12_000,
      amountLost: 12_000,
      disputeStatus: 'lost',
    });
    const table = JSON.stringify(await read('orders'));
    for (const phi of PHI_STRINGS) expect(table).not.toContain(phi);
  });

  it("a dispute of an invoice's payment lands on the invoice, even when it arrives before the link", async () => {
    await post('clinic-a', stripeEvent('invoice.paid', current.invoice(), { created: T0 }));
    const invoiceDispute = (overrides: Record<string, unknown>) =>
      current.dispute({ charge: ids.charge, payment_intent: ids.paymentIntent, amount: 4900, ...overrides });
    await post('clinic-a', stripeEvent('charge.dispute.created', invoiceDispute({}), { created: T0 + 2 }));
    // Not an order of its own: the payment intent's item waits outside the listing.
    expect((await read('orders')).map((o) => o.id)).toEqual([ids.invoice]);
    await post(
      'clinic-a',
      stripeEvent('invoice_payment.paid', current.invoicePayment(), { created: T0 + 3 }),
    );
    expect(adjustments(await orderOf(ids.invoice))).toMatchObject({
      amountDisputed: 4900,
      disputeStatus: 'needs_response',
    });
    // After the link, the next event of the dispute follows it straight to the invoice.
    await post(
      'clinic-a',
      stripeEvent('charge.dispute.closed', invoiceDispute({ status: 'won' }), { created: T0 + 30 }),
    );
    expect(adjustments(await orderOf(ids.invoice))).toEqual({
      amountCredited: 0,
      amountDisputed: 4900,
      amountLost: 0,
      disputeStatus: 'won',
    });
  });

  it('a dispute of a charge without a payment intent is recorded as ignored, and changes nothing', async () => {
    const response = await post(
      'clinic-a',
      stripeEvent('charge.dispute.created', current.dispute({ payment_intent: null }), { created: T0 }),
    );
    expect(response.json()).toEqual({
      received: true,
      outcome: 'ignored',
      reason: 'dispute_without_payment_intent',
    });
    expect(await read('orders')).toEqual([]);
  });
});

describe('hostile and broken requests change nothing', () => {
  const event = () => stripeEvent('customer.created', current.customer());

  async function expectNothingChanged() {
    expect(await read('customers')).toEqual([]);
    expect(await ledger('tenant_a')).toEqual([]);
  }

  it.each([
    ['a missing Stripe-Signature', { header: '' }, 400, 'missing_signature'],
    ['a malformed header', { header: 'garbage' }, 400, 'invalid_signature'],
    ['a signature made with another secret', { secret: SECRET_B }, 400, 'invalid_signature'],
    [
      'a header with only v0',
      { header: `t=${Math.floor(Date.now() / 1000)},v0=${'a'.repeat(64)}` },
      400,
      'invalid_signature',
    ],
  ])('refuses %s', async (_, options, status, error) => {
    const response = await post('clinic-a', event(), options);
    expect(response.statusCode).toBe(status);
    expect(response.json()).toMatchObject({ error });
    await expectNothingChanged();
  });

  it('refuses a tampered body', async () => {
    const body = JSON.stringify(event());
    const header = sign(body, SECRET_A);
    const tampered = body.replace(ids.customer, 'cus_Tampered');
    const response = await post('clinic-a', {}, { raw: tampered, header });
    expect(response.statusCode).toBe(400);
    await expectNothingChanged();
  });

  it('refuses a timestamp outside 300 s', async () => {
    const body = JSON.stringify(event());
    const old = Math.floor(Date.now() / 1000) - 301;
    const response = await post('clinic-a', {}, { raw: body, header: sign(body, SECRET_A, old) });
    expect(response.statusCode).toBe(400);
    expect(response.json()).toMatchObject({ error: 'invalid_signature' });
    await expectNothingChanged();
  });

  it('accepts a rotated secret: two v1 signatures, either may match', async () => {
    const body = JSON.stringify(event());
    const t = Math.floor(Date.now() / 1000);
    const oldSig = sign(body, SECRET_B, t).split(',v1=')[1];
    const newSig = sign(body, SECRET_A, t).split(',v1=')[1];
    const response = await post('clinic-a', {}, { raw: body, header: `t=${t},v1=${oldSig},v1=${newSig}` });
    expect(response.json()).toMatchObject({ outcome: 'processed' });
  });

  it.each([
    ['JSON that is not an event', JSON.stringify({ hello: 'world' })],
    ['not JSON at all', 'definitely not json'],
    [
      'an event without data.object',
      JSON.stringify({ id: 'evt_1', object: 'event', type: 'x', created: T0, livemode: false }),
    ],
  ])('refuses a correctly signed body that is %s, on both endpoints', async (_, raw) => {
    const tenant = await post('clinic-a', {}, { raw });
    expect(tenant.statusCode).toBe(400);
    expect(tenant.json()).toMatchObject({ error: 'not_a_stripe_event' });
    const connect = await handlers.connectWebhook({
      headers: { 'stripe-signature': sign(raw, CONNECT_WEBHOOK_SECRET) },
      body: raw,
    });
    expect(connect.statusCode).toBe(400);
    expect(connect.json()).toMatchObject({ error: 'not_a_stripe_event' });
    await expectNothingChanged();
  });

  it('answers 404 for an unknown slug, a malformed one, and a tenant with no webhook secret', async () => {
    expect((await post('no-such-clinic', event())).statusCode).toBe(404);
    expect((await post('Bad Slug!', event())).statusCode).toBe(404);
    const flowB = await connectWithoutSecret();
    expect(flowB.statusCode).toBe(404);
    expect(flowB.json()).toMatchObject({ error: 'unknown_endpoint' });
    await expectNothingChanged();
  });

  async function connectWithoutSecret() {
    const { beginConnect, callbackQuery } = await import('../support/handlers.ts');
    const flow = await beginConnect(handlers, tokenB);
    await handlers.callback({
      query: callbackQuery({ code: app.stripe.issueCode(ACCOUNT_B), state: flow.state }),
      cookies: [flow.cookie],
    });
    return post('clinic-b', event(), { secret: SECRET_B });
  }

  it('answers 5xx (so Stripe retries) when DynamoDB fails, and the retry applies the event once', async () => {
    const records = app.depsFor('WebhookTenant').records;
    const apply = records.apply.bind(records);
    let calls = 0;
    records.apply = async (...args) => {
      const outcome = await apply(...args);
      calls += 1;
      // Fails after the record write, as a DynamoDB fault would surface.
      if (calls === 1)
        throw Object.assign(new Error('fault'), {
          name: 'ProvisionedThroughputExceededException',
          $metadata: {},
        });
      return outcome;
    };
    const delivery = stripeEvent('customer.created', current.customer(), { created: T0 });
    const failed = await post('clinic-a', delivery);
    expect(failed.statusCode).toBe(503);
    expect(await ledger('tenant_a')).toEqual([]);

    const retried = await post('clinic-a', delivery);
    expect(retried.json()).toMatchObject({ outcome: 'processed' });
    const again = await post('clinic-a', delivery);
    expect(again.json()).toMatchObject({ outcome: 'duplicate' });
    expect(calls).toBe(2);
    expect(await read('customers')).toHaveLength(1);
    expect(await ledger('tenant_a')).toEqual([
      expect.objectContaining({ status: 'COMPLETED', outcome: 'processed' }),
    ]);
  });
});

describe('exactly once', () => {
  it('10 concurrent deliveries of one event have one effect', async () => {
    let applied = 0;
    const records = app.depsFor('WebhookTenant').records;
    const apply = records.apply.bind(records);
    records.apply = async (...args) => {
      applied += 1;
      return apply(...args);
    };
    const delivery = stripeEvent('customer.created', current.customer());
    const responses = await Promise.all(Array.from({ length: 10 }, () => post('clinic-a', delivery)));
    // A delivery that meets the lease of one still applying it is told to come back (409), never 200.
    expect(responses.every((r) => r.statusCode === 200 || r.statusCode === 409)).toBe(true);
    for (const response of responses.filter((r) => r.statusCode === 409)) {
      expect(response.headers['retry-after']).toBe('10');
    }
    expect(responses.filter((r) => r.statusCode === 200 && r.json().outcome === 'processed')).toHaveLength(1);
    // Stripe's retry of those then finds the result.
    expect((await post('clinic-a', delivery)).json()).toEqual({ received: true, outcome: 'duplicate' });
    expect(applied).toBe(1);
    expect(await ledger('tenant_a')).toHaveLength(1);
  });

  it('the same event through the tenant and the Connect endpoint counts once', async () => {
    const delivery = stripeEvent('customer.created', current.customer(), { account: ACCOUNT_A });
    expect((await post('clinic-a', delivery)).json()).toMatchObject({ outcome: 'processed' });
    expect((await postConnect(delivery)).json()).toMatchObject({ outcome: 'duplicate' });
    expect(await ledger('tenant_a')).toHaveLength(1);
  });
});

describe('POST /api/webhooks/stripe-connect', () => {
  it('routes by event.account to the connected tenant', async () => {
    const response = await postConnect(
      stripeEvent('customer.created', current.customer(), { account: ACCOUNT_A }),
    );
    expect(response.json()).toEqual({ received: true, outcome: 'processed' });
    expect(await read('customers')).toHaveLength(1);
    const status = (await handlers.status({ headers: bearer(tokenA) })).json<{
      webhook: Record<string, unknown>;
    }>();
    expect(status.webhook).toMatchObject({ connectEndpoint: { lastEventAt: app.clock.now().toISOString() } });
  });

  it('a refund of an invoice payment follows the invoice link, on this endpoint too', async () => {
    await postConnect(stripeEvent('invoice.paid', current.invoice(), { account: ACCOUNT_A, created: T0 }));
    await postConnect(
      stripeEvent('invoice_payment.paid', current.invoicePayment(), { account: ACCOUNT_A, created: T0 + 1 }),
    );
    await postConnect(
      stripeEvent('charge.refunded', current.charge({ amount_refunded: 700 }), {
        account: ACCOUNT_A,
        created: T0 + 2,
      }),
    );
    expect(await read('orders')).toEqual([expect.objectContaining({ id: ids.invoice, amountRefunded: 700 })]);
  });

  it('records events of unknown accounts and of the other livemode as ignored, with 200', async () => {
    const unknown = await postConnect(
      stripeEvent('customer.created', current.customer(), { account: 'acct_1Nobody' }),
    );
    expect(unknown.json()).toEqual({ received: true, outcome: 'ignored', reason: 'unknown_account' });
    const live = await postConnect(
      stripeEvent('customer.created', current.customer(), { account: ACCOUNT_A, livemode: true }),
    );
    expect(live.json()).toEqual({ received: true, outcome: 'ignored', reason: 'livemode_mismatch' });
    expect(await read('customers')).toEqual([]);
    expect(await ledger('tenant_a')).toEqual([
      expect.objectContaining({ outcome: 'ignored:livemode_mismatch' }),
    ]);
    expect(await ledger('account:acct_1Nobody')).toEqual([
      expect.objectContaining({ outcome: 'ignored:unknown_account' }),
    ]);
  });

  it('refuses a signature made with a tenant secret', async () => {
    const response = await postConnect(
      stripeEvent('customer.created', current.customer(), { account: ACCOUNT_A }),
      SECRET_A,
    );
    expect(response.statusCode).toBe(400);
  });

  it('ignores a deauthorization older than the current connection, and one of another application', async () => {
    const before =
      Math.floor(
        Date.parse((await app.deps.integrations.getByTenant('tenant_a'))?.connectedAt ?? '') / 1000,
      ) - 86_400;
    const stale = await postConnect(
      stripeEvent(
        'account.application.deauthorized',
        { id: app.stripe.clientId, object: 'application' },
        { account: ACCOUNT_A, created: before },
      ),
    );
    expect(stale.json()).toMatchObject({ outcome: 'ignored', reason: 'stale_deauthorization' });
    const other = await postConnect(
      stripeEvent(
        'account.application.deauthorized',
        { id: 'ca_SomeoneElse', object: 'application' },
        { account: ACCOUNT_A },
      ),
    );
    expect(other.json()).toMatchObject({ outcome: 'ignored', reason: 'other_application' });
    expect((await app.deps.integrations.getByTenant('tenant_a'))?.status).toBe('connected');
  });

  it('account.application.deauthorized disconnects the tenant without calling Stripe', async () => {
    const response = await postConnect(
      stripeEvent(
        'account.application.deauthorized',
        { id: app.stripe.clientId, object: 'application', name: 'Compass' },
        { account: ACCOUNT_A, created: Math.floor(app.clock.now().getTime() / 1000) + 60 },
      ),
    );
    expect(response.json()).toMatchObject({ outcome: 'processed' });
    expect(app.stripe.requestsTo('/oauth/deauthorize')).toHaveLength(0);
    expect(await app.deps.integrations.getByTenant('tenant_a')).toBeUndefined();
    expect(await app.deps.tokens.get('tenant_a')).toBeUndefined();
    expect(await app.deps.webhookSecrets.get('tenant_a')).toBeUndefined();
    expect(app.queues.sent.filter((m) => m.queue === 'revocation')).toHaveLength(0);
    expect((await handlers.status({ headers: bearer(tokenA) })).json()).toMatchObject({ connected: false });
  });
});

describe('GET /api/stripe/{collection}', () => {
  beforeEach(async () => {
    for (let i = 0; i < 7; i++) {
      await post(
        'clinic-a',
        stripeEvent('customer.created', current.customer({ id: `cus_${i}`, created: T0 + i })),
      );
    }
  });

  it('pages newest first with an opaque cursor', async () => {
    const first = (await handlers.records('customers', { headers: bearer(tokenA), query: 'limit=3' })).json<{
      data: { id: string }[];
      nextCursor: string;
    }>();
    expect(first.data.map((c) => c.id)).toEqual(['cus_6', 'cus_5', 'cus_4']);
    const all = await readAll(handlers, tokenA, 'customers', 3);
    expect(all.map((c) => c.id)).toEqual(['cus_6', 'cus_5', 'cus_4', 'cus_3', 'cus_2', 'cus_1', 'cus_0']);
  });

  it('ends with nextCursor null on the last page, even when it is exactly full', async () => {
    const first = (await handlers.records('customers', { headers: bearer(tokenA), query: 'limit=7' })).json<{
      data: unknown[];
      nextCursor: string | null;
    }>();
    expect(first.data).toHaveLength(7);
    expect(first.nextCursor).toBeNull();
  });

  it('refuses a forged cursor whose keys do not belong together', async () => {
    const forged = Buffer.from(
      JSON.stringify({
        v: 1,
        c: 'customers',
        k: { pk: 'REC#tenant_a#customers', sk: '', gsi1pk: 'LIST#tenant_a#customers', gsi1sk: 'x' },
      }),
    ).toString('base64url');
    const response = await handlers.records('customers', {
      headers: bearer(tokenA),
      query: `cursor=${forged}`,
    });
    expect(response.statusCode).toBe(400);
    expect(response.json()).toMatchObject({ error: 'invalid_cursor' });
  });

  it.each(['0', '101', '-1', 'ten', '1.5', ''])('refuses limit=%s with 400', async (limit) => {
    const response = await handlers.records('customers', {
      headers: bearer(tokenA),
      query: `limit=${limit}`,
    });
    expect(response.statusCode).toBe(400);
    expect(response.json()).toMatchObject({ error: 'invalid_limit' });
  });

  it('refuses a malformed cursor and a cursor of another tenant or collection', async () => {
    const page = (await handlers.records('customers', { headers: bearer(tokenA), query: 'limit=2' })).json<{
      nextCursor: string;
    }>();
    for (const [token, collection, cursor] of [
      [tokenA, 'customers', 'not-a-cursor!'],
      [tokenA, 'customers', Buffer.from('{"v":1}').toString('base64url')],
      [tokenB, 'customers', page.nextCursor],
      [tokenA, 'orders', page.nextCursor],
    ] as const) {
      const response = await handlers.records(collection, {
        headers: bearer(token),
        query: `cursor=${cursor}`,
      });
      expect(response.statusCode).toBe(400);
      expect(response.json()).toMatchObject({ error: 'invalid_cursor' });
    }
  });

  it('shows a tenant only its own records, needs a session, and 404s unknown collections', async () => {
    expect(await read('customers', tokenB)).toEqual([]);
    expect((await handlers.records('customers')).statusCode).toBe(401);
    expect((await handlers.records('patients', { headers: bearer(tokenA) })).statusCode).toBe(404);
  });
});
