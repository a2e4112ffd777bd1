/**
 * `npm run bench:erasure`: erases a large tenant's Stripe-derived data (100,000 items over its
 * record, journal and ledger partitions) in dynalite through the erasure job
 * (`eraseTenantData`), invocation after invocation with a Lambda's 5-minute deadline each, as the
 * erasure worker and its queued continuations do. Two runs:
 *
 * - `paced`: the deployed pace (`DEFAULT_ERASER_PACING`, 500 deletes a second). At that pace
 *   100,000 items take 200 s, so by default this run erases a smaller tenant
 *   (`ERASURE_BENCH_PACED_ITEMS`, default 20,000: 40 s) and `modelAtDefaultPace` gives the numbers
 *   for 100,000 (`ERASURE_BENCH_PACED_ITEMS=100000` measures them, about 3.5 minutes).
 * - `unpaced`: the 100,000-item tenant with no pace (`itemsPerSecond` 10^9): how fast dynalite on
 *   this machine deletes, the ceiling the pace stays under.
 *
 * Prints, per run, items deleted, invocations, wall time, items/s achieved, DynamoDB requests by
 * operation and key prefix, and capacity units. The items are copies of ones the connector's own
 * adapters wrote (records through `applyStripeEvent` with a backfill running, so also journal and
 * ledger items), with new keys, so their size is the real one. Numbers, not assertions.
 *
 * `ERASURE_BENCH_ITEMS` sets the large tenant's size, `ERASURE_BENCH_ITEMS_PER_SECOND` the paced
 * run's pace, `ERASURE_BENCH_INVOCATION_SECONDS` the deadline per invocation (a short one shows
 * the continuations: each resumes from the partition the last checkpoint names).
 */
import { randomUUID } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import { BatchWriteCommand, type DynamoDBDocumentClient, QueryCommand } from '@aws-sdk/lib-dynamodb';
import { createDocumentClient, createDynamoDbClient } from '#shared/adapters/dynamodb/document-client.ts';
import { createTableIfMissing } from '#shared/adapters/dynamodb/table-definition.ts';
import {
  DEFAULT_ERASER_PACING,
  DynamoDbTenantDataEraser,
  type EraserPacing,
  tenantDataPartitions,
} from '#shared/adapters/dynamodb/tenant-data-eraser-dynamodb.ts';
import { InProcessQueues } from '#shared/adapters/local/in-process-queues.ts';
import { createSessionVerifier } from '#shared/adapters/session/session-verifier.ts';
import { loadConfig } from '#shared/config/config.ts';
import type { StripeIntegration } from '#shared/domain/integration.ts';
import { parseStripeEvent } from '#shared/domain/stripe-event-envelope.ts';
import { systemClock } from '#shared/ports/clock.ts';
import { applyStripeEvent } from '#shared/use-cases/apply-stripe-event.ts';
import { type ErasureOutcome, eraseTenantData } from '#shared/use-cases/data/erase-tenant-data.ts';
import type { AppDependencies } from '../../functions/commons/dependencies.ts';
import { eventStream } from '../../test/support/event-stream.ts';
import { createLocalDependencies } from '../local/local-dependencies.ts';
import { positiveInteger } from './bench-tenant.ts';
import { startDynaliteProcess } from './dynalite-child.ts';
import { DynamoMeter, round, sortedRecord } from './dynamo-meter.ts';

/** A Lambda's deadline per invocation (default 5 minutes): each continuation gets a fresh one. */
const INVOCATION_MS = positiveInteger('ERASURE_BENCH_INVOCATION_SECONDS', 300) * 1000;
const MAX_INVOCATIONS = 50;
/** How the large tenant's items split over its partitions (records, then journal and ledger). */
const SHARES = {
  customers: 0.12,
  subscriptions: 0.14,
  orders: 0.54,
  journal: 0.04,
  ledger: 0.16,
} as const;
type Share = keyof typeof SHARES;
const SEED_CONCURRENCY = 8;
const quiet = { info() {}, warn() {}, error() {} };

