import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { StripeObject } from '../../scripts/stripe-emulator/fake-stripe-server.ts';
import { CONNECTED_ACCOUNT_ID, current, stripeEvent } from '../../scripts/stripe-emulator/stripe-objects.ts';
import { createReconcileWorker } from '../support/as-deployed.ts';
import { bearer, type Handlers, handlersFor } from '../support/handlers.ts';
import {
  CONNECT_WEBHOOK_SECRET,
  createTestApp,
  lambdaContext,
  type TestApp,
  tenantA,
  tenantB,
} from '../support/harness.ts';
import { sqsEvent } from '../support/sqs-event.ts';
import { connectWithSecret, readAll, sign } from '../support/webhook-helpers.ts';

const SECRET = `whsec_${'catchUpSweep'.repeat(2)}`;
const ACCOUNT = CONNECTED_ACCOUNT_ID;

let app: TestApp;
let handlers: Handlers;
let token: string;

beforeEach(async () => {
  app = await createTestApp();
  handlers = handlersFor(app);
  token = await app.session(tenantA);
  // The fake's Events API keeps 30 days before its own clock: the tests' clock.
  app.stripe.now = () => Math.floor(app.clock.now().getTime() / 1000);
  await connectWithSecret(app, handlers, token, ACCOUNT, SECRET);
});
afterEach(() => app.close());

const at = (offsetSeconds: number) => Math.floor(app.clock.now().getTime() / 1000) + offsetSeconds;

interface Summary {
  tenantId: string;
  eventsRead: number;
  eventsApplied: number;
  outcome: string;
}

function sweep(tenantId = 'tenant_a', remainingMs = 300_000): Promise<Summary> {
  const worker = createReconcileWorker(app.depsFor('ReconcileWorker'));
  return worker(
    { tenantId },
    { ...lambdaContext, getRemainingTimeInMillis: () => remainingMs },
  ) as Promise<Summary>;
}

/** What Stripe did while no webhook reached Compass: a patient signed up, subscribed, canceled. */
function missedEvents(): StripeObject[] {
  return [
    stripeEvent('customer.created', current.customer(), { account: ACCOUNT, created: at(10) }),
    stripeEvent('customer.subscription.created', current.subscription({ status: 'active' }), {
      account: ACCOUNT,
      created: at(20),
    }),
    stripeEvent(
      'customer.subscription.deleted',
      current.subscription({ status: 'canceled', canceled_at: at(30), ended_at: at(30) }),
      { account: ACCOUNT, created: at(30) },
    ),
    stripeEvent('invoice.paid', current.invoice(), { account: ACCOUNT, created: at(40) }),
  ];
}

function postConnect(event: object) {
  const body = JSON.stringify(event);
  return handlers.connectWebhook({
    headers: { 'stripe-signature': sign(body, CONNECT_WEBHOOK_SECRET) },
    body,
  });
}

