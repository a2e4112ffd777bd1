/**
 * The end of a backfill never times out or drops work: the journal replay and the count hand
 * over under the deadline like the list pages; throttled writes back off and then hand the slice
 * over; a last receive ends `failed` whichever way it ends; a disconnect stops the run before its
 * next write; a re-sync takes over a failed run's unfinished replay. (Each test failed before its fix.)
 */
import { BatchWriteCommand } from '@aws-sdk/lib-dynamodb';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { DynamoDbRecordStore } from '#shared/adapters/dynamodb/record-store-dynamodb.ts';
import type { BackfillStatusStore } from '#shared/ports/backfill-status-store.ts';
import type { RecordStore } from '#shared/ports/record-store.ts';
import { abandonBackfill } from '#shared/use-cases/backfill/abandon-backfill.ts';
import { ABANDON_RESERVE_MS } from '#shared/use-cases/backfill/process-backfill-job.ts';
import { BACKFILL_MAX_RECEIVES } from '../../functions/routes.ts';
import { createBackfillWorker, requestBackfill } from '../support/as-deployed.ts';
import {
  backfillDeps,
  connectedClinic,
  customerEntries,
  hookedRecords,
} from '../support/backfill-helpers.ts';
import { bearer, type Handlers, handlersFor } from '../support/handlers.ts';
import { createTestApp, lambdaContext, type TestApp, tenantA } from '../support/harness.ts';
import { interceptedDocumentClient } from '../support/intercepted-dynamodb.ts';
import { sqsEvent } from '../support/sqs-event.ts';
import { readAll } from '../support/webhook-helpers.ts';

const SIZE = { customers: 20, subscriptions: 20, invoices: 60, oneTimePayments: 10 };
const ACCOUNT = 'acct_1EndGame';
/** The worker's Lambda gets 15 minutes. */
const FULL = 900_000;

let app: TestApp;
let handlers: Handlers;
let token: string;

beforeEach(async () => {
  app = await createTestApp();
  handlers = handlersFor(app);
  token = await app.session(tenantA);
});
afterEach(() => app.close());

type WorkerDeps = Parameters<typeof createBackfillWorker>[0];

const context = (remainingMs: number) => ({ ...lambdaContext, getRemainingTimeInMillis: () => remainingMs });
const worker = (overrides: Partial<WorkerDeps> = {}) =>
  createBackfillWorker({
    ...app.depsFor('BackfillWorker'),
    backfillSource: backfillDeps(app).source,
    ...overrides,
  });
const queueRun = () => requestBackfill({ ...app.deps, clock: app.clock }, 'tenant_a', 90);
const status = () => app.deps.backfillStatus.get('tenant_a');
const backfillMessages = () => app.queues.sent.filter((message) => message.queue === 'backfill');
const workerRecords = () => app.depsFor('BackfillWorker').records;
const nowSec = () => Math.floor(app.clock.now().getTime() / 1000);
const failure = (name: string, message = name) => Object.assign(new Error(message), { name, $metadata: {} });
/** Tests' back-offs move the test clock instead of waiting. */
const movingClock = { sleep: async (ms: number) => app.clock.advance(ms) };

async function journal(entries: ReturnType<typeof customerEntries>) {
  for (let i = 0; i < entries.length; i += 50) {
    await Promise.all(
      entries.slice(i, i + 50).map((entry) => app.deps.journal.append('tenant_a', entry, app.clock.now())),
    );
  }
}

/** Runs the queue's latest continuation until the run is over (or `slices` run out). */
async function drain(run: ReturnType<typeof worker>, slices = 5) {
  for (let slice = 0; slice < slices; slice += 1) {
    const current = await status();
    if (current?.status !== 'running' && !current?.replayPending) return;
    const next = backfillMessages().at(-1);
    app.clock.advance((next?.delaySeconds ?? 0) * 1000);
    expect(await run(sqsEvent(next?.job), context(FULL))).toEqual({ batchItemFailures: [] });
  }
}

async function customerIds(): Promise<string[]> {
  return (await readAll(handlers, token, 'customers')).map((customer) => customer.id as string);
}

