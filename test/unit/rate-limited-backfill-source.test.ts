import { GetParameterError } from '@aws-lambda-powertools/parameters/errors';
import { InternalServiceError } from '@aws-sdk/client-secrets-manager';
import { afterEach, describe, expect, it } from 'vitest';
import { RateLimitedBackfillSource } from '#shared/adapters/stripe/rate-limited-backfill-source.ts';
import { createStripeClient } from '#shared/adapters/stripe/stripe-client.ts';
import { StripeSdkBackfillSource } from '#shared/adapters/stripe/stripe-sdk-backfill-source.ts';
import type { ListPage, StripeBackfillSource } from '#shared/ports/stripe-backfill-source.ts';
import { FakeStripe } from '../../scripts/stripe-emulator/fake-stripe-server.ts';
import { seedClinic } from '../../scripts/stripe-emulator/seed-clinic.ts';

const REQUEST = { stripeAccountId: 'acct_1Pace', createdGte: 0, startingAfter: undefined };
const PAGE: ListPage = { data: [], hasMore: false };

/** A scripted source: each call answers the next outcome (a page, or a 429 with a reason). */
function scripted(outcomes: readonly ('ok' | 'rate' | 'concurrency')[]): StripeBackfillSource {
  let call = 0;
  return {
    async listPage() {
      const outcome = outcomes[call++] ?? 'ok';
      if (outcome === 'ok') return PAGE;
      throw Object.assign(new Error('Too many requests'), {
        statusCode: 429,
        type: 'StripeRateLimitError',
        headers: {
          'stripe-rate-limited-reason': outcome === 'rate' ? 'global-rate' : 'endpoint-concurrency',
        },
      });
    },
  };
}

/** A virtual clock: sleeping moves it, so pacing is exact and instant. */
function virtualTime() {
  let now = 0;
  const slept: number[] = [];
  return {
    now: () => now,
    sleep: async (ms: number) => {
      slept.push(ms);
      now += ms;
    },
    slept,
  };
}

const limits = (time: ReturnType<typeof virtualTime>) => ({
  requestsPerSecond: 20,
  maxConcurrent: 2,
  maxAttempts: 8,
  baseDelayMs: 100,
  maxDelayMs: 1000,
  now: time.now,
  sleep: time.sleep,
  random: () => 0.5,
});

