import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { current, stripeEvent } from '../../scripts/stripe-emulator/stripe-objects.ts';
import { requestBackfill, runBackfill } from '../support/as-deployed.ts';
import { backfillDeps, connectedClinic } from '../support/backfill-helpers.ts';
import { bearer, type Handlers, handlersFor } from '../support/handlers.ts';
import { createTestApp, type TestApp, tenantA, tenantB } from '../support/harness.ts';
import { connectWithSecret, readAll, sign } from '../support/webhook-helpers.ts';

const SECRET = `whsec_${'metricsroute'.repeat(3)}`;
const at = (when: string) => Date.parse(`${when}Z`) / 1000;

let app: TestApp;
let handlers: Handlers;
let token: string;

beforeEach(async () => {
  app = await createTestApp();
  handlers = handlersFor(app);
  token = await app.session(tenantA);
});
afterEach(() => app.close());

function subscription(id: string, customer: string, status: string, unitAmount: number, extra: object = {}) {
  const price = current.price({ unit_amount: unitAmount, unit_amount_decimal: String(unitAmount) });
  return current.subscription({
    id,
    customer,
    status,
    created: at('2026-07-03T10:00:00'),
    start_date: at('2026-07-03T10:00:00'),
    items: {
      object: 'list',
      data: [current.subscriptionItem({ id: `si_${id}`, subscription: id, price })],
      has_more: false,
      url: `/v1/subscription_items?subscription=${id}`,
    },
    ...extra,
  });
}

async function deliver(events: object[]) {
  for (const event of events) {
    const body = JSON.stringify(event);
    const response = await handlers.tenantWebhook('clinic-a', {
      headers: { 'stripe-signature': sign(body, SECRET) },
      body,
    });
    expect(response.statusCode).toBe(200);
  }
}

/** A clinic's summer: a trial that converts, an upgrade, a churn, a return. */
async function summer() {
  await connectWithSecret(app, handlers, token, 'acct_1MetricsClinic', SECRET);
  await deliver([
    stripeEvent('customer.created', current.customer({ id: 'cus_A', created: at('2026-07-01T09:00:00') }), {
      created: at('2026-07-01T09:00:00'),
    }),
    stripeEvent(
      'customer.subscription.created',
      subscription('sub_A', 'cus_A', 'trialing', 5_000, { trial_end: at('2026-07-17T10:00:00') }),
      { created: at('2026-07-03T10:00:00') },
    ),
    stripeEvent('customer.subscription.updated', subscription('sub_A', 'cus_A', 'active', 5_000), {
      created: at('2026-07-17T10:00:00'),
    }),
    stripeEvent('customer.subscription.updated', subscription('sub_A', 'cus_A', 'active', 8_000), {
      created: at('2026-08-12T10:00:00'),
    }),
    stripeEvent(
      'customer.subscription.deleted',
      subscription('sub_A', 'cus_A', 'canceled', 8_000, { ended_at: at('2026-09-20T10:00:00') }),
      { created: at('2026-09-20T10:00:00') },
    ),
    stripeEvent(
      'customer.subscription.created',
      subscription('sub_B', 'cus_A', 'active', 3_000, {
        created: at('2026-10-05T10:00:00'),
        start_date: at('2026-10-05T10:00:00'),
      }),
      { created: at('2026-10-05T10:00:00') },
    ),
  ]);
}