describe('the journal replay hands over under the deadline', () => {
  it('a replay longer than a slice checkpoints its position and hands over; the next slice resumes right there', async () => {
    const clinic = await connectedClinic(app, 'tenant_a', ACCOUNT, SIZE);
    const runId = await queueRun();
    const entries = customerEntries(600, 'replay', nowSec() + 5);
    await journal(entries);
    let applied = 0;
    // Each replayed write takes 2 s: 600 entries are 20 minutes of work, more than a slice.
    const records = hookedRecords(workerRecords(), {
      apply: async (call) => {
        applied += 1;
        app.clock.advance(2_000);
        return call();
      },
    });
    const run = worker({ records });
    const deadline = app.clock.now().getTime() + FULL;
    expect(await run(sqsEvent({ tenantId: 'tenant_a', days: 90, runId }), context(FULL))).toEqual({
      batchItemFailures: [],
    });
    expect(app.clock.now().getTime()).toBeLessThanOrEqual(deadline);
    expect(applied).toBeGreaterThan(100);
    expect(applied).toBeLessThan(600);
    const cut = await status();
    expect(cut).toMatchObject({
      status: 'running',
      progress: { phase: 'counting', replay: { entries: applied } },
    });
    expect(cut?.progress?.replay?.after).toMatch(new RegExp(`#${entries[applied - 1]?.eventId}$`));
    expect(backfillMessages().at(-1)).toMatchObject({
      job: { tenantId: 'tenant_a', runId },
      delaySeconds: 0,
    });

    await drain(run);
    // Resumed after the last entry applied: every entry replayed exactly once.
    expect(applied).toBe(600);
    expect(await status()).toMatchObject({
      status: 'succeeded',
      result: { customersUpserted: clinic.expected.customersUpserted },
    });
    const ids = await customerIds();
    expect(ids).toContain('cus_replay_00000');
    expect(ids).toContain('cus_replay_00599');
  });

  it('a count that does not fit in what is left of a slice hands over; the next slice counts, without replaying again', async () => {
    const clinic = await connectedClinic(app, 'tenant_a', ACCOUNT, SIZE);
    const runId = await queueRun();
    await journal(customerEntries(3, 'count', nowSec()));
    const deadline = app.clock.now().getTime() + FULL;
    let applied = 0;
    let counts = 0;
    const records = hookedRecords(workerRecords(), {
      apply: async (call) => {
        applied += 1;
        return call();
      },
      countRun: async (call) => {
        counts += 1;
        if (counts === 1) {
          // A big tenant: the count starts 100 ms before the hand-over time and takes longer.
          app.clock.advance(deadline - 30_000 - 100 - app.clock.now().getTime());
          await new Promise((resolve) => setTimeout(resolve, 600));
        }
        return call();
      },
    });
    const run = worker({ records });
    expect(await run(sqsEvent({ tenantId: 'tenant_a', days: 90, runId }), context(FULL))).toEqual({
      batchItemFailures: [],
    });
    expect(await status()).toMatchObject({
      status: 'running',
      progress: { phase: 'counting', replay: { done: true, entries: 3 }, stalls: 1 },
    });
    expect(app.clock.now().getTime()).toBeLessThanOrEqual(deadline);
    await drain(run);
    expect(counts).toBe(2);
    expect(applied).toBe(3);
    expect(await status()).toMatchObject({
      status: 'succeeded',
      result: {
        customersUpserted: clinic.expected.customersUpserted,
        subscriptionsCreated: clinic.expected.subscriptionsCreated,
        ordersCreated: clinic.expected.ordersCreated,
      },
    });
  });
});

