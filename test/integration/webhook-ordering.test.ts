import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { eventStream, shuffledWithDuplicates } from '../support/event-stream.ts';
import { type Handlers, handlersFor } from '../support/handlers.ts';
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
  }, 120_000);
});
