import Stripe from 'stripe';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { COLLECTION_NAMES } from '../../scripts/stripe-emulator/account-data.ts';
import { FakeStripe } from '../../scripts/stripe-emulator/fake-stripe-server.ts';
import {
  CLINIC_PHI_MARKER,
  countObjects,
  EDGE_GUARD_SECONDS,
  expectedImports,
  type OrderAdjustment,
  type SeedClinicOptions,
  seedClinic,
} from '../../scripts/stripe-emulator/seed-clinic.ts';
import { current, DAY, type StripeObject } from '../../scripts/stripe-emulator/stripe-objects.ts';

/**
 * The fake Stripe's list endpoints, driven by the real SDK (no mocked SDK methods), and the
 * clinic generator that backfill tests and the benchmark seed it with.
 */

const NOW = 1_790_000_000; // 2026-09-21T13:33:20Z
const ACCOUNT = 'acct_1ListsClinicA';
const OTHER = 'acct_1ListsClinicB';

let fake: FakeStripe;
let port: number;

function sdk(options: { maxNetworkRetries?: number; key?: string } = {}): Stripe {
  return new Stripe(options.key ?? fake.secretKey, {
    host: '127.0.0.1',
    port,
    protocol: 'http',
    maxNetworkRetries: options.maxNetworkRetries ?? 0,
    telemetry: false,
  });
}

const asAccount = (stripeAccount: string) => ({ stripeAccount });

/** `n` customers one minute apart, the newest at `NOW`; returned oldest first. */
function customers(n: number, prefix = 'cus_T'): StripeObject[] {
  return Array.from({ length: n }, (_, i) =>
    current.customer({ id: `${prefix}${String(i).padStart(5, '0')}`, created: NOW - (n - 1 - i) * 60 }),
  );
}

const idsOf = (list: { data: { id: string }[] }) => list.data.map((o) => o.id);

async function rejection(promise: Promise<unknown>): Promise<Stripe.errors.StripeError> {
  try {
    await promise;
  } catch (error) {
    return error as Stripe.errors.StripeError;
  }
  throw new Error('expected the request to fail');
}

beforeAll(async () => {
  fake = new FakeStripe();
  port = Number(new URL(await fake.start()).port);
});
afterAll(() => fake.stop());

beforeEach(() => {
  fake.connected.clear();
  fake.connectAccount(ACCOUNT);
  fake.connectAccount(OTHER);
  fake.accountData(ACCOUNT).clear();
  fake.accountData(OTHER).clear();
  fake.requests.length = 0;
  fake.resetStats();
});
afterEach(() => {
  fake.latencyMs = 0;
  fake.rateLimit = null;
});

