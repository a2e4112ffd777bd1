/**
 * `npm run bench:sweep`: what the Events API catch-up sweep (sweep-account-events.ts) costs per
 * connected account, and what the schedule's tick (schedule-sweeps.ts) costs per 1,000 accounts.
 * The README's "sweep requests per account per day" come from here.
 *
 * For each activity level (new handled events per 15-minute interval, `SWEEP_BENCH_LEVELS`,
 * default 0,10,100,250) a tenant of its own is connected, then, on a bench clock that both the
 * connector and the fake Stripe's Events API read, the reconcile worker sweeps it (direct
 * invocation, as each queued `{"kind":"tenant"}` message does):
 *
 * - `firstAfterConnect`: an interval's events recorded at the fake (spread over its 15 minutes,
 *   none delivered), the clock 15 minutes on, the sweep: it must apply them all.
 * - `webhooksMissed`: the next interval the same way: the sweep applies every new event, and also
 *   reads again the 5 minutes before the newest event the last sweep saw
 *   (`SWEEP_OVERLAP_SECONDS`), which the ledger drops as duplicates.
 * - `repeat`, `repeatSameInstance`: a sweep right after, with nothing new (it must apply 0; it
 *   still reads the overlap), on a fresh worker instance and on the previous sweep's.
 * - `webhooksDelivered`: the usual interval: its events applied on arrival (the Connect
 *   endpoint's path, the webhook function's ledger), then the sweep: it must apply 0.
 *
 * Every sweep but `repeatSameInstance` runs on a fresh instance (a new ledger, so an empty local
 * cache), as deployed: a tenant's next sweep, 15 minutes and thousands of messages later, lands
 * on any of the worker's instances. `perDay` is a sweep × 96 (`RECONCILE_INTERVAL` of
 * infra/reconcile-schedule.ts: 15 minutes).
 *
 * Per sweep: Stripe API requests (counted at the fake, by path), DynamoDB requests by operation
 * and key prefix (`Query TENANT#` the tenant's state, `PutItem LEDGER#`/`UpdateItem LEDGER#` the
 * ledger's lease and completion, `UpdateItem REC#` a record, `UpdateItem TENANT#` the cursor),
 * events read and applied, wall ms. `perEvent` splits the sweeps' requests per event read (from
 * its state read to the next one's): an applied event, a duplicate. The events are of distinct
 * objects (customers, subscriptions, invoices: each changes a record), so every new event is
 * applied, and the bench throws when a sweep applies another number.
 *
 * `tick`: 1,000 tenants with active data in a table of their own, and the schedule's tick
 * (`{"kind":"all"}` through the worker's SQS path) queueing their sweeps through the deployed
 * SQS adapter, answered by the tests' in-memory SQS: DynamoDB requests, SendMessageBatch calls,
 * messages, wall ms (`SWEEP_BENCH_TICK_TENANTS` sets the number).
 *
 * dynalite runs in a child process (dynalite-child.ts); the fake Stripe answers in this process
 * with no latency, so wall ms is the code's and dynalite's, not Stripe's (a live Events API page
 * takes some 300 to 500 ms). Numbers, not assertions.
 */