interface Run {
  readonly tenantId: string;
  readonly stripeAccountId: string;
  readonly seeded: Readonly<Record<Share, number>>;
  readonly indexedItems: number;
}

async function main() {
  const items = positiveInteger('ERASURE_BENCH_ITEMS', 100_000);
  const pacedItems = positiveInteger('ERASURE_BENCH_PACED_ITEMS', 20_000);
  const itemsPerSecond = positiveInteger(
    'ERASURE_BENCH_ITEMS_PER_SECOND',
    DEFAULT_ERASER_PACING.itemsPerSecond,
  );
  const started = performance.now();
  const dynalite = await startDynaliteProcess();
  const tableName = `bench-${randomUUID()}`;
  const setupClient = createDynamoDbClient({ endpoint: dynalite.endpoint });
  await createTableIfMissing(setupClient, tableName);
  const setupDb = createDocumentClient({}, setupClient);

  const meter = new DynamoMeter();
  const config = loadConfig(
    {
      STRIPE_CONNECT_CLIENT_ID: 'ca_benchmark',
      // Nothing here calls Stripe: the erasure reads and deletes DynamoDB items only.
      STRIPE_API_BASE_URL: 'http://127.0.0.1:9',
      OAUTH_REDIRECT_BASE_URL: 'https://api.compass.test',
      SESSION_JWT_SECRET: 'benchmark-session-secret-at-least-32-bytes',
    },
    ['stripe', 'oauth', 'session'],
  );
  const dynamo = createDynamoDbClient({ endpoint: dynalite.endpoint });
  meter.instrument(dynamo);
  const db = createDocumentClient({}, dynamo);
  const deps = createLocalDependencies({
    dynamoEndpoint: dynalite.endpoint,
    tableName,
    secretsDir: '/nonexistent',
    stripe: config.stripe,
    stripeSecretKey: 'sk_test_benchmark',
    oauth: config.oauth,
    sessions: createSessionVerifier(config.session),
    queues: new InProcessQueues(),
    clock: systemClock,
    log: quiet,
    instrumentDynamoDb: meter.instrument,
  });

  const seedStarted = performance.now();
  const large = await seedTenant(deps, setupDb, tableName, 'erase_large', 'acct_1EraseLarge', items);
  const paced = await seedTenant(deps, setupDb, tableName, 'erase_paced', 'acct_1ErasePaced', pacedItems);
  const seedSeconds = (performance.now() - seedStarted) / 1000;

  const pacedRun = await erase(deps, db, tableName, meter, paced, {
    ...DEFAULT_ERASER_PACING,
    itemsPerSecond,
  });
  const unpacedRun = await erase(deps, db, tableName, meter, large, {
    ...DEFAULT_ERASER_PACING,
    itemsPerSecond: 1e9,
  });

  // The same requests at any pace (the pace only waits between pages): the large run's, scaled.
  const modelItems = 100_000;
  const scale = modelItems / unpacedRun.itemsDeleted;
  const rate = pacedRun.itemsPerSecond;
  const usableSeconds = (INVOCATION_MS - DEFAULT_ERASER_PACING.marginMs) / 1000;
  const result = {
    seeded: {
      large: { items, byPartition: large.seeded, withGsi1Entry: large.indexedItems },
      paced: { items: pacedItems, byPartition: paced.seeded, withGsi1Entry: paced.indexedItems },
      seconds: round(seedSeconds, 1),
    },
    paced: { pace: itemsPerSecond, ...pacedRun.summary },
    unpaced: { pace: 'none (itemsPerSecond 1e9): dynalite on this machine', ...unpacedRun.summary },
    modelAtDefaultPace: {
      items: modelItems,
      itemsPerSecond: rate,
      seconds: Math.round(modelItems / rate),
      invocations: Math.ceil(modelItems / (rate * usableSeconds)),
      itemsPerInvocation: Math.floor(rate * usableSeconds),
      dynamoDbRequests: sortedRecord(unpacedRun.byRequest, (count) => Math.round(count * scale)),
      writeUnits: {
        table: Math.round(unpacedRun.writeUnits * scale),
        gsi1: Math.round(large.indexedItems * scale),
        perSecondAtPace: round(
          ((unpacedRun.writeUnits + large.indexedItems) / unpacedRun.itemsDeleted) * rate,
          0,
        ),
      },
    },
    totalSeconds: round((performance.now() - started) / 1000, 1),
    note: "writeUnits.table is dynalite's (one per delete of an item under 1 KB); DynamoDB also charges one per deleted item's gsi1 entry (records), not reported by dynalite",
  };
  process.stdout.write(`${JSON.stringify(result, null, 2)}\n`);

  setupClient.destroy();
  dynamo.destroy();
  await dynalite.close();
}

