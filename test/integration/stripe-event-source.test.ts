import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { createStripeClient } from '#shared/adapters/stripe/stripe-client.ts';
import type { RateLimitOptions } from '#shared/adapters/stripe/stripe-read-pacer.ts';
import { lazyPlatformClient, StripeSdkEventSource } from '#shared/adapters/stripe/stripe-sdk-event-source.ts';
import { StripeReadError } from '#shared/errors/stripe-read-error.ts';
import type { EventsPageRequest } from '#shared/ports/stripe-event-source.ts';
import { FakeStripe } from '../../scripts/stripe-emulator/fake-stripe-server.ts';
import { happenAtStripe } from '../../scripts/stripe-emulator/stripe-activity.ts';
import { current, type StripeObject, stripeEvent } from '../../scripts/stripe-emulator/stripe-objects.ts';

/**
 * The Events API adapter through the real `stripe` SDK over HTTP to the fake Stripe: one page
 * per call on behalf of the account, paced and retried like the backfill's reads.
 */

const NOW = 1_790_000_000;
const ACCOUNT = 'acct_1SweepClinic01';
const OTHER = 'acct_1SweepClinic02';

/** Fast retries: the behaviour under test is which failures are retried, not the delays. */
const FAST: RateLimitOptions = {
  requestsPerSecond: 1000,
  maxConcurrent: 2,
  maxAttempts: 4,
  baseDelayMs: 5,
  maxDelayMs: 20,
};

let fake: FakeStripe;

function source(rateLimit: RateLimitOptions = FAST): StripeSdkEventSource {
  const stripe = createStripeClient({ secretKey: fake.secretKey, apiBaseUrl: new URL(fake.url) });
  return new StripeSdkEventSource({ stripe, rateLimit });
}

/** `n` events of `account`, one every 30 s up to NOW; oldest first. */
function record(n: number, account = ACCOUNT): StripeObject[] {
  return fake.recordEvent(
    ...Array.from({ length: n }, (_, i) => {
      const created = NOW - (n - 1 - i) * 30;
      return stripeEvent('customer.updated', current.customer({ id: `cus_Sweep${i}`, created }), {
        id: `evt_Sweep${account.slice(-2)}${String(i).padStart(4, '0')}`,
        created,
        account,
      });
    }),
  );
}

async function failure(promise: Promise<unknown>): Promise<StripeReadError> {
  try {
    await promise;
  } catch (error) {
    expect(error).toBeInstanceOf(StripeReadError);
    return error as StripeReadError;
  }
  throw new Error('expected the read to fail');
}

beforeAll(async () => {
  fake = new FakeStripe({ now: () => NOW });
  await fake.start();
});
afterAll(() => fake.stop());

beforeEach(() => {
  fake.connected.clear();
  fake.connectAccount(ACCOUNT);
  fake.connectAccount(OTHER);
  fake.accountData(ACCOUNT).clear();
  fake.accountData(OTHER).clear();
  fake.rateLimit = null;
  fake.clearFaults();
  fake.requests.length = 0;
  fake.resetStats();
});

