import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { FakeStripe } from '../../scripts/stripe-emulator/fake-stripe-server.ts';
import { seedClinic } from '../../scripts/stripe-emulator/seed-clinic.ts';
import { type DevStack, killAllDevStacks, sleep, startDevStack } from './support/dev-stack-process.ts';
import {
  type BackfillView,
  COLLECTIONS,
  differingIds,
  type Tenant,
  TenantSession,
} from './support/tenant.ts';

/**
 * A backfill of the demo clinic (the data `npm run dev`'s emulator serves) SIGKILLed while it
 * runs, with 40 % of its Stripe reads done; the stack restarted on the same data folder must
 * pick the run up from its checkpoint and finish it with exactly the records and the result of
 * an uninterrupted backfill of the same data, creating nothing twice. Stripe is a fake in the
 * test process, so its data stays the same across the crash.
 */

/** The share of the uninterrupted run's Stripe reads sent before the kill. */
const KILL_AT_SHARE = 0.4;
/** Per Stripe request before the kill: the run lasts long enough to be cut off in the middle. */
const SLOW_STRIPE_MS = 400;
const BACKFILL_TIMEOUT_MS = 30_000;
const BACKFILL_LISTS = [
  '/v1/customers',
  '/v1/subscriptions',
  '/v1/invoices',
  '/v1/invoice_payments',
  '/v1/payment_intents',
  '/v1/charges',
];

const uninterrupted: Tenant = {
  tenantId: 'faults-backfill-reference',
  tenantSlug: 'faults-backfill-reference',
  stripeAccountId: 'acct_1FaultsClinicRef01',
};
const crashed: Tenant = {
  tenantId: 'faults-backfill',
  tenantSlug: 'faults-backfill',
  stripeAccountId: 'acct_1FaultsClinic0001',
};

let stripe: FakeStripe;
let root: string;
let folders: { dataDir: string; tmpDir: string };

beforeAll(async () => {
  stripe = new FakeStripe();
  await stripe.start();
  root = await mkdtemp(join(tmpdir(), 'compass-faults-backfill-'));
  folders = { dataDir: join(root, 'data'), tmpDir: join(root, 'tmp') };
  await mkdir(folders.tmpDir);
});

afterEach(async () => {
  await killAllDevStacks();
});

afterAll(async () => {
  await killAllDevStacks();
  await stripe?.stop();
  if (root) await rm(root, { recursive: true, force: true });
});

