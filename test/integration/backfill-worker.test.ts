import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import {
  createBackfillRequestHandler,
  createBackfillWorker,
  requestBackfill,
} from '../support/as-deployed.ts';
import { backfillDeps, connectedClinic } from '../support/backfill-helpers.ts';
import { bearer, handlersFor } from '../support/handlers.ts';
import { createTestApp, httpEvent, lambdaContext, type TestApp, tenantA } from '../support/harness.ts';
import { sqsEvent } from '../support/sqs-event.ts';

const SIZE = { customers: 30, subscriptions: 40, invoices: 150, oneTimePayments: 20 };
/** The worker's Lambda gets 15 minutes. */
const workerContext = { ...lambdaContext, getRemainingTimeInMillis: () => 900_000 };

let app: TestApp;

beforeEach(async () => {
  app = await createTestApp();
});
afterEach(() => app.close());

function worker() {
  return createBackfillWorker({ ...app.depsFor('BackfillWorker'), backfillSource: backfillDeps(app).source });
}

const sqs = sqsEvent;

describe('POST /api/connect/stripe/backfill', () => {
  it('queues a re-sync (202), refuses a second while one is queued (409), and needs a connection', async () => {
    const handler = createBackfillRequestHandler(app.deps);
    const token = await app.session(tenantA);
    const call = () =>
      handler(httpEvent('POST', '/api/connect/stripe/backfill', { headers: bearer(token) }), lambdaContext);

    const notConnected = await call();
    expect(notConnected.statusCode).toBe(404);
    await connectedClinic(app, 'tenant_a', 'acct_1Worker', SIZE);
    const queued = await call();
    expect(queued.statusCode).toBe(202);
    expect(JSON.parse(queued.body ?? '')).toEqual({ status: 'queued', runId: expect.any(String) });
    expect(app.queues.sent).toEqual([
      expect.objectContaining({ queue: 'backfill', job: expect.objectContaining({ tenantId: 'tenant_a' }) }),
    ]);
    const again = await call();
    expect(again.statusCode).toBe(409);
    expect(JSON.parse(again.body ?? '')).toMatchObject({ error: 'backfill_in_progress' });
    const unsigned = await handler(httpEvent('POST', '/api/connect/stripe/backfill'), lambdaContext);
    expect(unsigned.statusCode).toBe(401);
  });
});