describe('throttled writes back off, then hand the slice over', () => {
  it('batch writes throttled for more attempts than the old 8 still land in the same slice', async () => {
    const clinic = await connectedClinic(app, 'tenant_a', ACCOUNT, SIZE);
    const runId = await queueRun();
    // Every chunk of 25 is answered "unprocessed" 9 times before DynamoDB takes it.
    const attempts = new Map<string, number>();
    const db = interceptedDocumentClient(app.dynamoEndpoint, async (command, send) => {
      if (!(command instanceof BatchWriteCommand)) return send(command);
      const requests = command.input.RequestItems?.[app.tableName] ?? [];
      const first = requests[0]?.PutRequest?.Item;
      const key = `${first?.pk}/${first?.sk}`;
      const tries = (attempts.get(key) ?? 0) + 1;
      attempts.set(key, tries);
      if (tries <= 9) return { UnprocessedItems: command.input.RequestItems, $metadata: {} };
      return send(command);
    });
    const run = worker({ records: new DynamoDbRecordStore(db, app.tableName, movingClock) });
    expect(await run(sqsEvent({ tenantId: 'tenant_a', days: 90, runId }), context(FULL))).toEqual({
      batchItemFailures: [],
    });
    await drain(run);
    expect(Math.max(...attempts.values())).toBeGreaterThan(9);
    expect(await status()).toMatchObject({
      status: 'succeeded',
      result: {
        customersUpserted: clinic.expected.customersUpserted,
        subscriptionsCreated: clinic.expected.subscriptionsCreated,
        ordersCreated: clinic.expected.ordersCreated,
      },
    });
  });

  it('throttled past the hand-over time: the slice checkpoints what landed and hands over; nothing is lost', async () => {
    const clinic = await connectedClinic(app, 'tenant_a', ACCOUNT, SIZE);
    const runId = await queueRun();
    let throttling = false;
    const db = interceptedDocumentClient(app.dynamoEndpoint, async (command, send) => {
      if (throttling && command instanceof BatchWriteCommand) {
        throw failure(
          'ProvisionedThroughputExceededException',
          'Rate of requests exceeds the allowed throughput',
        );
      }
      return send(command);
    });
    let landed = 0;
    const records = hookedRecords(new DynamoDbRecordStore(db, app.tableName, movingClock), {
      applySnapshot: async (call) => {
        await call();
        landed += 1;
        if (landed === 2) throttling = true;
      },
    });
    const deadline = app.clock.now().getTime() + FULL;
    const run = worker({ records });
    expect(await run(sqsEvent({ tenantId: 'tenant_a', days: 90, runId }), context(FULL))).toEqual({
      batchItemFailures: [],
    });
    expect(app.clock.now().getTime()).toBeLessThanOrEqual(deadline);
    const cut = await status();
    expect(cut).toMatchObject({ status: 'running', progress: { stalls: 1 } });
    expect(cut?.progress?.pages).toBeGreaterThanOrEqual(1);
    expect(backfillMessages().at(-1)).toMatchObject({ job: { runId }, delaySeconds: 60 });
    expect(app.log.messages()).toContain('backfill_stalled');

    throttling = false;
    await drain(run);
    expect(await status()).toMatchObject({
      status: 'succeeded',
      result: {
        customersUpserted: clinic.expected.customersUpserted,
        subscriptionsCreated: clinic.expected.subscriptionsCreated,
        ordersCreated: clinic.expected.ordersCreated,
      },
    });
  });

  it('a throttled replay hands over at its last whole group and resumes there', async () => {
    await connectedClinic(app, 'tenant_a', ACCOUNT, SIZE);
    const runId = await queueRun();
    await journal(customerEntries(20, 'throttled', nowSec()));
    let throttling = true;
    let calls = 0;
    const records = hookedRecords(workerRecords(), {
      apply: async (call) => {
        calls += 1;
        if (throttling && calls > 8) throw failure('ThrottlingException', 'Rate exceeded');
        return call();
      },
    });
    const run = worker({ records });
    expect(await run(sqsEvent({ tenantId: 'tenant_a', days: 90, runId }), context(FULL))).toEqual({
      batchItemFailures: [],
    });
    expect(await status()).toMatchObject({
      status: 'running',
      progress: { replay: { entries: 8 }, stalls: 1 },
    });
    expect(backfillMessages().at(-1)).toMatchObject({ job: { runId }, delaySeconds: 60 });
    throttling = false;
    await drain(run);
    expect((await status())?.status).toBe('succeeded');
    const ids = await customerIds();
    for (let i = 0; i < 20; i += 1) expect(ids).toContain(`cus_throttled_${String(i).padStart(5, '0')}`);
  });
});