describe('pagination', () => {
  it('pages newest first with limit and starting_after, up to has_more: false', async () => {
    const seeded = customers(250);
    fake.seed(ACCOUNT, { customers: seeded });
    const stripe = sdk();
    const newestFirst = seeded.map((c) => c.id as string).reverse();

    const first = await stripe.customers.list({ limit: 100 }, asAccount(ACCOUNT));
    expect(first.object).toBe('list');
    expect(first.url).toBe('/v1/customers');
    expect(first.has_more).toBe(true);
    expect(idsOf(first)).toEqual(newestFirst.slice(0, 100));

    const second = await stripe.customers.list(
      { limit: 100, starting_after: first.data.at(-1)?.id },
      asAccount(ACCOUNT),
    );
    expect(idsOf(second)).toEqual(newestFirst.slice(100, 200));
    expect(second.has_more).toBe(true);

    const third = await stripe.customers.list(
      { limit: 100, starting_after: second.data.at(-1)?.id },
      asAccount(ACCOUNT),
    );
    expect(idsOf(third)).toEqual(newestFirst.slice(200));
    expect(third.has_more).toBe(false);
  });

  it('auto-paginates with for await in ceil(n/100) requests', async () => {
    fake.seed(ACCOUNT, { customers: customers(1_234) });
    const seen: string[] = [];
    for await (const customer of sdk().customers.list({ limit: 100 }, asAccount(ACCOUNT))) {
      seen.push(customer.id);
    }
    expect(seen).toHaveLength(1_234);
    expect(new Set(seen).size).toBe(1_234);
    expect(seen[0]).toBe('cus_T01233');
    expect(seen.at(-1)).toBe('cus_T00000');
    expect(fake.requestsTo('/v1/customers')).toHaveLength(13);
    expect(fake.requestsTo('/v1/customers').every((r) => r.params.limit === '100')).toBe(true);
  });

  it('auto-paginates backwards from ending_before', async () => {
    fake.seed(ACCOUNT, { customers: customers(30) });
    const seen: string[] = [];
    for await (const customer of sdk().customers.list(
      { limit: 7, ending_before: 'cus_T00009' },
      asAccount(ACCOUNT),
    )) {
      seen.push(customer.id);
    }
    // Reverse iteration: from the object just newer than the cursor to the newest.
    expect(seen).toEqual(Array.from({ length: 20 }, (_, i) => `cus_T${String(10 + i).padStart(5, '0')}`));
  });

  it('answers an ending_before page newest first, nearest to the cursor', async () => {
    fake.seed(ACCOUNT, { customers: customers(30) });
    const page = await sdk().customers.list({ limit: 3, ending_before: 'cus_T00010' }, asAccount(ACCOUNT));
    expect(idsOf(page)).toEqual(['cus_T00013', 'cus_T00012', 'cus_T00011']);
    expect(page.has_more).toBe(true);
  });

  it('orders objects created in the same second by id, descending', async () => {
    fake.seed(ACCOUNT, {
      customers: ['cus_B', 'cus_C', 'cus_A'].map((id) => current.customer({ id, created: NOW })),
    });
    const page = await sdk().customers.list({}, asAccount(ACCOUNT));
    expect(idsOf(page)).toEqual(['cus_C', 'cus_B', 'cus_A']);
    const after = await sdk().customers.list({ starting_after: 'cus_C' }, asAccount(ACCOUNT));
    expect(idsOf(after)).toEqual(['cus_B', 'cus_A']);
  });

  it('defaults limit to 10 and rejects limits outside 1..100 like Stripe', async () => {
    fake.seed(ACCOUNT, { customers: customers(25) });
    const stripe = sdk();
    expect((await stripe.customers.list({}, asAccount(ACCOUNT))).data).toHaveLength(10);
    for (const limit of [0, 101]) {
      const error = await rejection(stripe.customers.list({ limit }, asAccount(ACCOUNT)));
      expect(error).toBeInstanceOf(Stripe.errors.StripeInvalidRequestError);
      expect(error.statusCode).toBe(400);
      expect(error.param).toBe('limit');
    }
  });

  it('rejects an unknown cursor with "No such <object>"', async () => {
    fake.seed(ACCOUNT, { customers: customers(3) });
    const error = await rejection(sdk().invoices.list({ starting_after: 'in_1Missing' }, asAccount(ACCOUNT)));
    expect(error).toBeInstanceOf(Stripe.errors.StripeInvalidRequestError);
    expect(error.statusCode).toBe(400);
    expect(error.code).toBe('resource_missing');
    expect(error.param).toBe('starting_after');
    expect(error.message).toBe("No such invoice: 'in_1Missing'");
  });

  it('rejects both cursors at once, unknown parameters, and a POST', async () => {
    fake.seed(ACCOUNT, { customers: customers(3) });
    const stripe = sdk();
    const both = await rejection(
      stripe.customers.list(
        { starting_after: 'cus_T00001', ending_before: 'cus_T00000' },
        asAccount(ACCOUNT),
      ),
    );
    expect(both.statusCode).toBe(400);
    const unknown = await rejection(
      stripe.paymentIntents.list(
        { status: 'succeeded' } as Stripe.PaymentIntentListParams,
        asAccount(ACCOUNT),
      ),
    );
    expect(unknown.message).toBe('Received unknown parameter: status');
    const post = await fetch(`${fake.url}/v1/customers`, {
      method: 'POST',
      headers: { authorization: `Bearer ${fake.secretKey}`, 'stripe-account': ACCOUNT },
    });
    expect(post.status).toBe(404);
  });
});