describe('GET /api/stripe/metrics', () => {
  it('answers the movements of webhook-fed history, month by month', async () => {
    await summer();

    const response = await handlers.metrics({ headers: bearer(token), query: 'from=2026-07&to=2026-11' });

    expect(response.statusCode).toBe(200);
    const answer = response.json<{
      currency: string;
      asOf: string;
      months: { month: string; mrr: Record<string, number>; customers: Record<string, number> }[];
      cohorts: { cohort: string; customers: number; active: number[]; mrr: number[] }[];
    }>();
    expect(answer.currency).toBe('usd');
    expect(answer.asOf).toBe(app.clock.now().toISOString());
    expect(answer.months.map((m) => [m.month, m.mrr])).toEqual([
      [
        '2026-07',
        { start: 0, end: 5_000, new: 5_000, expansion: 0, contraction: 0, churn: 0, reactivation: 0 },
      ],
      [
        '2026-08',
        { start: 5_000, end: 8_000, new: 0, expansion: 3_000, contraction: 0, churn: 0, reactivation: 0 },
      ],
      [
        '2026-09',
        { start: 8_000, end: 0, new: 0, expansion: 0, contraction: 0, churn: 8_000, reactivation: 0 },
      ],
      [
        '2026-10',
        { start: 0, end: 3_000, new: 0, expansion: 0, contraction: 0, churn: 0, reactivation: 3_000 },
      ],
      [
        '2026-11',
        { start: 3_000, end: 3_000, new: 0, expansion: 0, contraction: 0, churn: 0, reactivation: 0 },
      ],
    ]);
    expect(answer.months[0]).toMatchObject({
      acquisition: { signups: 1, trialsStarted: 1, trialConversions: 1 },
      customers: { start: 0, end: 1, new: 1, churned: 0, reactivated: 0 },
    });
    expect(answer.cohorts[0]).toEqual({
      cohort: '2026-07',
      customers: 1,
      active: [1, 1, 0, 1, 1],
      mrr: [5_000, 8_000, 0, 3_000, 3_000],
    });
  });

  it('shows one tenant nothing of another', async () => {
    await summer();
    const other = await app.session(tenantB);

    const answer = (await handlers.metrics({ headers: bearer(other) })).json<{
      currency: null;
      months: { mrr: { end: number } }[];
    }>();

    expect(answer.currency).toBeNull();
    expect(answer.months).toHaveLength(12);
    expect(answer.months.every((m) => m.mrr.end === 0)).toBe(true);
  });

  it.each([
    ['a malformed month', 'from=July', 'invalid_from'],
    ['a future month', 'to=2026-12', 'invalid_to'],
    ['from after to', 'from=2026-10&to=2026-09', 'invalid_range'],
    ['more than 36 months', 'from=2023-01&to=2026-11', 'invalid_range'],
    ['a currency nothing uses', 'currency=eur', 'unknown_currency'],
  ])('refuses %s with a JSON 400', async (_name, query, error) => {
    await summer();

    const response = await handlers.metrics({ headers: bearer(token), query });

    expect(response.statusCode).toBe(400);
    expect(response.json()).toMatchObject({ error, message: expect.any(String) });
  });

  it('refuses a request without a session', async () => {
    expect((await handlers.metrics()).statusCode).toBe(401);
  });
});