import { randomUUID } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { SQSClient } from '@aws-sdk/client-sqs';
import type { Context, SQSBatchResponse } from 'aws-lambda';
import { createDynamoDbClient } from '#shared/adapters/dynamodb/document-client.ts';
import { PowertoolsEventLedger } from '#shared/adapters/dynamodb/event-ledger-powertools.ts';
import { createTableIfMissing } from '#shared/adapters/dynamodb/table-definition.ts';
import { InProcessQueues } from '#shared/adapters/local/in-process-queues.ts';
import { SqsErasureQueue, SqsReconcileQueue } from '#shared/adapters/queue/sqs-job-queues.ts';
import { createSessionVerifier } from '#shared/adapters/session/session-verifier.ts';
import { type Config, loadConfig } from '#shared/config/config.ts';
import { parseStripeEvent } from '#shared/domain/stripe-event-envelope.ts';
import { SWEEP_OVERLAP_SECONDS } from '#shared/domain/sweep-cursor.ts';
import type { Clock } from '#shared/ports/clock.ts';
import type { EventLedger } from '#shared/ports/event-ledger.ts';
import type { TenantDataStore } from '#shared/ports/tenant-data-store.ts';
import { applyStripeEvent } from '#shared/use-cases/apply-stripe-event.ts';
import { SWEEP_SPREAD_SECONDS, spreadDelay } from '#shared/use-cases/reconcile/schedule-sweeps.ts';
import type { SweepSummary } from '#shared/use-cases/reconcile/sweep-account-events.ts';
import type { AppDependencies } from '../../functions/commons/dependencies.ts';
import { createReconcileWorker } from '../../functions/reconcile-worker.ts';
import { RECONCILE_INTERVAL } from '../../infra/reconcile-schedule.ts';
import { InMemorySqs } from '../../test/support/aws-stand-ins.ts';
import { queueUrl } from '../../test/support/iam/aws-requests.ts';
import { sqsEvent } from '../../test/support/sqs-event.ts';
import { createLocalDependencies } from '../local/local-dependencies.ts';
import { FakeStripe, type StripeObject } from '../stripe-emulator/fake-stripe-server.ts';
import { current, stripeEvent } from '../stripe-emulator/stripe-objects.ts';
import { type BenchTenant, connectBenchTenant, positiveInteger } from './bench-tenant.ts';
import { startDynaliteProcess } from './dynalite-child.ts';
import { DynamoMeter, type MeterSnapshot, MeterTally, round, sortedRecord } from './dynamo-meter.ts';

const INTERVAL_SECONDS = RECONCILE_INTERVAL.toSeconds();
const SWEEPS_PER_DAY = (24 * 60 * 60) / INTERVAL_SECONDS;
const quiet = { info() {}, warn() {}, error() {} };
const RECONCILE_QUEUE = 'compass-stripe-reconcile';
const ERASURE_QUEUE = 'compass-stripe-erasure';
const SEED_CONCURRENCY = 16;
type BenchConfig = Pick<Config, 'stripe' | 'oauth' | 'session'>;

/** The connector's and the fake Events API's "now": moved 15 minutes per interval. */
class BenchClock implements Clock {
  constructor(public ms: number) {}
  now(): Date {
    return new Date(this.ms);
  }
  seconds(): number {
    return Math.floor(this.ms / 1000);
  }
  advance(seconds: number): void {
    this.ms += seconds * 1000;
  }
}

/**
 * Splits a sweep's DynamoDB requests per event: the sweep reads the tenant's state once before
 * its first page and once per event, and saves its cursor at the end, so the requests from one
 * per-event state read to the next (or to the cursor's save) are that event's.
 */
class PerEventTally {
  readonly applied = new MeterTally();
  readonly duplicate = { freshInstance: new MeterTally(), sameInstance: new MeterTally() };
  private duplicates: MeterTally | undefined;
  private reads = 0;
  private open: MeterSnapshot | undefined;

  constructor(private readonly meter: DynamoMeter) {}

  begin(instance: 'freshInstance' | 'sameInstance'): void {
    this.duplicates = this.duplicate[instance];
    this.reads = 0;
    this.open = undefined;
  }

  stateRead(): void {
    if (!this.duplicates) return;
    this.reads += 1;
    if (this.reads === 1) return; // the sweep's own read, before its first page
    this.close();
    this.open = this.meter.snapshot();
  }

  cursorSaved(): void {
    this.close();
    this.duplicates = undefined;
  }

  private close(): void {
    if (!this.open || !this.duplicates) return;
    const cost = this.meter.since(this.open);
    this.open = undefined;
    // An applied event wrote its record; a duplicate stopped at the ledger.
    const wroteRecord = [...cost.byRequest.keys()].some((label) => label.endsWith(' REC#'));
    (wroteRecord ? this.applied : this.duplicates).add(cost);
  }
}