describe('a run is marked failed however its last attempt ends', () => {
  it('a last receive that hangs is marked failed before its deadline; its replay follows after the deadline', async () => {
    await connectedClinic(app, 'tenant_a', ACCOUNT, SIZE);
    const runId = await queueRun();
    await journal(customerEntries(2, 'hung', nowSec()));
    const real = app.depsFor('BackfillWorker').integrations;
    // A call that never answers (a connection that hangs): the slice cannot end by itself.
    const hanging = Object.assign(Object.create(real) as typeof real, {
      getByTenant: () => new Promise<never>(() => undefined),
    });
    const remaining = ABANDON_RESERVE_MS + 300;
    const deadline = app.clock.now().getTime() + remaining;
    const ended = await Promise.race([
      worker({ integrations: hanging })(
        sqsEvent({ tenantId: 'tenant_a', days: 90, runId }, 'm-1', BACKFILL_MAX_RECEIVES),
        context(remaining),
      ).then(
        () => 'resolved',
        (error: unknown) => error,
      ),
      new Promise((resolve) => setTimeout(() => resolve('still hanging'), 5_000)),
    ]);
    expect(ended).toBeInstanceOf(Error);
    expect(String(ended)).toMatch(/All records failed/);
    expect(await status()).toMatchObject({
      status: 'failed',
      error: `Timed out on its last attempt (${BACKFILL_MAX_RECEIVES} of ${BACKFILL_MAX_RECEIVES})`,
      replayPending: true,
    });
    const continuation = backfillMessages().at(-1);
    expect(continuation?.job).toMatchObject({ runId });
    // Not before the hung invocation's deadline has passed.
    expect(app.clock.now().getTime() + (continuation?.delaySeconds ?? 0) * 1000).toBeGreaterThan(deadline);

    app.clock.advance((continuation?.delaySeconds ?? 0) * 1000);
    expect(await worker()(sqsEvent(continuation?.job), context(FULL))).toEqual({ batchItemFailures: [] });
    expect(await status()).toMatchObject({ status: 'failed', replayPending: false });
    expect(await customerIds()).toEqual(expect.arrayContaining(['cus_hung_00000', 'cus_hung_00001']));
  });

  it('the give-up still marks the run failed when its own status write is throttled', async () => {
    await connectedClinic(app, 'tenant_a', ACCOUNT, SIZE);
    const runId = await queueRun();
    const real = app.depsFor('BackfillWorker').backfillStatus;
    let finishes = 0;
    const throttledStatus: BackfillStatusStore = Object.assign(Object.create(real) as BackfillStatusStore, {
      finish: async (...args: Parameters<BackfillStatusStore['finish']>) => {
        finishes += 1;
        if (finishes <= 2) throw failure('ThrottlingException', 'Rate exceeded');
        return real.finish(...args);
      },
    });
    const records = hookedRecords(workerRecords(), {
      applySnapshot: async () => {
        throw failure('InternalServerError', 'Internal server error');
      },
    });
    await expect(
      worker({ records, backfillStatus: throttledStatus })(
        sqsEvent({ tenantId: 'tenant_a', days: 90, runId }, 'm-1', BACKFILL_MAX_RECEIVES),
        context(FULL),
      ),
    ).rejects.toThrow(/All records failed/);
    expect(finishes).toBe(3);
    expect(await status()).toMatchObject({
      status: 'failed',
      error: `Gave up after ${BACKFILL_MAX_RECEIVES} attempts (InternalServerError)`,
    });
  });

  it('a direct invocation that throws marks its run failed (nothing retries it), so the next one can start', async () => {
    const clinic = await connectedClinic(app, 'tenant_a', ACCOUNT, SIZE);
    const records = hookedRecords(workerRecords(), {
      applySnapshot: async () => {
        throw failure('InternalServerError', 'Internal server error');
      },
    });
    await expect(worker({ records })({ tenantId: 'tenant_a', days: 90 }, context(FULL))).rejects.toThrow(
      'Internal server error',
    );
    expect(await status()).toMatchObject({
      status: 'failed',
      error: 'Gave up after 1 attempt (InternalServerError)',
    });
    expect(await worker()({ tenantId: 'tenant_a', days: 90 }, context(FULL))).toMatchObject({
      outcome: 'succeeded',
      result: { subscriptionsCreated: clinic.expected.subscriptionsCreated },
    });
  });

  it('an SQS message without a run id that throws fails the run it created; its redelivery starts afresh', async () => {
    await connectedClinic(app, 'tenant_a', ACCOUNT, SIZE);
    const records = hookedRecords(workerRecords(), {
      applySnapshot: async () => {
        throw failure('InternalServerError', 'Internal server error');
      },
    });
    const message = { tenantId: 'tenant_a', days: 90 };
    await expect(worker({ records })(sqsEvent(message, 'm-1', 1), context(FULL))).rejects.toThrow(
      /All records failed/,
    );
    expect(await status()).toMatchObject({
      status: 'failed',
      error: 'Gave up after 1 attempt (InternalServerError)',
    });
    expect(await worker()(sqsEvent(message, 'm-1', 2), context(FULL))).toEqual({ batchItemFailures: [] });
    expect((await status())?.status).toBe('succeeded');
  });

  it('a last receive with a long journal is failed at once; its replay goes on in continuations, each entry once', async () => {
    await connectedClinic(app, 'tenant_a', ACCOUNT, SIZE);
    const runId = await queueRun();
    await journal(customerEntries(500, 'dlq', nowSec()));
    let applied = 0;
    const slowReplay = (real: RecordStore) =>
      hookedRecords(real, {
        apply: async (call) => {
          applied += 1;
          app.clock.advance(3_000);
          return call();
        },
      });
    const crashing = hookedRecords(slowReplay(workerRecords()), {
      applySnapshot: async () => {
        throw failure('InternalServerError', 'Internal server error');
      },
    });
    const deadline = app.clock.now().getTime() + FULL;
    await expect(
      worker({ records: crashing })(
        sqsEvent({ tenantId: 'tenant_a', days: 90, runId }, 'm-1', BACKFILL_MAX_RECEIVES),
        context(FULL),
      ),
    ).rejects.toThrow(/All records failed/);
    expect(app.clock.now().getTime()).toBeLessThanOrEqual(deadline);
    expect(applied).toBeGreaterThan(0);
    expect(applied).toBeLessThan(500);
    expect(await status()).toMatchObject({
      status: 'failed',
      error: `Gave up after ${BACKFILL_MAX_RECEIVES} attempts (InternalServerError)`,
      replayPending: true,
      progress: { replay: { entries: applied } },
    });
    expect(backfillMessages().at(-1)).toMatchObject({ job: { runId } });

    await drain(worker({ records: slowReplay(workerRecords()) }));
    expect(applied).toBe(500);
    expect(await status()).toMatchObject({ status: 'failed', replayPending: false });
    expect(await customerIds()).toContain('cus_dlq_00499');
  });
});