describe('created filters', () => {
  beforeEach(() => fake.seed(ACCOUNT, { customers: customers(100) }));
  const at = (i: number) => NOW - (99 - i) * 60; // created of cus_T000{i}

  it('applies gte, gt, lte and lt, encoded qs-style by the SDK', async () => {
    const stripe = sdk();
    const gteLt = await stripe.customers.list(
      { limit: 100, created: { gte: at(10), lt: at(20) } },
      asAccount(ACCOUNT),
    );
    expect(idsOf(gteLt)).toEqual(
      Array.from({ length: 10 }, (_, i) => `cus_T${String(19 - i).padStart(5, '0')}`),
    );
    expect(fake.requestsTo('/v1/customers').at(-1)?.query).toContain('created[gte]=');

    const gtLte = await stripe.customers.list(
      { limit: 100, created: { gt: at(10), lte: at(20) } },
      asAccount(ACCOUNT),
    );
    expect(idsOf(gtLte)).toHaveLength(10);
    expect(idsOf(gtLte)[0]).toBe('cus_T00020');
    expect(idsOf(gtLte).at(-1)).toBe('cus_T00011');
  });

  it('takes a plain created=<int> as an exact time', async () => {
    const page = await sdk().customers.list({ created: at(42) }, asAccount(ACCOUNT));
    expect(idsOf(page)).toEqual(['cus_T00042']);
  });

  it('combines a created filter with cursors', async () => {
    const page = await sdk().customers.list(
      { limit: 5, created: { gte: at(50) }, starting_after: 'cus_T00060' },
      asAccount(ACCOUNT),
    );
    expect(idsOf(page)).toEqual(['cus_T00059', 'cus_T00058', 'cus_T00057', 'cus_T00056', 'cus_T00055']);
    expect(page.has_more).toBe(true);
    const last = await sdk().customers.list(
      { limit: 5, created: { gte: at(50) }, starting_after: 'cus_T00052' },
      asAccount(ACCOUNT),
    );
    expect(idsOf(last)).toEqual(['cus_T00051', 'cus_T00050']);
    expect(last.has_more).toBe(false);
  });

  it('rejects a non-integer bound and unknown range keys', async () => {
    const bad = await fetch(`${fake.url}/v1/customers?created[gte]=yesterday`, {
      headers: { authorization: `Bearer ${fake.secretKey}`, 'stripe-account': ACCOUNT },
    });
    expect(bad.status).toBe(400);
    expect(await bad.json()).toMatchObject({
      error: { type: 'invalid_request_error', param: 'created[gte]' },
    });
    const unknown = await fetch(`${fake.url}/v1/customers?created[after]=1`, {
      headers: { authorization: `Bearer ${fake.secretKey}`, 'stripe-account': ACCOUNT },
    });
    expect(unknown.status).toBe(400);
  });
});

describe('status and relation filters', () => {
  const statuses = [
    'active',
    'past_due',
    'unpaid',
    'trialing',
    'canceled',
    'incomplete_expired',
    'incomplete',
  ];
  beforeEach(() =>
    fake.seed(ACCOUNT, {
      subscriptions: statuses.map((status, i) =>
        current.subscription({ id: `sub_${status}`, status, created: NOW - i }),
      ),
      invoices: ['draft', 'open', 'paid', 'uncollectible', 'void', 'paid'].map((status, i) =>
        current.invoice({ id: `in_${i}_${status}`, status, created: NOW - i }),
      ),
    }),
  );

  it('lists subscriptions that are not canceled or expired by default; status=all lists all', async () => {
    const stripe = sdk();
    const byDefault = await stripe.subscriptions.list({}, asAccount(ACCOUNT));
    expect(byDefault.data.map((s) => s.status).sort()).toEqual(
      ['active', 'incomplete', 'past_due', 'trialing', 'unpaid'].sort(),
    );
    const all = await stripe.subscriptions.list({ status: 'all' }, asAccount(ACCOUNT));
    expect(all.data).toHaveLength(statuses.length);
    const canceled = await stripe.subscriptions.list({ status: 'canceled' }, asAccount(ACCOUNT));
    expect(idsOf(canceled)).toEqual(['sub_canceled']);
    const ended = await stripe.subscriptions.list({ status: 'ended' }, asAccount(ACCOUNT));
    expect(idsOf(ended).sort()).toEqual(['sub_canceled', 'sub_incomplete_expired']);
    const bad = await rejection(
      stripe.subscriptions.list(
        { status: 'gone' as Stripe.SubscriptionListParams.Status },
        asAccount(ACCOUNT),
      ),
    );
    expect(bad.statusCode).toBe(400);
    expect(bad.param).toBe('status');
  });

  it('filters invoices by status, and rejects status=all as Stripe does', async () => {
    const stripe = sdk();
    expect(idsOf(await stripe.invoices.list({ status: 'paid' }, asAccount(ACCOUNT)))).toEqual([
      'in_2_paid',
      'in_5_paid',
    ]);
    expect((await stripe.invoices.list({}, asAccount(ACCOUNT))).data).toHaveLength(6);
    const bad = await rejection(
      stripe.invoices.list({ status: 'all' as Stripe.InvoiceListParams.Status }, asAccount(ACCOUNT)),
    );
    expect(bad.statusCode).toBe(400);
  });

  it('filters invoice payments by invoice and by payment[payment_intent]', async () => {
    fake.seed(ACCOUNT, {
      invoicePayments: [
        current.invoicePayment({
          id: 'inpay_1',
          invoice: 'in_A',
          payment: { type: 'payment_intent', payment_intent: 'pi_A' },
        }),
        current.invoicePayment({
          id: 'inpay_2',
          invoice: 'in_B',
          payment: { type: 'payment_intent', payment_intent: 'pi_B' },
        }),
        current.invoicePayment({
          id: 'inpay_3',
          invoice: 'in_B',
          payment: { type: 'payment_intent', payment_intent: 'pi_C' },
        }),
      ],
    });
    const stripe = sdk();
    expect(idsOf(await stripe.invoicePayments.list({ invoice: 'in_B' }, asAccount(ACCOUNT)))).toEqual([
      'inpay_3',
      'inpay_2',
    ]);
    const byIntent = await stripe.invoicePayments.list(
      { payment: { type: 'payment_intent', payment_intent: 'pi_B' } },
      asAccount(ACCOUNT),
    );
    expect(idsOf(byIntent)).toEqual(['inpay_2']);
    const none = await stripe.invoicePayments.list(
      { payment: { type: 'payment_intent', payment_intent: 'pi_Z' } },
      asAccount(ACCOUNT),
    );
    expect(none.data).toEqual([]);
    const missingType = await fetch(`${fake.url}/v1/invoice_payments?payment[payment_intent]=pi_B`, {
      headers: { authorization: `Bearer ${fake.secretKey}`, 'stripe-account': ACCOUNT },
    });
    expect(missingType.status).toBe(400);
  });

  it('filters by customer and charges by payment_intent', async () => {
    fake.seed(ACCOUNT, {
      charges: [
        current.charge({ id: 'ch_1', payment_intent: 'pi_1', customer: 'cus_1', created: NOW }),
        current.charge({ id: 'ch_2', payment_intent: 'pi_2', customer: 'cus_2', created: NOW - 1 }),
      ],
    });
    const stripe = sdk();
    expect(idsOf(await stripe.charges.list({ payment_intent: 'pi_2' }, asAccount(ACCOUNT)))).toEqual([
      'ch_2',
    ]);
    expect(idsOf(await stripe.charges.list({ customer: 'cus_1' }, asAccount(ACCOUNT)))).toEqual(['ch_1']);
  });
});

