/**
 * `npm run bench:webhooks`: 2,000 signed Stripe events (10 % duplicates, 10 % out of order)
 * through the tenant webhook handler, in process, against dynalite, on one warm "container",
 * twice: for a tenant without a backfill (`withoutBackfill`), then for another whose backfill is
 * running (`withBackfill`: each event that changes records is also written to the change
 * journal the backfill replays). Prints, per phase, throughput, handler latency, the handler's
 * CPU time per event, and what each event costs in DynamoDB requests (by operation and key
 * prefix: `Query TENANT#` is the per-event state read, `PutItem LEDGER#` and `UpdateItem LEDGER#`
 * the ledger's lease and its completion, `UpdateItem REC#` the record, `PutItem JOURNAL#` the
 * journal), capacity units, Secrets Manager reads and Stripe API calls. Numbers, not
 * assertions: shared machines vary.
 *
 * dynalite runs in a child process (dynalite-child.ts), so this process's CPU time is the
 * handler's own: middy and Powertools, signature verification, parsing, the use case and the AWS
 * SDK's DynamoDB client, as in a Lambda. The fake Stripe in this process answers no request on
 * this path (0 Stripe calls) and the local secret store is read once per tenant. CPU is measured
 * around each handler call, so signing the test payloads is not counted. Each tenant is set up
 * as a connect leaves it (token, account claim, data item, webhook secret, integration row).
 */
import { randomUUID } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import Stripe from 'stripe';
import { createDynamoDbClient } from '#shared/adapters/dynamodb/document-client.ts';
import { createTableIfMissing } from '#shared/adapters/dynamodb/table-definition.ts';
import { FileWebhookSecretStore } from '#shared/adapters/local/file-credential-stores.ts';
import { InProcessQueues } from '#shared/adapters/local/in-process-queues.ts';
import { createSessionVerifier } from '#shared/adapters/session/session-verifier.ts';
import { loadConfig } from '#shared/config/config.ts';
import { systemClock } from '#shared/ports/clock.ts';
import type { WebhookSecretStore } from '#shared/ports/webhook-secret-store.ts';
import { createTenantWebhookHandler } from '../../functions/webhook-tenant.ts';
import { eventStream, seededRandom } from '../../test/support/event-stream.ts';
import { createLocalDependencies } from '../local/local-dependencies.ts';
import { FakeStripe } from '../stripe-emulator/fake-stripe-server.ts';
import { type BenchTenant, connectBenchTenant } from './bench-tenant.ts';
import { startDynaliteProcess } from './dynalite-child.ts';
import { DynamoMeter, MeterTally, round } from './dynamo-meter.ts';
import { toApiGatewayEventFrom } from './synthetic-event.ts';

const UNIQUE_EVENTS = 1818;
const TOTAL_EVENTS = 2000;
const SECRET = `whsec_${'benchmarksecret'.repeat(2)}`;
const quiet = { info() {}, warn() {}, error() {} };
/** A backfill's lease long enough for the phase: the run stays `running` throughout. */
const BACKFILL_LEASE_MS = 60 * 60_000;

