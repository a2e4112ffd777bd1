import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { BACKFILL_PHASES } from '#shared/domain/stripe-kinds/registry.ts';
import { listedInWindow } from '../../scripts/stripe-emulator/seed-clinic.ts';
import { requestBackfill, runBackfill } from '../support/as-deployed.ts';
import { backfillDeps, connectedClinic } from '../support/backfill-helpers.ts';
import { bearer, type Handlers, handlersFor } from '../support/handlers.ts';
import { createTestApp, type TestApp, tenantA } from '../support/harness.ts';
import { readAll } from '../support/webhook-helpers.ts';

const SIZE = { customers: 60, subscriptions: 90, invoices: 320, oneTimePayments: 45 };
/** Enough pages (~64) that ten stopped invocations cannot finish the run. */
const HUGE = { customers: 800, subscriptions: 900, invoices: 3000, oneTimePayments: 400 };
const ACCOUNT = 'acct_1BackfillClinic';

let app: TestApp;
let handlers: Handlers;
let token: string;

beforeEach(async () => {
  app = await createTestApp();
  handlers = handlersFor(app);
  token = await app.session(tenantA);
});
afterEach(() => app.close());

async function queueRun(tenantId = 'tenant_a') {
  return requestBackfill({ ...app.deps, clock: app.clock }, tenantId, 90);
}

const farFuture = () => app.clock.now().getTime() + 15 * 60_000;

async function snapshot(h: Handlers, t: string) {
  return {
    customers: await readAll(h, t, 'customers'),
    subscriptions: await readAll(h, t, 'subscriptions'),
    orders: await readAll(h, t, 'orders'),
  };
}