describe('expand', () => {
  beforeEach(() =>
    fake.seed(ACCOUNT, {
      customers: [current.customer()],
      subscriptions: [current.subscription()],
      invoices: [current.invoice()],
      invoicePayments: [current.invoicePayment()],
      paymentIntents: [current.paymentIntent(), current.oneTimePaymentIntent()],
      charges: [
        current.charge(),
        current.charge({ id: 'ch_3QFixtureOneTime', payment_intent: 'pi_3QFixtureOneTime' }),
      ],
    }),
  );

  it('replaces customer ids with customers (data.customer)', async () => {
    const stripe = sdk();
    const subscriptions = await stripe.subscriptions.list({ expand: ['data.customer'] }, asAccount(ACCOUNT));
    expect(subscriptions.data[0]?.customer).toMatchObject({ id: 'cus_QFixturePatient1', object: 'customer' });
    const charges = await stripe.charges.list({ expand: ['data.customer'] }, asAccount(ACCOUNT));
    expect(charges.data.every((c) => typeof c.customer === 'object')).toBe(true);
    const plain = await stripe.invoices.list({}, asAccount(ACCOUNT));
    expect(plain.data[0]?.customer).toBe('cus_QFixturePatient1');
    expect(plain.data[0]?.payments).toBeUndefined();
  });

  it("embeds an invoice's InvoicePayments (data.payments) and expands two paths at once", async () => {
    const invoices = await sdk().invoices.list(
      { expand: ['data.customer', 'data.payments'] },
      asAccount(ACCOUNT),
    );
    expect(fake.requestsTo('/v1/invoices').at(-1)?.query).toContain('expand[0]=data.customer');
    const invoice = invoices.data[0];
    expect(invoice?.customer).toMatchObject({ object: 'customer' });
    expect(invoice?.payments).toMatchObject({
      object: 'list',
      has_more: false,
      data: [{ id: 'inpay_1QFixturePayment', payment: { payment_intent: 'pi_3QFixtureIntent' } }],
    });
  });

  it('expands latest_charge on payment intents, and accepts expand[]= too', async () => {
    const intents = await sdk().paymentIntents.list({ expand: ['data.latest_charge'] }, asAccount(ACCOUNT));
    expect(intents.data.map((pi) => (pi.latest_charge as Stripe.Charge).id).sort()).toEqual([
      'ch_3QFixtureCharge',
      'ch_3QFixtureOneTime',
    ]);
    const raw = await fetch(
      `${fake.url}/v1/payment_intents?expand[]=data.latest_charge&expand[]=data.customer`,
      {
        headers: { authorization: `Bearer ${fake.secretKey}`, 'stripe-account': ACCOUNT },
      },
    );
    const body = (await raw.json()) as { data: StripeObject[] };
    expect(
      body.data.every((pi) => typeof pi.latest_charge === 'object' && typeof pi.customer === 'object'),
    ).toBe(true);
  });

  it('rejects expansions it does not know, like Stripe', async () => {
    for (const path of ['data.nope', 'customer', 'data.payments']) {
      const error = await rejection(sdk().paymentIntents.list({ expand: [path] }, asAccount(ACCOUNT)));
      expect(error).toBeInstanceOf(Stripe.errors.StripeInvalidRequestError);
      expect(error.statusCode).toBe(400);
      expect(error.message).toBe(`This property cannot be expanded (${path}).`);
    }
  });

  it('retrieves single objects with expand, and 404s unknown ids', async () => {
    const stripe = sdk();
    const invoice = await stripe.invoices.retrieve(
      'in_1QFixtureInvoice',
      { expand: ['payments'] },
      asAccount(ACCOUNT),
    );
    expect(invoice.payments?.data).toHaveLength(1);
    const missing = await rejection(stripe.customers.retrieve('cus_nobody', {}, asAccount(ACCOUNT)));
    expect(missing.statusCode).toBe(404);
    expect(missing.message).toBe("No such customer: 'cus_nobody'");
  });
});