/**
 * A connected tenant with `items` items: ~60 events applied through the real intake (with a
 * backfill running, so they are journalled) give one item of each kind, which are then copied
 * under new keys; then disconnected, its data kept and due.
 */
async function seedTenant(
  deps: AppDependencies,
  db: DynamoDBDocumentClient,
  tableName: string,
  tenantId: string,
  stripeAccountId: string,
  items: number,
): Promise<Run> {
  const now = new Date();
  const connected = await deps.tenantData.beginConnection(tenantId, stripeAccountId, now);
  if (connected.outcome !== 'ready') throw new Error(`the tenant's data is not ready: ${connected.outcome}`);
  const integration: StripeIntegration = {
    tenantId,
    tenantSlug: tenantId.replaceAll('_', '-'),
    stripeAccountId,
    livemode: false,
    scope: 'read_write',
    connectedAt: now.toISOString(),
    status: 'connected',
    webhookSecretConfigured: true,
  };
  const state = { integration, backfillActive: true, data: undefined };
  const invocation = { getRemainingTimeInMillis: () => 60_000 };
  for (const raw of eventStream(60, { seed: 7 })) {
    const event = parseStripeEvent(raw);
    if (!event) throw new Error('the event stream made an unparseable event');
    await applyStripeEvent(deps, state, tenantId, event, 'tenant', invocation);
  }
  // The subscription history (the fourth) is left empty: its items erase as records do.
  const [customers, subscriptions, orders, , journal, ledger] = tenantDataPartitions(tenantId) as [
    string,
    string,
    string,
    string,
    string,
    string,
  ];
  const partitions: Record<Share, string> = { customers, subscriptions, orders, journal, ledger };
  const seeded = {} as Record<Share, number>;
  let indexedItems = 0;
  let assigned = 0;
  const shares = Object.keys(SHARES) as Share[];
  for (const [index, share] of shares.entries()) {
    const count = index === shares.length - 1 ? items - assigned : Math.round(items * SHARES[share]);
    assigned += count;
    const pk = partitions[share];
    const existing = await queryAll(db, tableName, pk);
    const template = existing[0];
    if (!template) throw new Error(`no ${share} item was written to copy`);
    const copies = Array.from({ length: Math.max(0, count - existing.length) }, (_, i) =>
      copyOf(template, i),
    );
    await writeAll(db, tableName, copies);
    seeded[share] = Math.max(count, existing.length);
    indexedItems += [...existing, ...copies].filter((item) => item.gsi1pk !== undefined).length;
  }
  await deps.tenantData.keep(tenantId, stripeAccountId, new Date());
  return { tenantId, stripeAccountId, seeded, indexedItems };
}

/** The template under a new key (records: a new id, in the listing index too). */
function copyOf(template: Record<string, unknown>, i: number): Record<string, unknown> {
  const suffix = `E${String(i).padStart(7, '0')}`;
  const sk = String(template.sk);
  if (String(template.pk).startsWith('REC#')) {
    const id = `${sk.split('_')[0]}_${suffix}`;
    const copy: Record<string, unknown> = { ...template, sk: id, id };
    if (typeof template.gsi1sk === 'string') copy.gsi1sk = `${template.gsi1sk.split('#')[0]}#${id}`;
    return copy;
  }
  if (String(template.pk).startsWith('JOURNAL#')) {
    const eventId = `evt_${suffix}`;
    return { ...template, sk: `${sk.split('#')[0]}#${eventId}`, eventId };
  }
  return { ...template, sk: `${sk}#${suffix}` };
}