describe('backfill', () => {
  it('imports the window per the design rule, with ceil(n/100) list requests, and reports it in the status', async () => {
    const clinic = await connectedClinic(app, 'tenant_a', ACCOUNT, SIZE);
    const runId = await queueRun();
    const deps = backfillDeps(app);
    const outcome = await runBackfill(deps, { tenantId: 'tenant_a', runId, deadline: farFuture() });

    expect(outcome).toMatchObject({
      outcome: 'succeeded',
      result: {
        customersUpserted: clinic.expected.customersUpserted,
        subscriptionsCreated: clinic.expected.subscriptionsCreated,
        ordersCreated: clinic.expected.ordersCreated,
      },
    });
    const records = await snapshot(handlers, token);
    expect(records.subscriptions).toHaveLength(clinic.expected.subscriptionsCreated);
    expect(records.orders).toHaveLength(clinic.expected.ordersCreated);
    expect(records.orders.filter((o) => o.kind === 'one_time')).toHaveLength(clinic.expected.oneTimeOrders);
    expect(records.customers).toHaveLength(clinic.expected.customersUpserted);
    expect(JSON.stringify(records)).not.toMatch(/testpatient/i);

    // Credit notes and disputes adjust the orders they belong to, from the lists of the window.
    const adjusted = Object.fromEntries(
      records.orders
        // Nonzero ones, and those whose only credit note was voided.
        .filter(
          (o) =>
            o.amountCredited ||
            o.amountDisputed ||
            o.disputeStatus ||
            Object.hasOwn(clinic.expected.orderAdjustments, o.id as string),
        )
        .map((o) => [
          o.id,
          {
            amountCredited: o.amountCredited,
            amountDisputed: o.amountDisputed,
            amountLost: o.amountLost,
            disputeStatus: o.disputeStatus,
          },
        ]),
    );
    expect(Object.keys(clinic.expected.orderAdjustments).length).toBeGreaterThanOrEqual(6);
    expect(adjusted).toEqual(clinic.expected.orderAdjustments);

    // Every list costs its ideal ceil(n/100) requests, n being what the window holds.
    const stats = app.stripe.stats();
    const windowStart = clinic.expected.windowStart;
    const listed = listedInWindow(clinic.objects, windowStart);
    for (const phase of BACKFILL_PHASES) {
      expect({ phase, requests: stats.byPath[`/v1/${phase}`] }).toEqual({
        phase,
        requests: Math.max(1, Math.ceil(listed[phase] / 100)),
      });
    }
    expect(stats.rateLimited).toBe(0);
    const status = (await handlers.status({ headers: bearer(token) })).json<{
      backfill: Record<string, unknown>;
    }>();
    expect(status.backfill).toMatchObject({
      status: 'succeeded',
      error: null,
      result: outcome.outcome === 'succeeded' ? outcome.result : null,
      startedAt: expect.any(String),
      finishedAt: expect.any(String),
      progress: {
        phase: 'counting',
        pages: expect.any(Number),
        requests: expect.any(Number),
        objects: expect.any(Object),
      },
    });
  });

  it('a second run over the same data creates nothing', async () => {
    await connectedClinic(app, 'tenant_a', ACCOUNT, SIZE);
    const first = await runBackfill(backfillDeps(app), {
      tenantId: 'tenant_a',
      runId: await queueRun(),
      deadline: farFuture(),
    });
    const before = await snapshot(handlers, token);
    app.clock.advance(60_000);
    const second = await runBackfill(backfillDeps(app), {
      tenantId: 'tenant_a',
      runId: await queueRun(),
      deadline: farFuture(),
    });
    expect(first.outcome).toBe('succeeded');
    expect(second).toMatchObject({
      outcome: 'succeeded',
      result: { subscriptionsCreated: 0, ordersCreated: 0 },
    });
    expect(await snapshot(handlers, token)).toEqual(before);
  });

  it('survives 429 storms and 5xx bursts, and gives up honestly when Stripe keeps failing', async () => {
    await connectedClinic(app, 'tenant_a', ACCOUNT, SIZE);
    app.stripe.injectFault(
      '/v1/invoices',
      { status: 429 },
      { status: 429 },
      { status: 429 },
      { status: 500 },
      { status: 503 },
    );
    app.stripe.injectFault('/v1/subscriptions', { drop: true }, { status: 502 });
    const ok = await runBackfill(backfillDeps(app), {
      tenantId: 'tenant_a',
      runId: await queueRun(),
      deadline: farFuture(),
    });
    expect(ok.outcome).toBe('succeeded');

    app.clock.advance(60_000);
    // Throttled past one slice's 6 attempts: the run hands over with a delay instead of failing...
    app.stripe.injectFault('/v1/customers', ...Array.from({ length: 36 }, () => ({ status: 429 })));
    const runId = await queueRun();
    const outcomes: unknown[] = [];
    for (let slice = 0; slice < 6; slice++) {
      outcomes.push(
        await runBackfill(backfillDeps(app), { tenantId: 'tenant_a', runId, deadline: farFuture() }),
      );
      app.clock.advance(60_000);
    }
    expect(outcomes.slice(0, 5)).toEqual(
      Array.from({ length: 5 }, () =>
        expect.objectContaining({ outcome: 'continue', retryAfterSeconds: 300 }),
      ),
    );
    // ...until it has stalled 5 times in a row: then it is failed, with the reason, never succeeded.
    expect(outcomes[5]).toEqual({ outcome: 'failed', error: 'Stripe rate limit (429) after 6 attempts' });
    const status = (await handlers.status({ headers: bearer(token) })).json<{
      backfill: Record<string, unknown>;
    }>();
    expect(status.backfill).toMatchObject({
      status: 'failed',
      error: 'Stripe rate limit (429) after 6 attempts',
      result: null,
    });
  });

  it('refuses a second worker while one holds the run, and a run that is not the current one', async () => {
    await connectedClinic(app, 'tenant_a', ACCOUNT, SIZE);
    const runId = await queueRun();
    await expect(queueRun()).rejects.toThrow(/already queued or running/);
    const status = await app.deps.backfillStatus.begin('tenant_a', runId, app.clock.now(), farFuture());
    expect(status?.status).toBe('running');
    expect(
      await runBackfill(backfillDeps(app), { tenantId: 'tenant_a', runId, deadline: farFuture() }),
    ).toEqual({
      outcome: 'refused',
    });
    expect(
      await runBackfill(backfillDeps(app), {
        tenantId: 'tenant_a',
        runId: 'another-run',
        deadline: farFuture(),
      }),
    ).toEqual({
      outcome: 'refused',
    });
  });

  it('a webhook event newer than the backfill snapshot wins; an older one does not', async () => {
    const clinic = await connectedClinic(app, 'tenant_a', ACCOUNT, SIZE);
    const [newer, older] = clinic.objects.subscriptions.filter((s) => s.status === 'active') as {
      id: string;
      customer: string;
    }[];
    if (!newer || !older) throw new Error('the seed has fewer than two active subscriptions');
    const runId = await queueRun();
    const nowSec = Math.floor(app.clock.now().getTime() / 1000);
    const pastDue = (sub: { id: string; customer: string }) => ({
      kind: 'subscription' as const,
      record: {
        id: sub.id,
        customerId: sub.customer,
        status: 'past_due',
        currency: 'usd',
        items: [],
        mrr: 0,
        cancelAtPeriodEnd: false,
        canceledAt: null,
        endedAt: null,
        trialEnd: null,
        currentPeriodEnd: null,
        startDate: null,
        created: null,
      },
    });
    // As the webhook path writes them: one event a second after the snapshot, one a minute before.
    await app.deps.records.apply('tenant_a', pastDue(newer), {
      created: nowSec + 1,
      rank: 2,
      eventId: 'evt_newer',
    });
    await app.deps.records.apply('tenant_a', pastDue(older), {
      created: nowSec - 60,
      rank: 2,
      eventId: 'evt_older',
    });

    await runBackfill(backfillDeps(app), { tenantId: 'tenant_a', runId, deadline: farFuture() });
    const subscriptions = await readAll(handlers, token, 'subscriptions');
    expect(subscriptions.find((s) => s.id === newer.id)).toMatchObject({ status: 'past_due' });
    expect(subscriptions.find((s) => s.id === older.id)).toMatchObject({ status: 'active' });
  });
});