async function main() {
  const levels = levelsFromEnv();
  const tickTenants = positiveInteger('SWEEP_BENCH_TICK_TENANTS', 1000);
  const started = performance.now();
  const dynalite = await startDynaliteProcess();
  const stripe = new FakeStripe();
  const stripeUrl = await stripe.start();
  const clock = new BenchClock(Math.floor(Date.now() / 1000) * 1000);
  // The Events API keeps the 30 days before the fake's now: the bench clock's.
  stripe.now = () => clock.seconds();
  const secretsDir = await mkdtemp(join(tmpdir(), 'bench-sweep-secrets-'));
  const config = loadConfig(
    {
      STRIPE_CONNECT_CLIENT_ID: stripe.clientId,
      STRIPE_API_BASE_URL: stripeUrl,
      OAUTH_REDIRECT_BASE_URL: 'https://api.compass.test',
      SESSION_JWT_SECRET: 'benchmark-session-secret-at-least-32-bytes',
    },
    ['stripe', 'oauth', 'session'],
  );
  const meter = new DynamoMeter();
  const sweepTable = await newTable(dynalite.endpoint, 'bench-sweep');
  const deps = localDeps(config, dynalite.endpoint, sweepTable, secretsDir, stripe, clock, meter);

  const tally = new PerEventTally(meter);
  // The sweeps' ledger client: a new ledger per sweep is a new instance's empty local cache.
  const ledgerClient = createDynamoDbClient({ endpoint: dynalite.endpoint });
  meter.instrument(ledgerClient);
  let ledger: EventLedger = deps.ledger;

  /**
   * One sweep of `tenant` by the reconcile worker. `freshInstance`: on a worker instance that has
   * not swept this tenant before (as deployed: the tenant's next sweep, 15 minutes and thousands
   * of messages later, lands on any of the worker's instances), so the ledger's local cache of
   * the tenant's recent events is empty; `sameInstance`: on the instance of the previous sweep.
   */
  const sweep = async (
    tenant: BenchTenant,
    expectApplied: number,
    phase: string,
    instance: 'freshInstance' | 'sameInstance' = 'freshInstance',
  ) => {
    if (instance === 'freshInstance') ledger = new PowertoolsEventLedger(ledgerClient, sweepTable);
    const worker = createReconcileWorker({
      ...deps,
      ledger,
      tenantState: tracked(deps.tenantState, {
        read: (tenantId: string) => {
          tally.stateRead();
          return deps.tenantState.read(tenantId);
        },
      }),
      tenantData: tracked(deps.tenantData, {
        saveSweep: (...args: Parameters<TenantDataStore['saveSweep']>) => {
          tally.cursorSaved();
          return deps.tenantData.saveSweep(...args);
        },
      }),
    });
    const stripeBefore = stripe.requests.length;
    const before = meter.snapshot();
    tally.begin(instance);
    const t0 = performance.now();
    const summary = (await worker({ tenantId: tenant.tenantId }, lambdaContext())) as SweepSummary;
    const wallMs = performance.now() - t0;
    const dynamo = meter.since(before);
    if (summary.outcome !== 'done') {
      throw new Error(`${tenant.tenantId} ${phase}: the sweep ended ${summary.outcome} (${summary.reason})`);
    }
    if (summary.eventsApplied !== expectApplied) {
      throw new Error(
        `${tenant.tenantId} ${phase}: the sweep applied ${summary.eventsApplied} events, not ${expectApplied}`,
      );
    }
    const listed = stripe.requests.slice(stripeBefore);
    const byPath = new Map<string, number>();
    for (const request of listed) {
      const label = `${request.method} ${request.path}`;
      byPath.set(label, (byPath.get(label) ?? 0) + 1);
    }
    return {
      eventsRead: summary.eventsRead,
      eventsApplied: summary.eventsApplied,
      stripeRequests: { total: listed.length, ...sortedRecord(byPath, (count) => count) },
      dynamoDbRequests: { total: dynamo.requests, ...sortedRecord(dynamo.byRequest, (count) => count) },
      capacityUnits: { read: round(dynamo.readUnits, 1), writeTable: round(dynamo.writeUnits, 1) },
      wallMs: round(wallMs, 1),
    };
  };

  const accounts = [];
  for (const level of levels) {
    const tenant = {
      tenantId: `sweep_${level}`,
      slug: `sweep-clinic-${level}`,
      stripeAccountId: `acct_1Sweep${String(level).padStart(6, '0')}`,
    };
    await connectBenchTenant(deps, tenant, {
      accessToken: stripe.connectAccount(tenant.stripeAccountId),
      now: clock.now(),
    });
    // Webhooks missed: every new event is the sweep's to apply.
    recordInterval(stripe, tenant, level, clock, 'a');
    clock.advance(INTERVAL_SECONDS);
    const first = await sweep(tenant, level, 'first');
    recordInterval(stripe, tenant, level, clock, 'b');
    clock.advance(INTERVAL_SECONDS);
    const missed = await sweep(tenant, level, 'webhooksMissed');
    const repeatSameInstance = await sweep(tenant, 0, 'repeatSameInstance', 'sameInstance');
    const repeat = await sweep(tenant, 0, 'repeat');
    // Webhooks delivered (the usual day): the events were applied on arrival, the sweep finds
    // them all in the ledger.
    const delivered = recordInterval(stripe, tenant, level, clock, 'c');
    await deliver(deps, tenant, delivered);
    clock.advance(INTERVAL_SECONDS);
    const afterDelivery = await sweep(tenant, 0, 'webhooksDelivered');
    const perDay = (one: {
      stripeRequests: { total: number };
      dynamoDbRequests: Record<string, number>;
    }) => ({
      stripeRequests: one.stripeRequests.total * SWEEPS_PER_DAY,
      dynamoDbRequests: (one.dynamoDbRequests.total ?? 0) * SWEEPS_PER_DAY,
      // Without the GetItem LEDGER# that only dynalite needs (see perEvent.note).
      dynamoDbRequestsOnAws:
        ((one.dynamoDbRequests.total ?? 0) - (one.dynamoDbRequests['GetItem LEDGER#'] ?? 0)) * SWEEPS_PER_DAY,
    });
    accounts.push({
      newEventsPer15Minutes: level,
      newEventsPerDay: level * SWEEPS_PER_DAY,
      sweeps: {
        firstAfterConnect: first,
        webhooksDelivered: afterDelivery,
        webhooksMissed: missed,
        repeat,
        repeatSameInstance,
      },
      perDay: {
        sweeps: SWEEPS_PER_DAY,
        webhooksDelivered: perDay(afterDelivery),
        webhooksMissed: perDay(missed),
      },
    });
  }
  ledgerClient.destroy();

  const tick = await measureTick(config, dynalite.endpoint, secretsDir, stripe, clock, meter, tickTenants);
  const perAccountPerDay = {
    dynamoDbRequests: round((tick.dynamoDbRequests.total / tickTenants) * SWEEPS_PER_DAY, 2),
    sqsRequests: round((tick.sqsRequests.total / tickTenants) * SWEEPS_PER_DAY, 2),
  };

  const result = {
    schedule: {
      intervalSeconds: INTERVAL_SECONDS,
      sweepsPerAccountPerDay: SWEEPS_PER_DAY,
      overlapSeconds: SWEEP_OVERLAP_SECONDS,
      spreadSeconds: SWEEP_SPREAD_SECONDS,
    },
    accounts,
    perEvent: {
      applied: tally.applied.perSample(),
      duplicateFreshInstance: tally.duplicate.freshInstance.perSample(),
      duplicateSameInstance: tally.duplicate.sameInstance.perSample(),
      note: "DynamoDB requests per event a sweep read, from its state read to the next one's: applied (it wrote a record) or duplicate (delivered already, or read again from the overlap: dropped at the ledger). On a fresh instance a duplicate's conditional PutItem LEDGER# fails; DynamoDB returns the record with the failure (ReturnValuesOnConditionCheckFailure), dynalite does not, so Powertools reads it with a GetItem LEDGER# that AWS does not see. On the same instance the ledger's local cache (256 events per tenant) answers without DynamoDB",
    },
    tick: { ...tick, perAccountPerDay },
    totalSeconds: round((performance.now() - started) / 1000, 1),
    note: "perDay = one sweep x 96: webhooksDelivered (the usual day: every event the sweep reads was delivered already) and webhooksMissed (the worst: the sweep applies every event), each reading the interval's new events plus the 5-minute overlap again, on a fresh worker instance. The fake Stripe answers with no latency. writeUnitsTable is dynalite's (a record write costs one more unit for its gsi1 entry on DynamoDB); SQS requests are SendMessageBatch calls of at most 10 messages",
  };
  process.stdout.write(`${JSON.stringify(result, null, 2)}\n`);

  await stripe.stop();
  await dynalite.close();
  await rm(secretsDir, { recursive: true, force: true });
}

