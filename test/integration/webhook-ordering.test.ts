import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { eventStream, shuffledWithDuplicates } from '../support/event-stream.ts';
import { bearer, type Handlers, handlersFor } from '../support/handlers.ts';
import { createTestApp, type TestApp, tenantA, tenantB } from '../support/harness.ts';
import { connectWithSecret, readAll, sign } from '../support/webhook-helpers.ts';

const SECRET_A = `whsec_${'orderedstream'.repeat(2)}`;
const SECRET_B = `whsec_${'shuffledstream'.repeat(2)}`;

let app: TestApp;
let handlers: Handlers;
let tokenA: string;
let tokenB: string;

beforeAll(async () => {
  app = await createTestApp();
  handlers = handlersFor(app);
  tokenA = await app.session(tenantA);
  tokenB = await app.session(tenantB);
  await connectWithSecret(app, handlers, tokenA, 'acct_1Ordered', SECRET_A);
  await connectWithSecret(app, handlers, tokenB, 'acct_1Shuffled', SECRET_B);
});
afterAll(() => app.close());

async function deliver(slug: string, secret: string, events: object[], concurrency: number) {
  const statuses: number[] = [];
  for (let i = 0; i < events.length; i += concurrency) {
    const batch = events.slice(i, i + concurrency);
    // As Stripe does: a delivery told to retry (409, a duplicate still in progress) is sent again.
    const responses = await Promise.all(
      batch.map(async (event) => {
        const body = JSON.stringify(event);
        for (let attempt = 1; ; attempt++) {
          const response = await handlers.tenantWebhook(slug, {
            headers: { 'stripe-signature': sign(body, secret) },
            body,
          });
          if (response.statusCode !== 409 || attempt >= 20) return response;
          await new Promise((resolve) => setTimeout(resolve, 20));
        }
      }),
    );
    statuses.push(...responses.map((r) => r.statusCode));
  }
  return statuses;
}

describe('ordering', () => {
  it('a shuffled stream of 500 events with 10 % duplicates ends in exactly the records of the ordered stream', async () => {
    const events = eventStream(500, { seed: 42 });
    const shuffled = shuffledWithDuplicates(events, 0.1, 9);
    expect(shuffled).toHaveLength(550);

    expect(new Set(await deliver('clinic-a', SECRET_A, events, 1))).toEqual(new Set([200]));
    expect(new Set(await deliver('clinic-b', SECRET_B, shuffled, 8))).toEqual(new Set([200]));

    for (const collection of ['customers', 'subscriptions', 'orders']) {
      const ordered = await readAll(handlers, tokenA, collection);
      const fromShuffled = await readAll(handlers, tokenB, collection);
      expect(ordered.length).toBeGreaterThan(10);
      expect(fromShuffled).toEqual(ordered);
    }
    // The stream exercises what matters: deletions, cancellations, refunds.
    const customers = await readAll(handlers, tokenA, 'customers');
    expect(customers.some((c) => c.deleted === true)).toBe(true);
    const subscriptions = await readAll(handlers, tokenA, 'subscriptions');
    expect(subscriptions.some((s) => s.status === 'canceled')).toBe(true);
    const orders = await readAll(handlers, tokenA, 'orders');
    expect(orders.some((o) => (o.amountRefunded as number) > 0)).toBe(true);
    expect(orders.some((o) => o.kind === 'one_time')).toBe(true);
    expect(orders.some((o) => (o.amountCredited as number) > 0)).toBe(true);
    expect(orders.some((o) => o.disputeStatus !== null)).toBe(true);

    // The history and the metrics: the same from either stream, whatever order it came in.
    for (const subscription of subscriptions) {
      const id = String(subscription.id);
      const ordered = (await handlers.history(id, { headers: bearer(tokenA), query: 'limit=100' })).json();
      const fromShuffled = (
        await handlers.history(id, { headers: bearer(tokenB), query: 'limit=100' })
      ).json();
      expect(fromShuffled).toEqual(ordered);
      // Its last line is the record's state: one ordering rule for both.
      const last = (ordered.data as { status: string; mrr: number }[]).at(-1);
      expect(last).toMatchObject({ status: subscription.status, mrr: subscription.mrr });
    }
    const query = 'from=2025-12&to=2026-11';
    const metricsA = await handlers.metrics({ headers: bearer(tokenA), query });
    const metricsB = await handlers.metrics({ headers: bearer(tokenB), query });
    expect(metricsA.statusCode).toBe(200);
    expect(metricsB.json()).toEqual(metricsA.json());
    // MRR now is the records' MRR summed in the answer's currency.
    const answer = metricsA.json<{ currency: string; months: { mrr: { end: number } }[] }>();
    const recordsMrr = subscriptions
      .filter((s) => s.currency === answer.currency)
      .reduce((sum, s) => sum + Number(s.mrr), 0);
    expect(recordsMrr).toBeGreaterThan(0);
    expect(answer.months.at(-1)?.mrr.end).toBe(recordsMrr);
  }, 120_000);
});