async function main() {
  const dynalite = await startDynaliteProcess();
  const stripe = new FakeStripe();
  const stripeUrl = await stripe.start();
  const secretsDir = await mkdtemp(join(tmpdir(), 'bench-secrets-'));
  const tableName = `bench-${randomUUID()}`;
  const setup = createDynamoDbClient({ endpoint: dynalite.endpoint });
  await createTableIfMissing(setup, tableName);
  setup.destroy();

  const meter = new DynamoMeter();
  let secretReads = 0;
  const files = new FileWebhookSecretStore(secretsDir);
  const webhookSecrets: WebhookSecretStore = {
    save: (t, s) => files.save(t, s),
    delete: (t) => files.delete(t),
    get: (t) => {
      secretReads += 1;
      return files.get(t);
    },
  };
  const config = loadConfig(
    {
      STRIPE_CONNECT_CLIENT_ID: stripe.clientId,
      STRIPE_API_BASE_URL: stripeUrl,
      OAUTH_REDIRECT_BASE_URL: 'https://api.compass.test',
      SESSION_JWT_SECRET: 'benchmark-session-secret-at-least-32-bytes',
    },
    ['stripe', 'oauth', 'session'],
  );
  const deps = createLocalDependencies({
    dynamoEndpoint: dynalite.endpoint,
    tableName,
    secretsDir,
    stripe: config.stripe,
    stripeSecretKey: stripe.secretKey,
    oauth: config.oauth,
    sessions: createSessionVerifier(config.session),
    queues: new InProcessQueues(),
    clock: systemClock,
    log: quiet,
    webhookSecrets,
    instrumentDynamoDb: meter.instrument,
  });

  const plain = { tenantId: 'bench_tenant', slug: 'bench-clinic', stripeAccountId: 'acct_1Bench' };
  const backfilling = { tenantId: 'bench_tenant_b', slug: 'bench-clinic-b', stripeAccountId: 'acct_1BenchB' };
  await connectBenchTenant(deps, plain, {
    accessToken: 'sk_test_bench',
    now: new Date(),
    webhookSecret: SECRET,
  });
  await connectBenchTenant(deps, backfilling, {
    accessToken: 'sk_test_bench',
    now: new Date(),
    webhookSecret: SECRET,
  });
  const runId = randomUUID();
  if (!(await deps.backfillStatus.requestRun(backfilling.tenantId, { runId, days: 90, at: new Date() }, 0))) {
    throw new Error('the backfill run was not queued');
  }
  const begun = await deps.backfillStatus.begin(
    backfilling.tenantId,
    runId,
    new Date(),
    Date.now() + BACKFILL_LEASE_MS,
  );
  if (begun?.status !== 'running') throw new Error('the backfill run did not start');
  if (!(await deps.tenantState.read(backfilling.tenantId)).backfillActive) {
    throw new Error('the tenant state does not see the backfill as active');
  }

  // One warm container for both phases, as one webhook function's instance would be.
  const handler = createTenantWebhookHandler(deps);
  const stripeCallsBefore = stripe.requests.length;
  const measure = async (tenant: BenchTenant) => {
    const secretsBefore = secretReads;
    const result = await runPhase(handler, tenant, meter, () => secretReads);
    return { ...result, secretsManagerReads: secretReads - secretsBefore };
  };
  const withoutBackfill = { backfill: 'none', ...(await measure(plain)) };
  const withBackfill = { backfill: 'running', ...(await measure(backfilling)) };
  const journalled = await deps.backfillStatus.get(backfilling.tenantId);
  if (journalled?.status !== 'running') throw new Error('the backfill run ended during the phase');

  const result = {
    withoutBackfill,
    withBackfill,
    journalWritesPerNewEvent: round(
      (withBackfill.dynamoDbRequestsPerNewEvent.byRequest['PutItem JOURNAL#'] ?? 0) -
        (withoutBackfill.dynamoDbRequestsPerNewEvent.byRequest['PutItem JOURNAL#'] ?? 0),
    ),
    stripeApiCalls: stripe.requests.length - stripeCallsBefore,
    rssMb: Math.round(process.memoryUsage().rss / 1024 / 1024),
    note: "byRequest: operation and key prefix, mean per event; writeUnitsTable is dynalite's table units (a record write costs one more unit for its gsi1 entry on DynamoDB)",
  };
  process.stdout.write(`${JSON.stringify(result, null, 2)}\n`);

  await stripe.stop();
  await dynalite.close();
  await rm(secretsDir, { recursive: true, force: true });
}