/**
 * The schedule's tick for `count` tenants with active data, alone in a table: the worker's SQS
 * path with `{"kind":"all"}`, its sweeps sent through the deployed SQS adapter.
 */
async function measureTick(
  config: BenchConfig,
  endpoint: string,
  secretsDir: string,
  stripe: FakeStripe,
  clock: BenchClock,
  meter: DynamoMeter,
  count: number,
) {
  const tableName = await newTable(endpoint, 'bench-tick');
  const base = localDeps(config, endpoint, tableName, secretsDir, stripe, clock, meter);
  const sqs = new InMemorySqs([RECONCILE_QUEUE, ERASURE_QUEUE]);
  // The stand-in answers before the request is signed; the SDK resolves credentials first anyway.
  const sqsClient = new SQSClient({
    region: 'us-east-1',
    credentials: { accessKeyId: 'bench', secretAccessKey: 'bench' },
  });
  const sqsRequests = new Map<string, number>();
  sqsClient.middlewareStack.add(
    (next, context) => async (args) => {
      const operation = String(context.commandName ?? 'Unknown').replace(/Command$/, '');
      sqsRequests.set(operation, (sqsRequests.get(operation) ?? 0) + 1);
      return next(args);
    },
    { step: 'initialize', name: 'benchSqsMeter' },
  );
  sqs.attach(sqsClient);
  const deps: AppDependencies = {
    ...base,
    reconcileQueue: new SqsReconcileQueue(sqsClient, queueUrl(RECONCILE_QUEUE)),
    erasureQueue: new SqsErasureQueue(sqsClient, queueUrl(ERASURE_QUEUE)),
  };

  const seedStarted = performance.now();
  const ids = Array.from({ length: count }, (_, i) => `tick_${String(i).padStart(5, '0')}`);
  let next = 0;
  const seed = async () => {
    while (next < ids.length) {
      const tenantId = ids[next++] as string;
      const data = await deps.tenantData.beginConnection(tenantId, `acct_1T${tenantId}`, clock.now());
      if (data.outcome !== 'ready') throw new Error(`${tenantId}'s data is not ready: ${data.outcome}`);
    }
  };
  await Promise.all(Array.from({ length: SEED_CONCURRENCY }, seed));
  const seedSeconds = (performance.now() - seedStarted) / 1000;

  const worker = createReconcileWorker(deps);
  const before = meter.snapshot();
  const t0 = performance.now();
  const response = (await worker(sqsEvent({ kind: 'all' }), lambdaContext())) as SQSBatchResponse;
  const wallMs = performance.now() - t0;
  const dynamo = meter.since(before);
  if (response.batchItemFailures.length > 0) throw new Error('the tick failed');
  const sweeps = sqs.sent.filter((m) => m.queueName === RECONCILE_QUEUE);
  const tenantsQueued = new Set(sweeps.map((m) => (JSON.parse(m.body) as { tenantId?: string }).tenantId));
  if (sweeps.length !== count || tenantsQueued.size !== count) {
    throw new Error(
      `the tick queued ${sweeps.length} sweeps for ${tenantsQueued.size} tenants, not ${count}`,
    );
  }
  const continuations = sweeps.filter((m) => (JSON.parse(m.body) as { kind: string }).kind === 'all');
  const delays = new Set(ids.map((id) => spreadDelay(id)));
  sqsClient.destroy();
  return {
    tenants: count,
    seedSeconds: round(seedSeconds, 1),
    sweepsQueued: sweeps.length,
    continuations: continuations.length,
    distinctDelays: delays.size,
    dynamoDbRequests: { total: dynamo.requests, ...sortedRecord(dynamo.byRequest, (n) => n) },
    capacityUnits: { read: round(dynamo.readUnits, 1) },
    sqsRequests: {
      total: [...sqsRequests.values()].reduce((a, b) => a + b, 0),
      ...sortedRecord(sqsRequests, (n) => n),
    },
    wallMs: round(wallMs, 1),
  };
}