describe('RateLimitedBackfillSource pacing', () => {
  it('halves its pace on a rate 429 and wins it back step by step on success', async () => {
    const time = virtualTime();
    const source = new RateLimitedBackfillSource(scripted(['ok', 'rate', 'ok']), limits(time));
    await source.listPage('customers', REQUEST);
    expect(source.stats.pace).toBe(20);
    await source.listPage('customers', REQUEST);
    // 429 → 10 per second, then the retry's success → 10.5.
    expect(source.stats).toMatchObject({ rateLimited: 1, retries: 1, pace: 10.5 });
    for (let i = 0; i < 30; i += 1) await source.listPage('customers', REQUEST);
    expect(source.stats.pace).toBe(20);
  });

  it('never goes below one request a second, however many 429s', async () => {
    // One halving a second at most: backoffs of 1.5 s keep these 429s apart.
    const time = virtualTime();
    const source = new RateLimitedBackfillSource(
      scripted(['rate', 'rate', 'rate', 'rate', 'rate', 'rate', 'rate']),
      { ...limits(time), baseDelayMs: 2000, maxDelayMs: 2000 },
    );
    await source.listPage('customers', REQUEST);
    expect(source.stats.rateLimited).toBe(7);
    // 20 → 10 → 5 → 2.5 → 1.25 → 1 → 1 → 1, then +0.5 for the success.
    expect(source.stats.pace).toBe(1.5);
  });

  it('spaces requests by the current pace', async () => {
    const time = virtualTime();
    const source = new RateLimitedBackfillSource(scripted([]), limits(time));
    for (let i = 0; i < 5; i += 1) await source.listPage('customers', REQUEST);
    // 20 per second: one every 50 ms after the first.
    expect(time.now()).toBe(200);
  });

  it('drops to one request in flight when Stripe says the limit was on concurrency, and wins it back', async () => {
    const time = virtualTime();
    const source = new RateLimitedBackfillSource(scripted(['concurrency']), limits(time));
    await source.listPage('customers', REQUEST);
    expect(source.stats).toMatchObject({ concurrency: 1, pace: 20 });
    // The source lives as long as the worker's container: the next runs must not stay at one.
    // The retry that followed the 429 was the first success of twenty.
    for (let i = 0; i < 18; i += 1) await source.listPage('customers', REQUEST);
    expect(source.stats.concurrency).toBe(1);
    await source.listPage('customers', REQUEST);
    expect(source.stats.concurrency).toBe(2);
  });

  it('halves its pace once for a burst of 429s, not once per request in flight', async () => {
    const time = virtualTime();
    const source = new RateLimitedBackfillSource(scripted(['rate', 'rate']), limits(time));
    await Promise.all([source.listPage('customers', REQUEST), source.listPage('customers', REQUEST)]);
    expect(source.stats.rateLimited).toBe(2);
    // 20 → 10 once, then the two successes: 11.
    expect(source.stats.pace).toBe(11);
  });

  it("paces each Stripe account on its own: one tenant's 429s do not slow the next tenant", async () => {
    const time = virtualTime();
    const source = new RateLimitedBackfillSource(scripted(['rate', 'concurrency']), limits(time));
    await source.listPage('customers', { ...REQUEST, stripeAccountId: 'acct_1Throttled' });
    expect(source.stats).toMatchObject({ pace: 10.5, concurrency: 1 });
    await source.listPage('customers', { ...REQUEST, stripeAccountId: 'acct_1Fresh' });
    expect(source.stats).toMatchObject({ pace: 20, concurrency: 2 });
  });

  it('gives up a page whose retries would outlast its budget, saying so', async () => {
    const time = virtualTime();
    const source = new RateLimitedBackfillSource(scripted(['rate', 'rate', 'rate', 'rate']), limits(time));
    const error = await source
      .listPage('customers', { ...REQUEST, retryBudgetMs: 300 })
      .catch((e: unknown) => e as { outOfTime?: boolean; retryable?: boolean });
    expect(error).toMatchObject({ outOfTime: true, retryable: true });
    expect(time.now()).toBeLessThanOrEqual(300);
  });

  it('calls an error that is neither Stripe nor the network a permanent internal error', async () => {
    const time = virtualTime();
    const broken: StripeBackfillSource = {
      async listPage() {
        throw new TypeError('Cannot read properties of undefined');
      },
    };
    const source = new RateLimitedBackfillSource(broken, limits(time));
    await expect(source.listPage('customers', REQUEST)).rejects.toMatchObject({
      retryable: false,
      reason: 'internal error (TypeError)',
    });
    expect(source.stats.retries).toBe(0);
  });

  it("retries a Secrets Manager outage behind Powertools' GetParameterError (the platform key), then reads", async () => {
    const time = virtualTime();
    let calls = 0;
    const keyOutage: StripeBackfillSource = {
      async listPage() {
        calls += 1;
        if (calls <= 2) {
          const outage = new InternalServiceError({
            $metadata: { httpStatusCode: 500 },
            message: 'server side',
          });
          throw new GetParameterError(outage.message, { cause: outage });
        }
        return PAGE;
      },
    };
    const source = new RateLimitedBackfillSource(keyOutage, limits(time));
    await expect(source.listPage('customers', REQUEST)).resolves.toEqual(PAGE);
    expect(source.stats.retries).toBe(2);
  });

  it('still calls a wrapped error that is not from AWS permanent', async () => {
    const time = virtualTime();
    const broken: StripeBackfillSource = {
      async listPage() {
        throw new GetParameterError('bad', { cause: new TypeError('x is undefined') });
      },
    };
    const source = new RateLimitedBackfillSource(broken, limits(time));
    await expect(source.listPage('customers', REQUEST)).rejects.toMatchObject({
      retryable: false,
      reason: 'internal error (GetParameterError)',
    });
  });
});

describe('RateLimitedBackfillSource against the fake Stripe through the SDK', () => {
  let fake: FakeStripe | undefined;
  afterEach(async () => fake?.stop());

  it("reads Stripe-Rate-Limited-Reason off the SDK's error", async () => {
    fake = new FakeStripe({ rateLimit: { perSecond: 1, burst: 1, reason: 'global-concurrency' } });
    const url = await fake.start();
    const clinic = seedClinic({
      accountId: REQUEST.stripeAccountId,
      now: Math.floor(Date.now() / 1000),
      days: 10,
      customers: 3,
      subscriptions: 1,
      invoices: 1,
      oneTimePayments: 1,
    });
    fake.connectAccount(REQUEST.stripeAccountId);
    fake.seed(REQUEST.stripeAccountId, clinic.objects);
    const stripe = createStripeClient({ secretKey: fake.secretKey, apiBaseUrl: new URL(url) });
    const source = new RateLimitedBackfillSource(new StripeSdkBackfillSource(stripe), {
      requestsPerSecond: 1000,
      maxConcurrent: 2,
      maxAttempts: 10,
      baseDelayMs: 200,
      maxDelayMs: 1000,
    });
    const pages = await Promise.all([
      source.listPage('customers', REQUEST),
      source.listPage('customers', REQUEST),
    ]);
    expect(pages.map((page) => page.data.length)).toEqual([3, 3]);
    expect(source.stats.rateLimited).toBeGreaterThan(0);
    expect(source.stats.concurrency).toBe(1);
    expect(source.stats.pace).toBe(1000);
  });
});