describe('StripeSdkEventSource', () => {
  it('pages an account’s events newest first in ceil(n/100) requests, on behalf of the account', async () => {
    const recorded = record(250);
    record(5, OTHER);
    const events = source();
    const createdAfter = recorded[9]?.created as number;
    const seen: string[] = [];
    let request: EventsPageRequest = { stripeAccountId: ACCOUNT, createdAfter };
    for (;;) {
      const page = await events.listEventsPage(request);
      seen.push(...page.events.map((e) => e.id as string));
      expect(page.lastId).toBe(page.events.at(-1)?.id);
      if (!page.hasMore) break;
      request = { ...request, startingAfter: page.lastId };
    }
    expect(seen).toEqual(
      recorded
        .slice(10)
        .map((e) => e.id)
        .reverse(),
    );

    const requests = fake.requestsTo('/v1/events');
    expect(requests).toHaveLength(3);
    for (const sent of requests) {
      expect(sent.method).toBe('GET');
      expect(sent.headers['stripe-account']).toBe(ACCOUNT);
      expect(sent.headers.authorization).toBe(`Bearer ${fake.secretKey}`);
      expect(sent.params).toMatchObject({ limit: '100', 'created[gt]': String(createdAfter) });
    }
    expect(requests[0]?.params.starting_after).toBeUndefined();
    expect(requests[1]?.params.starting_after).toBe(seen[99]);
    expect(requests[2]?.params.starting_after).toBe(seen[199]);
    expect(events.stats).toMatchObject({ requests: 3, retries: 0, rateLimited: 0 });
  });

  it('returns the events as listed (the envelope a webhook carries), and an empty last page', async () => {
    fake.seed(ACCOUNT, { customers: [current.customer({ id: 'cus_Present', created: NOW - 100 })] });
    const [fired] = happenAtStripe(fake, ACCOUNT, 'customer.created');
    const page = await source().listEventsPage({ stripeAccountId: ACCOUNT, createdAfter: NOW - 60 });
    expect(page.hasMore).toBe(false);
    expect(page.events).toEqual([fired]);
    expect(page.lastId).toBe(fired?.id);

    const empty = await source().listEventsPage({ stripeAccountId: ACCOUNT, createdAfter: NOW });
    expect(empty).toEqual({ events: [], hasMore: false, lastId: undefined });
  });

  it('sends limit and types[] when asked, and refuses a request Stripe would refuse before sending it', async () => {
    record(3);
    const events = source();
    const page = await events.listEventsPage({
      stripeAccountId: ACCOUNT,
      createdAfter: 0,
      limit: 2,
      types: ['customer.updated', 'invoice.paid'],
    });
    expect(page.events).toHaveLength(2);
    expect(page.hasMore).toBe(true);
    expect(fake.requestsTo('/v1/events')[0]?.params).toMatchObject({
      limit: '2',
      'types[0]': 'customer.updated',
      'types[1]': 'invoice.paid',
    });

    fake.requests.length = 0;
    for (const bad of [{ limit: 0 }, { limit: 101 }, { types: [] }, { createdAfter: 1.5 }]) {
      await expect(
        events.listEventsPage({ stripeAccountId: ACCOUNT, createdAfter: 0, ...bad }),
        JSON.stringify(bad),
      ).rejects.toBeInstanceOf(RangeError);
    }
    expect(fake.requestsTo('/v1/events')).toHaveLength(0);
  });

  it('backs off on a 429 and then succeeds', async () => {
    record(3);
    fake.injectFault('/v1/events', { status: 429 });
    const events = source();
    const page = await events.listEventsPage({ stripeAccountId: ACCOUNT, createdAfter: 0 });
    expect(page.events).toHaveLength(3);
    expect(fake.requestsTo('/v1/events')).toHaveLength(2);
    expect(events.stats).toMatchObject({ requests: 2, rateLimited: 1, retries: 1 });
    // The pace was halved by the 429 and is winning it back.
    expect(events.stats.pace).toBeLessThan(FAST.requestsPerSecond);
  });

  it('goes one request at a time after Stripe’s concurrency 429 (Stripe-Rate-Limited-Reason)', async () => {
    record(3);
    fake.rateLimit = { perSecond: 2, burst: 1, reason: 'endpoint-concurrency' };
    const events = source({ ...FAST, maxAttempts: 8, baseDelayMs: 300, maxDelayMs: 600 });
    const pages = await Promise.all([
      events.listEventsPage({ stripeAccountId: ACCOUNT, createdAfter: 0 }),
      events.listEventsPage({ stripeAccountId: ACCOUNT, createdAfter: 0 }),
    ]);
    expect(pages.map((p) => p.events.length)).toEqual([3, 3]);
    expect(fake.stats().rateLimited).toBeGreaterThan(0);
    expect(events.stats.concurrency).toBe(1);
  });

  it('retries 5xx and dropped connections', async () => {
    record(2);
    fake.injectFault('/v1/events', { status: 500 }, { drop: true }, { status: 503 });
    const events = source();
    const page = await events.listEventsPage({ stripeAccountId: ACCOUNT, createdAfter: 0 });
    expect(page.events).toHaveLength(2);
    // The SDK itself retries a closed connection once, whatever maxNetworkRetries says.
    expect(fake.requestsTo('/v1/events')).toHaveLength(4);
    expect(events.stats).toMatchObject({ requests: 3, retries: 2, rateLimited: 0 });
  });

  it('gives up after its attempts with a retryable StripeReadError', async () => {
    record(2);
    fake.injectFault('/v1/events', ...Array.from({ length: FAST.maxAttempts }, () => ({ status: 502 })));
    const error = await failure(source().listEventsPage({ stripeAccountId: ACCOUNT, createdAfter: 0 }));
    expect(error).toMatchObject({ retryable: true, outOfTime: false });
    expect(error.reason).toBe(`Stripe 502 after ${FAST.maxAttempts} attempts`);
    expect(fake.requestsTo('/v1/events')).toHaveLength(FAST.maxAttempts);
    expect(error.message).not.toContain(fake.secretKey);
  });

  it('gives up as out of time when the retries would pass its budget', async () => {
    record(2);
    fake.injectFault('/v1/events', { status: 429 }, { status: 429 }, { status: 429 });
    const slow = { ...FAST, baseDelayMs: 400, maxDelayMs: 2000 };
    const error = await failure(
      source(slow).listEventsPage({ stripeAccountId: ACCOUNT, createdAfter: 0, retryBudgetMs: 500 }),
    );
    expect(error).toMatchObject({ retryable: true, outOfTime: true });
    expect(fake.requestsTo('/v1/events')).toHaveLength(2);
  });

  it('does not retry a refusal: a revoked account is a permanent StripeReadError', async () => {
    record(2);
    fake.connected.delete(ACCOUNT);
    const error = await failure(source().listEventsPage({ stripeAccountId: ACCOUNT, createdAfter: 0 }));
    expect(error).toMatchObject({ retryable: false, reason: 'Stripe 403 invalid_request_error' });
    expect(fake.requestsTo('/v1/events')).toHaveLength(1);
  });

  it('resolves the platform key per attempt: a failed lookup is retried, a rotated key used', async () => {
    record(2);
    let lookups = 0;
    let key = fake.secretKey;
    const secretKey = async () => {
      lookups += 1;
      if (lookups === 1) {
        // What the AWS SDK throws when Secrets Manager cannot be reached.
        throw Object.assign(new Error('socket hang up'), { name: 'TimeoutError', $metadata: {} });
      }
      return key;
    };
    const events = new StripeSdkEventSource({
      stripe: lazyPlatformClient(secretKey, new URL(fake.url)),
      rateLimit: FAST,
    });
    const page = await events.listEventsPage({ stripeAccountId: ACCOUNT, createdAfter: 0 });
    expect(page.events).toHaveLength(2);
    expect(lookups).toBe(2);

    key = 'sk_test_rotatedkey0000000000000000';
    const refused = await failure(events.listEventsPage({ stripeAccountId: ACCOUNT, createdAfter: 0 }));
    expect(refused).toMatchObject({ retryable: false, reason: 'Stripe 401 invalid_request_error' });
    expect(fake.requests.at(-1)?.headers.authorization).toBe(`Bearer ${key}`);
  });
});