describe('accounts and authentication', () => {
  it("keeps each connected account's data to itself", async () => {
    fake.seed(ACCOUNT, { customers: customers(3, 'cus_A') });
    fake.seed(OTHER, { customers: customers(2, 'cus_B') });
    const stripe = sdk();
    expect(idsOf(await stripe.customers.list({}, asAccount(ACCOUNT)))).toEqual([
      'cus_A00002',
      'cus_A00001',
      'cus_A00000',
    ]);
    expect(idsOf(await stripe.customers.list({}, asAccount(OTHER)))).toEqual(['cus_B00001', 'cus_B00000']);
    const foreignCursor = await rejection(
      stripe.customers.list({ starting_after: 'cus_A00001' }, asAccount(OTHER)),
    );
    expect(foreignCursor.statusCode).toBe(400);
    expect(fake.requestsTo('/v1/customers')[0]?.headers['stripe-account']).toBe(ACCOUNT);
  });

  it('answers 403 account_invalid for an account not connected, or no longer connected', async () => {
    fake.seed('acct_1NeverConnected', { customers: customers(1) });
    const stripe = sdk();
    const never = await rejection(stripe.customers.list({}, asAccount('acct_1NeverConnected')));
    expect(never).toBeInstanceOf(Stripe.errors.StripePermissionError);
    expect(never.statusCode).toBe(403);
    expect(never.code).toBe('account_invalid');
    expect(never.message).toContain("does not have access to account 'acct_1NeverConnected'");
    expect(never.message).not.toContain(fake.secretKey);

    await stripe.oauth.deauthorize({ client_id: fake.clientId, stripe_user_id: OTHER });
    const revoked = await rejection(stripe.invoices.list({}, asAccount(OTHER)));
    expect(revoked).toBeInstanceOf(Stripe.errors.StripePermissionError);
  });

  it('connects accounts through OAuth as well as connectAccount', async () => {
    const stripe = sdk();
    const code = fake.issueCode('acct_1ViaOAuth');
    await stripe.oauth.token({ grant_type: 'authorization_code', code });
    fake.seed('acct_1ViaOAuth', { customers: customers(2) });
    expect((await stripe.customers.list({}, asAccount('acct_1ViaOAuth'))).data).toHaveLength(2);
  });

  it("reads the platform's own (empty) data without Stripe-Account, as Stripe does", async () => {
    fake.seed(ACCOUNT, { customers: customers(2) });
    const page = await sdk().customers.list();
    expect(page.data).toEqual([]);
    fake.platformData.add(current.customer({ id: 'cus_PlatformOwn' }));
    expect(idsOf(await sdk().customers.list())).toEqual(['cus_PlatformOwn']);
  });

  it('answers 401 to any key but the platform key (access tokens included)', async () => {
    const token = fake.connectAccount(ACCOUNT);
    for (const key of ['sk_test_wrongwrongwrong', token]) {
      const error = await rejection(sdk({ key }).customers.list({}, asAccount(ACCOUNT)));
      expect(error).toBeInstanceOf(Stripe.errors.StripeAuthenticationError);
      expect(error.statusCode).toBe(401);
      expect(error.message).not.toContain(key);
    }
  });
});