describe('a backfill cut off by SIGKILL', () => {
  it('resumes after a restart from its checkpoint and ends in the records and result of an uninterrupted run', async () => {
    const timings: Record<string, number> = {};
    const lap = (() => {
      let last = Date.now();
      return (name: string) => {
        const now = Date.now();
        timings[name] = now - last;
        last = now;
      };
    })();
    // The emulator's demo clinic, once, in both accounts: the same objects, the same ids.
    const clinic = seedClinic({
      accountId: crashed.stripeAccountId,
      now: Math.floor(Date.now() / 1000),
      days: 180,
      customers: 120,
      subscriptions: 150,
      invoices: 600,
      oneTimePayments: 80,
    });
    stripe.seed(uninterrupted.stripeAccountId, clinic.objects);
    stripe.seed(crashed.stripeAccountId, clinic.objects);
    const { customersUpserted, subscriptionsCreated, ordersCreated } = clinic.expected;
    const expectedResult = { customersUpserted, subscriptionsCreated, ordersCreated };
    // The backfill's reads of the account (its list pages), whatever else asks Stripe about it.
    const requestsOf = (tenant: Tenant) =>
      stripe.requests.filter(
        (request) =>
          request.headers['stripe-account'] === tenant.stripeAccountId &&
          BACKFILL_LISTS.includes(request.path),
      ).length;

    let stack: DevStack = await startDevStack({ ...folders, stripe });
    lap('start');

    const control = new TenantSession(uninterrupted, stack.url);
    await control.signIn();
    await control.connect(stripe);
    const reference = await control.backfillDone(BACKFILL_TIMEOUT_MS);
    expect(reference).toMatchObject({ status: 'succeeded', result: expectedResult });
    const totalPages = reference.progress?.pages ?? 0;
    const totalRequests = requestsOf(uninterrupted);
    expect(totalRequests).toBeGreaterThan(10);
    lap('uninterrupted backfill');

    // The crashed tenant's run, slowed down, cut off once 40 % of its Stripe reads went out and
    // a checkpoint was saved: the pages written since that checkpoint are written again after
    // the restart, the ones before it are not read again.
    stripe.latencyMs = SLOW_STRIPE_MS;
    const tenant = new TenantSession(crashed, stack.url);
    await tenant.signIn();
    await tenant.connect(stripe);
    const killAtRequests = Math.ceil(totalRequests * KILL_AT_SHARE);
    let atKill: BackfillView | undefined;
    const deadline = Date.now() + BACKFILL_TIMEOUT_MS;
    while (!atKill) {
      const view = await tenant.backfill();
      if (
        view.status === 'running' &&
        (view.progress?.pages ?? 0) > 0 &&
        requestsOf(crashed) >= killAtRequests
      ) {
        stack.killNow();
        atKill = view;
      } else {
        expect(view.status, 'the run ended before the kill').not.toBe('succeeded');
        expect(view.status).not.toBe('failed');
        if (Date.now() > deadline) {
          throw new Error(`backfill never reached ${killAtRequests} requests: ${JSON.stringify(view)}`);
        }
        await sleep(20);
      }
    }
    await stack.gone();
    const requestsBeforeKill = requestsOf(crashed);
    // A checkpoint that landed after this read only leaves less to read again.
    const checkpointedPages = atKill.progress?.pages ?? 0;
    expect(requestsBeforeKill, 'the run had read every page before the kill').toBeLessThan(totalRequests);
    lap('crashed run until kill');

    stripe.latencyMs = 0;
    stack = await startDevStack({ ...folders, stripe });
    tenant.moveTo(stack.url);
    control.moveTo(stack.url);
    lap('restart');
    // Nothing else would ever finish this run: the restarted stack must pick it up by itself.
    const resumed = await tenant.backfillDone(BACKFILL_TIMEOUT_MS).catch(async (error: Error) => {
      throw new Error(
        `${error.message}: the restarted stack did not resume the run (status ${JSON.stringify(await tenant.backfill())})\n${stack.output()}`,
      );
    });
    const requestsAfterRestart = requestsOf(crashed) - requestsBeforeKill;
    lap('resumed run');

    const actual = await tenant.readEverything();
    const expected = await control.readEverything();
    lap('read back');
    console.info(
      JSON.stringify({
        timings,
        totalPages,
        totalRequests,
        killAtRequests,
        checkpointedPages,
        requestsBeforeKill,
        requestsAfterRestart,
        resumed,
      }),
    );

    // The result counts what the run created, once, however many times its pages were read.
    expect.soft(resumed).toMatchObject({ status: 'succeeded', error: null, result: expectedResult });
    expect.soft(resumed.result).toEqual(reference.result);
    // The same run carried on: a new one would have started from scratch.
    expect.soft(resumed.startedAt).toBe(atKill.startedAt);
    for (const collection of COLLECTIONS) {
      expect
        .soft(differingIds(actual[collection], expected[collection]), `${collection} that differ`)
        .toEqual([]);
      expect
        .soft(
          actual[collection].map((record) => record.id),
          `${collection} in order`,
        )
        .toEqual(expected[collection].map((record) => record.id));
    }
    expect.soft(actual.customers).toHaveLength(customersUpserted);
    expect.soft(actual.subscriptions).toHaveLength(subscriptionsCreated);
    expect.soft(actual.orders).toHaveLength(ordersCreated);
    // Resumed from the checkpoint, not started over: after the restart only the pages the
    // checkpoint did not hold were read again.
    expect.soft(requestsAfterRestart).toBeGreaterThan(0);
    expect.soft(requestsAfterRestart).toBeLessThanOrEqual(totalRequests - checkpointedPages);
  });
});