describe('GET /api/stripe/subscriptions/{id}/history', () => {
  it('lists the entries oldest first, a page at a time, with opaque cursors', async () => {
    await summer();

    const lines: Record<string, unknown>[] = [];
    const cursors: string[] = [];
    let cursor: string | null = null;
    do {
      const query: string = `limit=2${cursor ? `&cursor=${cursor}` : ''}`;
      const response = await handlers.history('sub_A', { headers: bearer(token), query });
      expect(response.statusCode).toBe(200);
      const page = response.json<{ data: Record<string, unknown>[]; nextCursor: string | null }>();
      lines.push(...page.data);
      cursor = page.nextCursor;
      if (cursor) cursors.push(cursor);
    } while (cursor);

    expect(lines.map((l) => [l.effectiveAt, l.source, l.status, l.mrr])).toEqual([
      ['2026-07-03T10:00:00.000Z', 'event', 'trialing', 0],
      ['2026-07-17T10:00:00.000Z', 'event', 'active', 5_000],
      ['2026-08-12T10:00:00.000Z', 'event', 'active', 8_000],
      ['2026-09-20T10:00:00.000Z', 'event', 'canceled', 0],
    ]);
    expect(lines[0]).toMatchObject({
      currency: 'usd',
      cancelAtPeriodEnd: false,
      items: [{ unitAmount: 5_000 }],
    });
    expect(cursors).toHaveLength(1);
    expect(cursors.join()).not.toMatch(/sub_A|cus_A|REC#|tenant_a/);
  });

  it('answers 404 for an unknown subscription, another tenant’s and a malformed id, and 400 for a forged cursor', async () => {
    await summer();
    const other = await app.session(tenantB);

    expect((await handlers.history('sub_Nope', { headers: bearer(token) })).statusCode).toBe(404);
    expect((await handlers.history('sub_A', { headers: bearer(other) })).statusCode).toBe(404);
    const forged = await handlers.history('sub_A', { headers: bearer(token), query: 'cursor=bm9wZQ' });
    expect(forged.statusCode).toBe(400);
    expect(forged.json()).toMatchObject({ error: 'invalid_cursor' });
    expect((await handlers.history('sub_A', { headers: bearer(token), query: 'limit=0' })).statusCode).toBe(
      400,
    );
  });
});

describe('metrics of a backfilled account', () => {
  const SIZE = { customers: 60, subscriptions: 90, invoices: 320, oneTimePayments: 45 };

  it('equal what the fake Stripe’s own objects say: MRR now, paid revenue, and a reconstructed past', async () => {
    const clinic = await connectedClinic(app, 'tenant_a', 'acct_1MetricsBackfill', SIZE);
    const runId = await requestBackfill({ ...app.deps, clock: app.clock }, 'tenant_a', 90);
    const outcome = await runBackfill(backfillDeps(app), {
      tenantId: 'tenant_a',
      runId,
      deadline: app.clock.now().getTime() + 15 * 60_000,
    });
    expect(outcome.outcome).toBe('succeeded');

    const answer = (await handlers.metrics({ headers: bearer(token), query: 'currency=usd' })).json<{
      months: { month: string; mrr: { end: number }; revenue: { gross: number } }[];
    }>();

    // MRR now, by hand from the fake's subscriptions that the backfill imported.
    const imported = new Set((await readAll(handlers, token, 'subscriptions')).map((s) => s.id));
    const FACTOR: Record<string, [number, number]> = {
      day: [365, 12],
      week: [52, 12],
      month: [1, 1],
      year: [1, 12],
    };
    let mrrNow = 0;
    for (const sub of clinic.objects.subscriptions) {
      if (!imported.has(sub.id) || !['active', 'past_due'].includes(String(sub.status)) || sub.ended_at)
        continue;
      if (sub.currency !== 'usd') continue;
      type Item = {
        quantity: number;
        price: { unit_amount: number; recurring: { interval: string; interval_count: number } };
      };
      for (const item of (sub.items as { data: Item[] }).data) {
        const [n, d] = FACTOR[item.price.recurring.interval] ?? [0, 1];
        mrrNow += Math.round(
          (item.price.unit_amount * item.quantity * n) / (d * item.price.recurring.interval_count),
        );
      }
    }
    expect(mrrNow).toBeGreaterThan(0);
    expect(answer.months.at(-1)?.mrr.end).toBe(mrrNow);

    // Paid revenue of each month is the imported orders' paid amounts of that month.
    const orders = await readAll(handlers, token, 'orders');
    for (const month of answer.months) {
      const gross = orders
        .filter(
          (o) => typeof o.paidAt === 'string' && o.paidAt.startsWith(month.month) && o.currency === 'usd',
        )
        .reduce((sum, o) => sum + Number(o.amountPaid), 0);
      expect({ month: month.month, gross: month.revenue.gross }).toEqual({ month: month.month, gross });
    }

    // A subscription the backfill saw once has its past reconstructed before the snapshot.
    const canceled = clinic.objects.subscriptions.find((s) => imported.has(s.id) && s.status === 'canceled');
    expect(canceled).toBeDefined();
    const history = (await handlers.history(String(canceled?.id), { headers: bearer(token) })).json<{
      data: { source: string; status: string }[];
    }>();
    expect(history.data.map((l) => l.source)).toContain('reconstructed');
    expect(history.data.at(-1)).toMatchObject({ source: 'backfill', status: 'canceled' });
    expect(history.data.find((l) => l.source === 'reconstructed' && l.status === 'canceled')).toBeDefined();
  });
});