describe('controls', () => {
  it('answers 429 over the per-account rate, with Stripe-Rate-Limited-Reason, as StripeRateLimitError', async () => {
    fake.seed(ACCOUNT, { customers: customers(3) });
    fake.rateLimit = { perSecond: 5 };
    const stripe = sdk();
    const results = await Promise.allSettled(
      Array.from({ length: 12 }, () => stripe.customers.list({}, asAccount(ACCOUNT))),
    );
    const rejected = results.filter((r): r is PromiseRejectedResult => r.status === 'rejected');
    expect(results.filter((r) => r.status === 'fulfilled').length).toBeGreaterThanOrEqual(5);
    expect(rejected.length).toBeGreaterThanOrEqual(5);
    const error = rejected[0]?.reason as Stripe.errors.StripeError;
    expect(error).toBeInstanceOf(Stripe.errors.StripeRateLimitError);
    expect(error.statusCode).toBe(429);
    expect(error.code).toBe('rate_limit');
    expect(error.headers?.['stripe-rate-limited-reason']).toBe('global-rate');
    expect(fake.stats().rateLimited).toBe(rejected.length);
    expect(fake.stats().rateLimitedByAccount[ACCOUNT]).toBe(rejected.length);

    // Another account has its own bucket.
    await expect(stripe.customers.list({}, asAccount(OTHER))).resolves.toMatchObject({ object: 'list' });
    // The bucket refills at perSecond.
    await new Promise((resolve) => setTimeout(resolve, 450));
    await expect(stripe.customers.list({}, asAccount(ACCOUNT))).resolves.toMatchObject({ object: 'list' });
  });

  it('delays every answer by latencyMs', async () => {
    fake.latencyMs = 120;
    const started = performance.now();
    await sdk().customers.list({}, asAccount(ACCOUNT));
    expect(performance.now() - started).toBeGreaterThanOrEqual(110);
  });

  it('answers injected 5xx on list paths; the SDK retries them', async () => {
    fake.seed(ACCOUNT, { invoices: [current.invoice()] });
    fake.injectFault('/v1/invoices', { status: 500 });
    const error = await rejection(sdk().invoices.list({}, asAccount(ACCOUNT)));
    expect(error).toBeInstanceOf(Stripe.errors.StripeAPIError);
    expect(error.statusCode).toBe(500);

    fake.injectFault('/v1/invoices', { status: 500 }, { status: 503 });
    const page = await sdk({ maxNetworkRetries: 2 }).invoices.list({}, asAccount(ACCOUNT));
    expect(page.data).toHaveLength(1);
    expect(fake.requestsTo('/v1/invoices')).toHaveLength(4);
    expect(fake.stats().faults).toBe(3);
  });

  it('counts requests per path, account and status', async () => {
    const stripe = sdk();
    await stripe.customers.list({}, asAccount(ACCOUNT));
    await stripe.customers.list({}, asAccount(OTHER));
    await stripe.invoices.list({}, asAccount(ACCOUNT));
    await rejection(stripe.invoices.list({ limit: 0 }, asAccount(ACCOUNT)));
    const stats = fake.stats();
    expect(stats.requests).toBe(4);
    expect(stats.byPath).toEqual({ '/v1/customers': 2, '/v1/invoices': 2 });
    expect(stats.byAccount).toEqual({ [ACCOUNT]: 3, [OTHER]: 1 });
    expect(stats.byStatus).toEqual({ '200': 3, '400': 1 });
    expect(stats.rateLimited).toBe(0);
  });
});