/**
 * One interval's `count` handled events on distinct objects (each changes a record), created
 * over the 15 minutes after the clock's now, in their account's Events API.
 */
function recordInterval(
  stripe: FakeStripe,
  tenant: BenchTenant,
  count: number,
  clock: BenchClock,
  batch: string,
): StripeObject[] {
  const start = clock.seconds();
  const events: StripeObject[] = [];
  const options = (created: number) => ({ account: tenant.stripeAccountId, created });
  for (let i = 0; i < count; i++) {
    const created = start + 1 + Math.floor((i * (INTERVAL_SECONDS - 1)) / count);
    const n = `${batch}${String(i).padStart(5, '0')}`;
    const customer = `cus_Sw${n}`;
    switch (i % 4) {
      case 0:
        events.push(
          stripeEvent('customer.created', current.customer({ id: customer, created }), options(created)),
        );
        break;
      case 1:
        events.push(
          stripeEvent(
            'customer.subscription.created',
            current.subscription({ id: `sub_Sw${n}`, customer, created }),
            options(created),
          ),
        );
        break;
      case 2:
        events.push(
          stripeEvent(
            'invoice.paid',
            current.invoice({ id: `in_Sw${n}`, customer, created }),
            options(created),
          ),
        );
        break;
      default:
        events.push(
          stripeEvent(
            'customer.subscription.updated',
            current.subscription({ id: `sub_SwU${n}`, customer, status: 'past_due' }),
            options(created),
          ),
        );
    }
  }
  return stripe.recordEvent(...events);
}