describe('catch-up from the Events API', () => {
  it('webhooks off: a sweep brings the records to the truth, a second applies nothing, webhooks then count once', async () => {
    const events = app.stripe.recordEvent(...missedEvents());
    app.clock.advance(60_000);

    const first = await sweep();
    // Newest first: the creation of the subscription its deletion already superseded changes nothing.
    expect(first).toEqual({ tenantId: 'tenant_a', eventsRead: 4, eventsApplied: 3, outcome: 'done' });
    expect((await readAll(handlers, token, 'customers')).map((c) => c.id)).toEqual([current.customer().id]);
    expect(await readAll(handlers, token, 'subscriptions')).toEqual([
      expect.objectContaining({ status: 'canceled', mrr: 0 }),
    ]);
    expect((await readAll(handlers, token, 'orders')).map((o) => o.id)).toEqual([current.invoice().id]);
    // On behalf of the account, with the platform key, 100 a page, only the handled types.
    const listed = app.stripe.requestsTo('/v1/events');
    expect(listed).toHaveLength(1);
    expect(listed[0]?.headers['stripe-account']).toBe(ACCOUNT);
    expect(listed[0]?.params).toMatchObject({ limit: '100' });

    const status = (await handlers.status({ headers: bearer(token) })).json();
    expect(status.reconcile).toEqual({ lastRunAt: app.clock.now().toISOString(), eventsApplied: 3 });

    const second = await sweep();
    expect(second.eventsApplied).toBe(0);
    expect(second.outcome).toBe('done');

    for (const event of events) {
      const delivered = await postConnect(event);
      expect(delivered.json()).toEqual({ received: true, outcome: 'duplicate' });
    }
    expect(await readAll(handlers, token, 'subscriptions')).toEqual([
      expect.objectContaining({ status: 'canceled' }),
    ]);
  });

  it('an event already delivered by webhook is not applied again by the sweep', async () => {
    const [created] = app.stripe.recordEvent(missedEvents()[0] as StripeObject);
    expect((await postConnect(created as StripeObject)).json()).toMatchObject({ outcome: 'processed' });
    expect(await sweep()).toMatchObject({ eventsRead: 1, eventsApplied: 0 });
  });

  it("the first sweep reads an event of the connection's own second (Stripe lists created > cursor)", async () => {
    // Created after the backfill read its lists, in the second the connection was made.
    app.stripe.recordEvent(
      stripeEvent('customer.created', current.customer({ id: 'cus_SameSecond' }), {
        account: ACCOUNT,
        created: at(0),
      }),
    );
    app.clock.advance(60_000);
    expect(await sweep()).toMatchObject({ eventsRead: 1, eventsApplied: 1 });
    expect((await app.deps.tenantData.get('tenant_a'))?.sweep?.createdAfter).toBe(at(-60) - 300);
  });

  it('reads 250 events in the ideal 3 pages, oldest change winning nothing over the newest', async () => {
    const events: StripeObject[] = [];
    for (let i = 0; i < 250; i++) {
      events.push(
        stripeEvent('customer.created', current.customer({ id: `cus_Sweep${String(i).padStart(4, '0')}` }), {
          account: ACCOUNT,
          created: at(1 + Math.floor(i / 10)),
        }),
      );
    }
    app.stripe.recordEvent(...events);
    const summary = await sweep();
    expect(summary).toMatchObject({ eventsRead: 250, eventsApplied: 250, outcome: 'done' });
    expect(app.stripe.requestsTo('/v1/events')).toHaveLength(3);
    expect(await readAll(handlers, token, 'customers')).toHaveLength(250);
  });

  it('cut off by its deadline, a sweep records where it stopped and its continuation finishes it', async () => {
    const events: StripeObject[] = [];
    for (let i = 0; i < 150; i++) {
      events.push(
        stripeEvent('customer.created', current.customer({ id: `cus_Cut${String(i).padStart(4, '0')}` }), {
          account: ACCOUNT,
          created: at(1 + i),
        }),
      );
    }
    app.stripe.recordEvent(...events);
    // Enough time for one page, then the hand-over margin is reached.
    // Just above the hand-over margin: one page, then the continuation.
    let remaining = 15_400;
    const worker = createReconcileWorker(app.depsFor('ReconcileWorker'));
    const partial = (await worker(
      { tenantId: 'tenant_a' },
      {
        ...lambdaContext,
        getRemainingTimeInMillis: () => {
          remaining -= 200;
          return remaining;
        },
      },
    )) as Summary;
    expect(partial.outcome).toBe('continued');
    expect(partial.eventsRead).toBeGreaterThan(0);
    expect(partial.eventsRead).toBeLessThan(150);
    expect(app.queues.sent.filter((m) => m.queue === 'reconcile')).toEqual([
      expect.objectContaining({ job: { kind: 'tenant', tenantId: 'tenant_a' } }),
    ]);
    const rest = await sweep();
    expect(rest.outcome).toBe('done');
    expect(partial.eventsRead + rest.eventsRead).toBe(150);
    expect(await readAll(handlers, token, 'customers')).toHaveLength(150);
    expect((await handlers.status({ headers: bearer(token) })).json().reconcile).toMatchObject({
      eventsApplied: 150,
    });
  });

  it('a missed refund lands on its invoice order, as a delivered one would', async () => {
    app.stripe.recordEvent(
      stripeEvent('invoice.paid', current.invoice(), { account: ACCOUNT, created: at(10) }),
      stripeEvent('invoice_payment.paid', current.invoicePayment(), { account: ACCOUNT, created: at(11) }),
      stripeEvent('charge.refunded', current.charge({ amount_refunded: 1500 }), {
        account: ACCOUNT,
        created: at(20),
      }),
    );
    expect(await sweep()).toMatchObject({ eventsRead: 3, outcome: 'done' });
    expect(await readAll(handlers, token, 'orders')).toEqual([
      expect.objectContaining({ id: current.invoice().id, amountRefunded: 1500 }),
    ]);
  });

  it('a DynamoDB fault while applying an event releases its lease and fails the message; the retry applies it once', async () => {
    app.stripe.recordEvent(...missedEvents());
    const records = app.depsFor('ReconcileWorker').records;
    const apply = records.apply.bind(records);
    let calls = 0;
    records.apply = async (...args) => {
      calls += 1;
      if (calls === 1) {
        throw Object.assign(new Error('fault'), {
          name: 'ProvisionedThroughputExceededException',
          $metadata: {},
        });
      }
      return apply(...args);
    };
    const worker = createReconcileWorker(app.depsFor('ReconcileWorker'));
    await expect(worker(sqsEvent({ kind: 'tenant', tenantId: 'tenant_a' }), lambdaContext)).rejects.toThrow(
      /failed processing/,
    );
    const status = (await handlers.status({ headers: bearer(token) })).json<{
      reconcile: { lastRunAt: null };
    }>();
    expect(status.reconcile.lastRunAt).toBeNull();
    // The faulted event (the newest, read first: the invoice) was released, not left leased: the
    // retry applies it with the others, as a clean sweep would.
    expect(await sweep()).toMatchObject({ eventsRead: 4, eventsApplied: 3, outcome: 'done' });
    expect(await readAll(handlers, token, 'subscriptions')).toEqual([
      expect.objectContaining({ status: 'canceled' }),
    ]);
    expect(await readAll(handlers, token, 'orders')).toHaveLength(1);
  });

  it('writes nothing for a tenant that disconnected, even for events recorded before', async () => {
    app.stripe.recordEvent(...missedEvents());
    await handlers.disconnect({ headers: bearer(token) });
    expect(await sweep()).toMatchObject({ outcome: 'skipped', eventsApplied: 0 });
    expect(await readAll(handlers, token, 'customers')).toEqual([]);
  });

  it('a Stripe outage makes the message fail (SQS retries) and leaves the cursor where it was', async () => {
    app.stripe.recordEvent(...missedEvents());
    app.stripe.injectFault('/v1/events', ...Array.from({ length: 20 }, () => ({ status: 500 })));
    const worker = createReconcileWorker(app.depsFor('ReconcileWorker'));
    // 2 s of retries before the hand-over margin: the page gives up as out of time, the message
    // fails whole, and SQS delivers it again.
    await expect(
      worker(sqsEvent({ kind: 'tenant', tenantId: 'tenant_a' }), {
        ...lambdaContext,
        getRemainingTimeInMillis: () => 17_000,
      }),
    ).rejects.toThrow(/failed processing/);
    expect(await readAll(handlers, token, 'customers')).toEqual([]);
    app.stripe.clearFaults();
    expect(await sweep()).toMatchObject({ eventsRead: 4, eventsApplied: 3, outcome: 'done' });
  });

  it('the schedule tick queues one sweep per connected tenant, not for disconnected ones', async () => {
    const tokenB = await app.session(tenantB);
    await connectWithSecret(app, handlers, tokenB, 'acct_1ClinicB', `whsec_${'clinicBsecret'.repeat(2)}`);
    await handlers.disconnect({ headers: bearer(tokenB) });
    const worker = createReconcileWorker(app.depsFor('ReconcileWorker'));
    const response = await worker(sqsEvent({ kind: 'all' }), lambdaContext);
    expect(response).toEqual({ batchItemFailures: [] });
    const queued = app.queues.sent.filter((m) => m.queue === 'reconcile').map((m) => m.job);
    expect(queued).toEqual([{ kind: 'tenant', tenantId: 'tenant_a' }]);
  });
});