async function queryAll(db: DynamoDBDocumentClient, tableName: string, pk: string) {
  const items: Record<string, unknown>[] = [];
  let start: Record<string, unknown> | undefined;
  do {
    const page = await db.send(
      new QueryCommand({
        TableName: tableName,
        KeyConditionExpression: 'pk = :pk',
        ExpressionAttributeValues: { ':pk': pk },
        ConsistentRead: true,
        ...(start ? { ExclusiveStartKey: start } : {}),
      }),
    );
    items.push(...(page.Items ?? []));
    start = page.LastEvaluatedKey;
  } while (start);
  return items;
}

async function writeAll(
  db: DynamoDBDocumentClient,
  tableName: string,
  items: readonly Record<string, unknown>[],
) {
  const batches: Record<string, unknown>[][] = [];
  for (let i = 0; i < items.length; i += 25) batches.push(items.slice(i, i + 25));
  let next = 0;
  const worker = async () => {
    while (next < batches.length) {
      let pending = (batches[next++] ?? []).map((Item) => ({ PutRequest: { Item } }));
      while (pending.length > 0) {
        const result = await db.send(new BatchWriteCommand({ RequestItems: { [tableName]: pending } }));
        pending = (result.UnprocessedItems?.[tableName] ?? []) as typeof pending;
      }
    }
  };
  await Promise.all(Array.from({ length: SEED_CONCURRENCY }, worker));
}

/** The erasure job, invocation after invocation, until it reports the data erased. */
async function erase(
  deps: AppDependencies,
  db: DynamoDBDocumentClient,
  tableName: string,
  meter: DynamoMeter,
  run: Run,
  pacing: EraserPacing,
) {
  const eraser = new DynamoDbTenantDataEraser(db, tableName, pacing);
  const jobDeps = { ...deps, eraser };
  const job = { tenantId: run.tenantId, stripeAccountId: run.stripeAccountId };
  const before = meter.snapshot();
  const started = performance.now();
  const invocations: { outcome: ErasureOutcome['outcome']; seconds: number; itemsDeleted: number }[] = [];
  let outcome: ErasureOutcome;
  do {
    if (invocations.length >= MAX_INVOCATIONS)
      throw new Error(`not erased after ${MAX_INVOCATIONS} invocations`);
    const t0 = performance.now();
    outcome = await eraseTenantData(jobDeps, job, Date.now() + INVOCATION_MS);
    invocations.push({
      outcome: outcome.outcome,
      seconds: round((performance.now() - t0) / 1000, 1),
      itemsDeleted: outcome.outcome === 'skipped' ? 0 : outcome.itemsDeleted,
    });
  } while (outcome.outcome === 'continued');
  const wallSeconds = (performance.now() - started) / 1000;
  const cost = meter.since(before);
  if (outcome.outcome !== 'erased') throw new Error(`the erasure ended ${outcome.outcome}`);
  const left = (
    await Promise.all(tenantDataPartitions(run.tenantId).map((pk) => queryAll(db, tableName, pk)))
  ).flat().length;
  const data = await deps.tenantData.get(run.tenantId);
  const itemsDeleted = outcome.itemsDeleted;
  const itemsPerSecond = round(itemsDeleted / wallSeconds, 0);
  return {
    itemsDeleted,
    itemsPerSecond,
    byRequest: cost.byRequest,
    writeUnits: cost.writeUnits,
    summary: {
      itemsDeleted,
      itemsLeft: left,
      dataState: data?.state,
      invocations: invocations.length,
      perInvocation: invocations,
      wallSeconds: round(wallSeconds, 1),
      itemsPerSecond,
      dynamoDbRequests: { total: cost.requests, ...sortedRecord(cost.byRequest, (count) => count) },
      capacityUnits: {
        read: round(cost.readUnits, 1),
        writeTable: round(cost.writeUnits, 1),
        writeGsi1NotReported: run.indexedItems,
      },
    },
  };
}

await main();