describe('backfill worker', () => {
  it('runs a queued run from SQS and the status shows the result', async () => {
    const clinic = await connectedClinic(app, 'tenant_a', 'acct_1Worker', SIZE);
    const handler = createBackfillRequestHandler(app.deps);
    const token = await app.session(tenantA);
    await handler(
      httpEvent('POST', '/api/connect/stripe/backfill', { headers: bearer(token) }),
      lambdaContext,
    );
    const job = app.queues.sent[0]?.job;

    const response = await worker()(sqs(job), workerContext);
    expect(response).toEqual({ batchItemFailures: [] });
    const status = (await handlersFor(app).status({ headers: bearer(token) })).json<{
      backfill: Record<string, unknown>;
    }>();
    expect(status.backfill).toMatchObject({
      status: 'succeeded',
      result: {
        customersUpserted: clinic.expected.customersUpserted,
        subscriptionsCreated: clinic.expected.subscriptionsCreated,
        ordersCreated: clinic.expected.ordersCreated,
      },
    });
  });

  it("reads Stripe as deployed: the platform key from Secrets Manager, through the worker's own paced source", async () => {
    const clinic = await connectedClinic(app, 'tenant_a', 'acct_1Worker', SIZE);
    const runId = await requestBackfill({ ...app.deps, clock: app.clock }, 'tenant_a', 90);
    const deployed = createBackfillWorker(app.depsFor('BackfillWorker'));
    const response = await deployed(sqs({ tenantId: 'tenant_a', days: 90, runId }), workerContext);
    expect(response).toEqual({ batchItemFailures: [] });
    expect(await app.deps.backfillStatus.get('tenant_a')).toMatchObject({
      status: 'succeeded',
      result: { customersUpserted: clinic.expected.customersUpserted },
    });
    // Every list request carried the platform key read from the secret, on behalf of the account.
    const lists = app.stripe.requests.filter((r) => r.path.startsWith('/v1/'));
    expect(lists.length).toBeGreaterThan(0);
    for (const request of lists) {
      expect(request.headers.authorization).toBe(`Bearer ${app.stripe.secretKey}`);
      expect(request.headers['stripe-account']).toBe('acct_1Worker');
    }
  });

  it('answers a direct invocation with the outcome, and refuses a malformed one', async () => {
    const clinic = await connectedClinic(app, 'tenant_a', 'acct_1Worker', SIZE);
    const outcome = await worker()({ tenantId: 'tenant_a', days: 90 }, workerContext);
    expect(outcome).toMatchObject({
      outcome: 'succeeded',
      runId: expect.any(String),
      result: { subscriptionsCreated: clinic.expected.subscriptionsCreated },
    });
    await expect(worker()({ tenantId: '../etc', days: 90 }, workerContext)).rejects.toThrow(/tenantId/);
    await expect(worker()({ tenantId: 'tenant_a', days: 9000 }, workerContext)).rejects.toThrow(/days/);
  });

  it('stops before its deadline and re-enqueues the continuation, which finishes the run', async () => {
    await connectedClinic(app, 'tenant_a', 'acct_1Worker', SIZE);
    const short = { ...lambdaContext, getRemainingTimeInMillis: () => 61_000 };
    // With 61 s left and a 60 s margin, the first page is the last of this invocation.
    const clock = app.clock;
    let calls = 0;
    const realNow = clock.now.bind(clock);
    clock.now = () => {
      calls += 1;
      return new Date(realNow().getTime() + (calls > 4 ? 5_000 : 0));
    };
    const first = await worker()({ tenantId: 'tenant_a', days: 90 }, short);
    clock.now = realNow;
    expect(first).toMatchObject({ outcome: 'continue' });
    const continuation = app.queues.sent.find((m) => m.queue === 'backfill');
    expect(continuation?.job).toMatchObject({
      tenantId: 'tenant_a',
      runId: (first as { runId: string }).runId,
    });
    const result = await worker()(sqs(continuation?.job), workerContext);
    expect(result).toEqual({ batchItemFailures: [] });
    expect((await app.deps.backfillStatus.get('tenant_a'))?.status).toBe('succeeded');
  });

  it('marks the run failed on the last receive before the DLQ, so it never shows running forever', async () => {
    await connectedClinic(app, 'tenant_a', 'acct_1Worker', SIZE);
    const handler = createBackfillRequestHandler(app.deps);
    await handler(
      httpEvent('POST', '/api/connect/stripe/backfill', { headers: bearer(await app.session(tenantA)) }),
      lambdaContext,
    );
    const job = app.queues.sent[0]?.job;
    app.depsFor('BackfillWorker').records.applySnapshot = async () => {
      throw Object.assign(new Error('Internal server error'), { name: 'InternalServerError', $metadata: {} });
    };
    await expect(worker()(sqs(job, 'm-1', 4), workerContext)).rejects.toThrow(/All records failed/);
    expect((await app.deps.backfillStatus.get('tenant_a'))?.status).toBe('running');
    app.clock.advance(16 * 60_000);
    await expect(worker()(sqs(job, 'm-1', 5), workerContext)).rejects.toThrow(/All records failed/);
    expect(await app.deps.backfillStatus.get('tenant_a')).toMatchObject({
      status: 'failed',
      error: 'Gave up after 5 attempts (InternalServerError)',
    });
  });

  it('reports a transient fault as a batch item failure, so SQS redelivers and the run resumes', async () => {
    await connectedClinic(app, 'tenant_a', 'acct_1Worker', SIZE);
    const handler = createBackfillRequestHandler(app.deps);
    await handler(
      httpEvent('POST', '/api/connect/stripe/backfill', { headers: bearer(await app.session(tenantA)) }),
      lambdaContext,
    );
    const job = app.queues.sent[0]?.job;
    const records = app.depsFor('BackfillWorker').records;
    const applySnapshot = records.applySnapshot.bind(records);
    // Not throttling (which hands the slice over): an error the slice cannot work around.
    app.depsFor('BackfillWorker').records.applySnapshot = async () => {
      throw Object.assign(new Error('Internal server error'), { name: 'InternalServerError', $metadata: {} });
    };
    await expect(worker()(sqs(job), workerContext)).rejects.toThrow(/All records failed/);
    records.applySnapshot = applySnapshot;
    app.clock.advance(16 * 60_000);
    expect(await worker()(sqs(job), workerContext)).toEqual({ batchItemFailures: [] });
    expect((await app.deps.backfillStatus.get('tenant_a'))?.status).toBe('succeeded');
  });
});