/** The same 2,000 deliveries to one tenant's endpoint, each handler call measured. */
async function runPhase(
  handler: ReturnType<typeof createTenantWebhookHandler>,
  tenant: BenchTenant,
  meter: DynamoMeter,
  secretReads: () => number,
) {
  const stream = deliveryStream();
  const seen = new Set<string>();
  const latencies: number[] = [];
  /** CPU time (user + system) of this process during each handler call, ms. */
  const cpuMs: number[] = [];
  const perNew = new MeterTally();
  const perDuplicate = new MeterTally();
  const byType = new Map<string, MeterTally>();
  let secretReadsAfterFirst = 0;
  const context = { getRemainingTimeInMillis: () => 10_000 } as never;
  const started = performance.now();
  for (const [index, event] of stream.entries()) {
    const body = JSON.stringify(event);
    const header = Stripe.webhooks.generateTestHeaderString({ payload: body, secret: SECRET });
    const id = String((event as { id: string }).id);
    const before = meter.snapshot();
    const secretsBefore = secretReads();
    const apiEvent = toApiGatewayEventFrom(tenant.slug, body, header);
    const cpu0 = process.cpuUsage();
    const t0 = performance.now();
    const response = await handler(apiEvent, context);
    latencies.push(performance.now() - t0);
    const cpu = process.cpuUsage(cpu0);
    cpuMs.push((cpu.user + cpu.system) / 1000);
    if (response.statusCode !== 200)
      throw new Error(`event ${index} answered ${response.statusCode}: ${response.body}`);
    const cost = meter.since(before);
    if (seen.has(id)) {
      perDuplicate.add(cost);
    } else {
      perNew.add(cost);
      const type = String((event as { type: string }).type);
      const tally = byType.get(type) ?? new MeterTally();
      tally.add(cost);
      byType.set(type, tally);
    }
    if (index > 0) secretReadsAfterFirst += secretReads() - secretsBefore;
    seen.add(id);
  }
  const elapsedMs = performance.now() - started;

  const sorted = [...latencies].sort((a, b) => a - b);
  const pct = (p: number) => sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? 0;
  const newEvents = perNew.perSample();
  const duplicates = perDuplicate.perSample();
  return {
    tenant: tenant.tenantId,
    events: stream.length,
    newEvents: newEvents.samples,
    duplicates: duplicates.samples,
    eventsPerSecond: Math.round((stream.length / elapsedMs) * 1000),
    latencyMs: { p50: round(pct(50)), p99: round(pct(99)), max: round(sorted.at(-1) ?? 0) },
    cpuMsPerEvent: cpuSummary(cpuMs),
    dynamoDbRequestsPerNewEvent: newEvents,
    dynamoDbRequestsPerDuplicate: duplicates,
    dynamoDbRequestsPerNewEventByType: Object.fromEntries(
      [...byType].map(([type, tally]) => {
        const { samples, mean, max } = tally.perSample();
        return [type, { events: samples, mean, max }];
      }),
    ),
    secretsManagerReadsAfterFirstEvent: secretReadsAfterFirst,
  };
}

/** 1,818 unique events, 10 % of positions moved later (out of order), 182 duplicates (10 % of 2,000). */
function deliveryStream(): object[] {
  const random = seededRandom(2026);
  const events: object[] = eventStream(UNIQUE_EVENTS, { seed: 11 });
  for (let moved = 0; moved < Math.round(UNIQUE_EVENTS * 0.1); moved++) {
    const from = Math.floor(random() * events.length);
    const [event] = events.splice(from, 1);
    const to = Math.min(events.length, from + 1 + Math.floor(random() * 200));
    if (event) events.splice(to, 0, event);
  }
  while (events.length < TOTAL_EVENTS) {
    const at = Math.floor(random() * events.length);
    const duplicate = events[Math.floor(random() * at)] ?? events[0];
    if (duplicate) events.splice(at, 0, duplicate);
  }
  return events;
}

/**
 * The handler's CPU time per event: the first (cold) event alone, then the mean and percentiles
 * of the warm ones. Wall time minus CPU time is, roughly, waiting for DynamoDB.
 */
function cpuSummary(values: readonly number[]) {
  const [first = 0, ...warm] = values;
  const sorted = [...warm].sort((a, b) => a - b);
  const at = (p: number) => sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? 0;
  const total = warm.reduce((a, b) => a + b, 0);
  return {
    firstEvent: round(first),
    warmMean: round(total / Math.max(1, warm.length)),
    warmP50: round(at(50)),
    warmP99: round(at(99)),
    note: "this process's user + system CPU during each handler call (dynalite runs in a child process)",
  };
}

await main();