/** The events applied on arrival, as the Connect endpoint's deliveries do (the webhook function's ledger). */
async function deliver(deps: AppDependencies, tenant: BenchTenant, events: readonly StripeObject[]) {
  const invocation = { getRemainingTimeInMillis: () => 10_000 };
  for (const raw of events) {
    const event = parseStripeEvent(raw);
    if (!event) throw new Error('the bench made an unparseable event');
    const state = await deps.tenantState.read(tenant.tenantId);
    const receipt = await applyStripeEvent(deps, state, tenant.tenantId, event, 'connect', invocation);
    if (receipt.outcome !== 'processed' || !receipt.changed) {
      throw new Error(`a delivered event was ${receipt.outcome}, not applied`);
    }
  }
}

function localDeps(
  config: BenchConfig,
  endpoint: string,
  tableName: string,
  secretsDir: string,
  stripe: FakeStripe,
  clock: Clock,
  meter: DynamoMeter,
): AppDependencies {
  return createLocalDependencies({
    dynamoEndpoint: endpoint,
    tableName,
    secretsDir,
    stripe: config.stripe,
    stripeSecretKey: stripe.secretKey,
    oauth: config.oauth,
    sessions: createSessionVerifier(config.session),
    queues: new InProcessQueues(),
    clock,
    log: quiet,
    instrumentDynamoDb: meter.instrument,
  });
}

async function newTable(endpoint: string, prefix: string): Promise<string> {
  const tableName = `${prefix}-${randomUUID()}`;
  const client = createDynamoDbClient({ endpoint });
  await createTableIfMissing(client, tableName);
  client.destroy();
  return tableName;
}

/** `target` with some methods replaced (the rest bound to it). */
function tracked<T extends object>(target: T, overrides: Partial<T>): T {
  return new Proxy(target, {
    get(object, property, receiver) {
      if (Object.hasOwn(overrides, property)) return overrides[property as keyof T];
      const value = Reflect.get(object, property, receiver);
      return typeof value === 'function' ? value.bind(object) : value;
    },
  });
}

/** A reconcile worker's invocation: its 5-minute timeout, no deadline reached in these sweeps. */
function lambdaContext(): Context {
  const deadline = Date.now() + 300_000;
  return {
    functionName: 'ReconcileWorker',
    functionVersion: '$LATEST',
    invokedFunctionArn: 'arn:aws:lambda:us-east-1:123456789012:function:ReconcileWorker',
    memoryLimitInMB: '512',
    awsRequestId: randomUUID(),
    logGroupName: 'group',
    logStreamName: 'stream',
    callbackWaitsForEmptyEventLoop: false,
    getRemainingTimeInMillis: () => deadline - Date.now(),
    done: () => undefined,
    fail: () => undefined,
    succeed: () => undefined,
  };
}

function levelsFromEnv(): number[] {
  const raw = process.env.SWEEP_BENCH_LEVELS;
  if (raw === undefined || raw === '') return [0, 10, 100, 250];
  const levels = raw.split(',').map((part) => Number(part.trim()));
  if (levels.some((level) => !Number.isInteger(level) || level < 0)) {
    throw new Error(`SWEEP_BENCH_LEVELS must list whole numbers of events, not ${raw}`);
  }
  return [...new Set(levels)];
}

await main();