describe('a disconnect stops the run before its next write', () => {
  const BIG = { customers: 60, subscriptions: 80, invoices: 400, oneTimePayments: 40 };

  it('between pages: once DELETE has answered, no page starts and nothing is replayed or continued', async () => {
    await connectedClinic(app, 'tenant_a', ACCOUNT, BIG);
    const runId = await queueRun();
    await journal(customerEntries(5, 'gone', nowSec()));
    let answered = false;
    let pages = 0;
    let pagesStartedAfter = 0;
    let replayedAfter = 0;
    const records = hookedRecords(workerRecords(), {
      applySnapshot: async (call) => {
        if (answered) pagesStartedAfter += 1;
        await call();
        pages += 1;
        if (pages === 2 && !answered) {
          expect((await handlers.disconnect({ headers: bearer(token) })).statusCode).toBe(200);
          answered = true;
        }
      },
      apply: async (call) => {
        if (answered) replayedAfter += 1;
        return call();
      },
    });
    expect(
      await worker({ records })(sqsEvent({ tenantId: 'tenant_a', days: 90, runId }), context(FULL)),
    ).toEqual({ batchItemFailures: [] });
    expect(answered).toBe(true);
    // Pages already being written when the status went may land; none started after.
    expect(pagesStartedAfter).toBe(0);
    expect(replayedAfter).toBe(0);
    expect(await status()).toBeUndefined();
    expect(backfillMessages()).toHaveLength(1);
    expect(app.log.messages()).toContain('backfill_stopped_not_current');
  });

  it('during the replay: no group of entries starts after DELETE has answered', async () => {
    await connectedClinic(app, 'tenant_a', ACCOUNT, SIZE);
    const runId = await queueRun();
    await journal(customerEntries(200, 'replaygone', nowSec()));
    let answered = false;
    let calls = 0;
    let startedAfter = 0;
    const records = hookedRecords(workerRecords(), {
      apply: async (call) => {
        if (answered) startedAfter += 1;
        calls += 1;
        const mine = calls;
        const outcome = await call();
        if (mine === 20) {
          expect((await handlers.disconnect({ headers: bearer(token) })).statusCode).toBe(200);
          answered = true;
        }
        return outcome;
      },
    });
    expect(
      await worker({ records })(sqsEvent({ tenantId: 'tenant_a', days: 90, runId }), context(FULL)),
    ).toEqual({ batchItemFailures: [] });
    expect(answered).toBe(true);
    expect(startedAfter).toBe(0);
    expect(calls).toBe(24);
    expect(await status()).toBeUndefined();
    expect(backfillMessages()).toHaveLength(1);
  });

  it('costs one strongly consistent status read per page written and per replay group', async () => {
    await connectedClinic(app, 'tenant_a', ACCOUNT, BIG);
    const runId = await queueRun();
    await journal(customerEntries(20, 'cost', nowSec()));
    const real = app.depsFor('BackfillWorker').backfillStatus;
    let checks = 0;
    const counting: BackfillStatusStore = Object.assign(Object.create(real) as BackfillStatusStore, {
      isCurrent: (...args: Parameters<BackfillStatusStore['isCurrent']>) => {
        checks += 1;
        return real.isCurrent(...args);
      },
    });
    let pages = 0;
    const records = hookedRecords(workerRecords(), {
      applySnapshot: async (call) => {
        pages += 1;
        return call();
      },
    });
    const run = worker({ records, backfillStatus: counting });
    expect(await run(sqsEvent({ tenantId: 'tenant_a', days: 90, runId }), context(FULL))).toEqual({
      batchItemFailures: [],
    });
    const done = await status();
    expect(done?.status).toBe('succeeded');
    expect(pages).toBe(done?.progress?.pages);
    expect(checks).toBe(pages + Math.ceil(20 / 8));
  });
});