describe('resuming', () => {
  it('a run cut off at 10 different points (timeouts and crashes) ends exactly like an uninterrupted run', async () => {
    const reference = await createTestApp();
    try {
      const refHandlers = handlersFor(reference);
      const refToken = await reference.session(tenantA);
      await connectedClinic(reference, 'tenant_a', ACCOUNT, HUGE);
      const refRun = await requestBackfill({ ...reference.deps, clock: reference.clock }, 'tenant_a', 90);
      const uninterrupted = await runBackfill(backfillDeps(reference), {
        tenantId: 'tenant_a',
        runId: refRun,
        deadline: reference.clock.now().getTime() + 15 * 60_000,
      });
      expect(uninterrupted.outcome).toBe('succeeded');
      const totalPages = uninterrupted.outcome === 'succeeded' ? uninterrupted.progress.pages : 0;
      expect(totalPages).toBeGreaterThan(10);

      await connectedClinic(app, 'tenant_a', ACCOUNT, HUGE);
      const runId = await queueRun();
      // Ten invocations stopped after 1, 2 or 3 pages of their own (a stopped invocation still
      // lands the pages it was writing: two lanes, two pages each), then one left to finish.
      const cuts = Array.from({ length: 10 }, (_, i) => 1 + (i % 3));
      let final: Awaited<ReturnType<typeof runBackfill>> | undefined;
      let attempts = 0;
      const stops = { continue: 0, crashed: 0 };
      for (const [index, cut] of [...cuts, Number.POSITIVE_INFINITY].entries()) {
        attempts += 1;
        const base_deps = backfillDeps(app);
        let pagesThisAttempt = 0;
        const crash = index % 2 === 1 && Number.isFinite(cut);
        let writes = 0;
        const real = base_deps.records;
        const deps = {
          ...base_deps,
          records: {
            apply: real.apply.bind(real),
            applySnapshot: async (...args: Parameters<typeof real.applySnapshot>) => {
              // A crash in the middle of a page's writes, after part of the page landed.
              const [tenantId, changes, version, run] = args;
              if (crash && pagesThisAttempt >= cut && ++writes > 1) {
                await real.applySnapshot(
                  tenantId,
                  changes.slice(0, Math.ceil(changes.length / 2)),
                  version,
                  run,
                );
                throw Object.assign(new Error('crash'), { name: 'LambdaTimeout' });
              }
              return real.applySnapshot(...args);
            },
            list: real.list.bind(real),
            countRun: real.countRun.bind(real),
          },
        };
        const base = app.clock.now().getTime();
        const outcome = await runBackfill(deps, {
          tenantId: 'tenant_a',
          runId,
          // A timeout: the clock is pushed past the margin once `cut` pages are done.
          deadline: base + 10 * 60_000,
          safetyMarginMs: 60_000,
          onProgress: () => {
            pagesThisAttempt += 1;
            if (!crash && pagesThisAttempt === cut) app.clock.advance(10 * 60_000);
          },
        }).catch((error: Error) => ({ outcome: 'crashed' as const, error }));
        // A crashed worker's lease runs out before the redelivery.
        app.clock.advance(11 * 60_000);
        if (outcome.outcome === 'succeeded') {
          final = outcome;
          break;
        }
        expect(['continue', 'crashed']).toContain(outcome.outcome);
        stops[outcome.outcome as keyof typeof stops] += 1;
      }
      expect(attempts).toBe(11);
      expect(stops.continue).toBeGreaterThanOrEqual(4);
      expect(stops.crashed).toBeGreaterThanOrEqual(4);
      expect(final).toBeDefined();
      expect(final?.outcome === 'succeeded' && final.result).toEqual(
        uninterrupted.outcome === 'succeeded' && uninterrupted.result,
      );
      expect(await snapshot(handlers, token)).toEqual(await snapshot(refHandlers, refToken));
    } finally {
      await reference.close();
    }
  }, 120_000);
});

describe('backfillStripeData', () => {
  it('is the product document entry point: resolves to the counters, throws when it gives up', async () => {
    const { backfillStripeData, BackfillFailedError } = await import(
      '#functions/commons/backfill-stripe-data.ts'
    );
    const clinic = await connectedClinic(app, 'tenant_a', ACCOUNT, SIZE);
    const deps = { ...backfillDeps(app), backfillQueue: app.queues };
    const result = await backfillStripeData('tenant_a', { deps });
    expect(result).toMatchObject({
      customersUpserted: clinic.expected.customersUpserted,
      subscriptionsCreated: clinic.expected.subscriptionsCreated,
      ordersCreated: clinic.expected.ordersCreated,
      runId: expect.any(String),
    });
    await expect(backfillStripeData('nobody', { deps })).rejects.toBeInstanceOf(BackfillFailedError);
  });
});