describe('seedClinic', () => {
  const small: SeedClinicOptions = {
    accountId: ACCOUNT,
    now: NOW,
    days: 365,
    customers: 120,
    subscriptions: 150,
    invoices: 900,
    oneTimePayments: 80,
    seed: 7,
  };

  it('is deterministic for a seed, and differs between seeds and accounts', () => {
    const a = seedClinic(small);
    expect(seedClinic(small)).toEqual(a);
    expect(seedClinic({ ...small, seed: 8 }).objects.subscriptions).not.toEqual(a.objects.subscriptions);
    expect(seedClinic({ ...small, accountId: OTHER }).objects.customers[0]?.id).not.toBe(
      a.objects.customers[0]?.id,
    );
  });

  it('builds a realistic, consistent clinic', () => {
    const { objects } = seedClinic(small);
    const counts = countObjects(objects);
    expect(counts.customers).toBe(120);
    expect(counts.subscriptions).toBe(150);
    expect(counts.invoices).toBe(900);
    for (const name of COLLECTION_NAMES) {
      const ids = objects[name].map((o) => o.id);
      expect(new Set(ids).size, name).toBe(ids.length);
      expect(objects[name].every((o) => (o.created as number) <= NOW)).toBe(true);
    }
    const byId = (list: StripeObject[]) => new Map(list.map((o) => [o.id as string, o]));
    const customersById = byId(objects.customers);
    const invoicesById = byId(objects.invoices);
    const intentsById = byId(objects.paymentIntents);
    const chargesById = byId(objects.charges);

    expect(objects.customers.every((c) => String(c.name).includes(CLINIC_PHI_MARKER))).toBe(true);
    expect(objects.customers.every((c) => String(c.email).includes(CLINIC_PHI_MARKER.toLowerCase()))).toBe(
      true,
    );
    expect(objects.subscriptions.every((s) => customersById.has(s.customer as string))).toBe(true);
    expect(objects.invoices.every((i) => customersById.has(i.customer as string))).toBe(true);

    const subStatuses = new Set(objects.subscriptions.map((s) => s.status));
    for (const status of ['active', 'past_due', 'trialing', 'canceled', 'unpaid'])
      expect(subStatuses).toContain(status);
    const intervals = new Set(
      objects.subscriptions.flatMap((s) =>
        ((s.items as StripeObject).data as StripeObject[]).map((item) => {
          const recurring = (item.price as StripeObject).recurring as StripeObject;
          return `${String(recurring.interval)}/${String(recurring.interval_count)}`;
        }),
      ),
    );
    expect([...intervals].sort()).toEqual(['month/1', 'month/3', 'week/1', 'year/1']);
    const windowStart = NOW - 90 * DAY;
    expect(objects.subscriptions.some((s) => (s.created as number) < NOW - 365 * DAY)).toBe(true);
    expect(
      objects.subscriptions.some((s) => s.status === 'canceled' && (s.ended_at as number) < windowStart),
    ).toBe(true);
    expect(
      objects.subscriptions.some((s) => s.status === 'canceled' && (s.ended_at as number) >= windowStart),
    ).toBe(true);
    expect(
      objects.subscriptions
        .filter((s) => s.status === 'canceled')
        .every(
          (s) => typeof s.canceled_at === 'number' && (s.canceled_at as number) <= (s.ended_at as number),
        ),
    ).toBe(true);

    const invoiceStatuses = objects.invoices.map((i) => i.status);
    expect(invoiceStatuses.filter((s) => s === 'paid').length).toBeGreaterThan(900 * 0.7);
    for (const status of ['open', 'uncollectible', 'void', 'draft'])
      expect(invoiceStatuses).toContain(status);

    // Every paid invoice: a paid InvoicePayment → a succeeded PaymentIntent → its Charge.
    const paymentsByInvoice = new Map(objects.invoicePayments.map((p) => [p.invoice as string, p]));
    for (const invoice of objects.invoices.filter((i) => i.status === 'paid')) {
      const payment = paymentsByInvoice.get(invoice.id as string);
      expect(payment?.status).toBe('paid');
      const intent = intentsById.get(((payment?.payment ?? {}) as StripeObject).payment_intent as string);
      expect(intent?.status).toBe('succeeded');
      expect(intent?.amount).toBe(invoice.amount_paid);
      expect(chargesById.get(intent?.latest_charge as string)?.payment_intent).toBe(intent?.id);
    }
    expect(
      objects.invoices
        .filter((i) => i.status === 'draft')
        .every((i) => !paymentsByInvoice.has(i.id as string)),
    ).toBe(true);
    expect(objects.invoicePayments.every((p) => invoicesById.has(p.invoice as string))).toBe(true);

    // One-time payments: succeeded, with a Charge, named by no InvoicePayment; some refunded.
    const invoiced = new Set(objects.invoicePayments.map((p) => (p.payment as StripeObject).payment_intent));
    const oneTime = objects.paymentIntents.filter((pi) => !invoiced.has(pi.id) && pi.status === 'succeeded');
    expect(oneTime).toHaveLength(80);
    expect(oneTime.every((pi) => chargesById.get(pi.latest_charge as string)?.status === 'succeeded')).toBe(
      true,
    );
    const oneTimeCharges = oneTime.map((pi) => chargesById.get(pi.latest_charge as string) as StripeObject);
    expect(oneTimeCharges.some((c) => c.refunded === true && c.amount_refunded === c.amount)).toBe(true);
    expect(oneTimeCharges.some((c) => c.refunded === false && (c.amount_refunded as number) > 0)).toBe(true);

    // Nothing falls in the guard band after the window's start.
    const times = COLLECTION_NAMES.flatMap((name) => objects[name].map((o) => o.created as number));
    expect(times.some((t) => t >= windowStart && t < windowStart + EDGE_GUARD_SECONDS)).toBe(false);
  });

  it('expects what a backfill through the API would import', async () => {
    const clinic = seedClinic(small);
    fake.seed(ACCOUNT, clinic.objects);
    const stripe = sdk();
    const options = asAccount(ACCOUNT);
    const windowStart = NOW - 90 * DAY;
    const customers = new Set<string>();
    const refer = (customer: unknown) => {
      if (typeof customer === 'string') customers.add(customer);
    };

    for await (const c of stripe.customers.list({ limit: 100, created: { gte: windowStart } }, options)) {
      customers.add(c.id);
    }
    let subscriptions = 0;
    for await (const s of stripe.subscriptions.list({ limit: 100, status: 'all' }, options)) {
      if (s.ended_at !== null && s.ended_at < windowStart) continue;
      subscriptions += 1;
      refer(s.customer);
    }
    let invoiceOrders = 0;
    for await (const invoice of stripe.invoices.list(
      { limit: 100, created: { gte: windowStart } },
      options,
    )) {
      if (invoice.status === 'draft') continue;
      invoiceOrders += 1;
      refer(invoice.customer);
    }
    let oneTimeOrders = 0;
    for await (const pi of stripe.paymentIntents.list(
      { limit: 100, created: { gte: windowStart } },
      options,
    )) {
      if (pi.status !== 'succeeded') continue;
      const payments = await stripe.invoicePayments.list(
        { payment: { type: 'payment_intent', payment_intent: pi.id }, limit: 1 },
        options,
      );
      if (payments.data.length > 0) continue;
      oneTimeOrders += 1;
      refer(pi.customer);
    }

    // Credit notes and disputes of the window adjust the order of their invoice or payment.
    const adjustments: Record<string, OrderAdjustment> = {};
    const adjust = (orderId: string, change: (a: OrderAdjustment) => Partial<OrderAdjustment>) => {
      const before = adjustments[orderId] ?? {
        amountCredited: 0,
        amountDisputed: 0,
        amountLost: 0,
        disputeStatus: null,
      };
      adjustments[orderId] = { ...before, ...change(before) };
    };
    for await (const note of stripe.creditNotes.list(
      { limit: 100, created: { gte: windowStart } },
      options,
    )) {
      adjust(note.invoice as string, (a) => ({
        amountCredited: a.amountCredited + (note.status === 'void' ? 0 : note.amount),
      }));
    }
    for await (const dispute of stripe.disputes.list(
      { limit: 100, created: { gte: windowStart } },
      options,
    )) {
      const intent = dispute.payment_intent as string;
      const payments = await stripe.invoicePayments.list(
        { payment: { type: 'payment_intent', payment_intent: intent }, limit: 1 },
        options,
      );
      // Newest first: the first dispute an order meets is its newest.
      adjust((payments.data[0]?.invoice as string | undefined) ?? intent, (a) => ({
        amountDisputed: a.amountDisputed + dispute.amount,
        amountLost: a.amountLost + (dispute.status === 'lost' ? dispute.amount : 0),
        disputeStatus: a.disputeStatus ?? dispute.status,
      }));
    }

    expect(clinic.expected).toEqual({
      windowDays: 90,
      windowStart,
      customersUpserted: customers.size,
      subscriptionsCreated: subscriptions,
      ordersCreated: invoiceOrders + oneTimeOrders,
      invoiceOrders,
      oneTimeOrders,
      orderAdjustments: adjustments,
    });
    expect(Object.keys(adjustments).length).toBeGreaterThan(0);
    expect(clinic.expected.subscriptionsCreated).toBeLessThan(150);
    expect(clinic.expected.invoiceOrders).toBeGreaterThan(0);
    expect(clinic.expected.oneTimeOrders).toBeGreaterThan(0);
    expect(expectedImports(clinic.objects, { now: NOW, windowDays: 30 }).ordersCreated).toBeLessThan(
      clinic.expected.ordersCreated,
    );
  });

  it('takes windowDays for expected', () => {
    const wide = seedClinic({ ...small, windowDays: 400 });
    expect(wide.expected.windowDays).toBe(400);
    const finalized = wide.objects.invoices.filter((i) => i.status !== 'draft').length;
    expect(wide.expected.invoiceOrders).toBe(finalized);
    expect(wide.expected.oneTimeOrders).toBe(80);
  });

  it('seeds a benchmark-sized clinic quickly', () => {
    const started = performance.now();
    const clinic = seedClinic({
      accountId: 'acct_1Benchmark',
      now: NOW,
      days: 365,
      customers: 5_000,
      subscriptions: 6_000,
      invoices: 30_000,
      oneTimePayments: 3_000,
    });
    const data = fake.seed('acct_1Benchmark', clinic.objects);
    expect(data.counts()).toMatchObject({ customers: 5_000, subscriptions: 6_000, invoices: 30_000 });
    // Coarse: a few seconds at most even on a slow, busy machine.
    expect(performance.now() - started).toBeLessThan(10_000);
    data.clear();
  });
});