describe('the replay window when intake journals only while a backfill is queued or running', () => {
  it("a re-sync after a run failed with its replay pending replays that run's window; the old continuation stands down", async () => {
    await connectedClinic(app, 'tenant_a', ACCOUNT, SIZE);
    const first = await queueRun();
    // The first run starts, an event is journaled while it runs, and its last attempt gives up
    // without replaying (its replay left to a continuation that is then lost).
    const began = await app.deps.backfillStatus.begin(
      'tenant_a',
      first,
      app.clock.now(),
      app.clock.now().getTime() + FULL,
    );
    await journal(customerEntries(1, 'inherited', nowSec()));
    await abandonBackfill(app.deps, 'tenant_a', first, 'Gave up after 5 attempts (InternalServerError)', {
      replayNow: false,
    });
    expect(await status()).toMatchObject({ status: 'failed', replayPending: true });

    // Hours later a re-sync: its own start is far past the event, so only the inherited window has it.
    app.clock.advance(3 * 60 * 60_000);
    const second = await requestBackfill({ ...app.deps, clock: app.clock }, 'tenant_a', 1);
    expect(await status()).toMatchObject({
      status: 'queued',
      replayFrom: began?.startedAt,
      replayPending: false,
    });
    expect(await worker()(sqsEvent({ tenantId: 'tenant_a', days: 90, runId: first }), context(FULL))).toEqual(
      {
        batchItemFailures: [],
      },
    );
    expect(await customerIds()).not.toContain('cus_inherited_00000');
    expect(await worker()(sqsEvent({ tenantId: 'tenant_a', days: 1, runId: second }), context(FULL))).toEqual(
      {
        batchItemFailures: [],
      },
    );
    expect((await status())?.status).toBe('succeeded');
    expect(await customerIds()).toContain('cus_inherited_00000');
  });
});
