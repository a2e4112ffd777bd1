/**
 * `npm run bench:webhooks`: 2,000 signed Stripe events (10 % duplicates, 10 % out of order)
 * through the tenant webhook handler, in process, against dynalite, on one warm "container".
 * Prints throughput, handler latency, the handler's CPU time per event, and what each event costs
 * in DynamoDB requests, Secrets Manager reads and Stripe API calls. Numbers, not assertions:
 * shared machines vary.
 *
 * dynalite runs in a child process (dynalite-child.ts), so this process's CPU time is the
 * handler's own: middy and Powertools, signature verification, parsing, the use case and the AWS
 * SDK's DynamoDB client, as in a Lambda. The fake Stripe in this process answers no request on
 * this path (0 Stripe calls) and the local secret store is read once. CPU is measured around each
 * handler call, so signing the test payloads is not counted.
 */
import { randomUUID } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
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
import { FakeStripe } from '../../test/fake-stripe/fake-stripe-server.ts';
import { eventStream, seededRandom } from '../../test/support/event-stream.ts';
import { createLocalDependencies } from '../local/local-dependencies.ts';
import { startDynaliteProcess } from './dynalite-child.ts';
import { toApiGatewayEventFrom } from './synthetic-event.ts';

const UNIQUE_EVENTS = 1818;
const TOTAL_EVENTS = 2000;
const SECRET = `whsec_${'benchmarksecret'.repeat(2)}`;
const quiet = { info() {}, warn() {}, error() {} };

async function main() {
  const dynalite = await startDynaliteProcess();
  const stripe = new FakeStripe();
  const stripeUrl = await stripe.start();
  const secretsDir = await mkdtemp(join(tmpdir(), 'bench-secrets-'));
  const tableName = `bench-${randomUUID()}`;
  const setup = createDynamoDbClient({ endpoint: dynalite.endpoint });
  await createTableIfMissing(setup, tableName);

  let dynamoRequests = 0;
  const instrument = (client: DynamoDBClient) =>
    client.middlewareStack.add(
      (next) => async (args) => {
        dynamoRequests += 1;
        return next(args);
      },
      { step: 'initialize', name: 'benchCounter' },
    );
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
    instrumentDynamoDb: instrument,
  });

  // A connected tenant with its webhook secret, as after the OAuth flow.
  const token = {
    access_token: 'sk_test_bench',
    scope: 'read_write',
    livemode: false,
    stripe_user_id: 'acct_1Bench',
  };
  await deps.tokens.save('bench_tenant', token);
  await deps.webhookSecrets.save('bench_tenant', { secret: SECRET, stripeAccountId: 'acct_1Bench' });
  await deps.integrations.claimAccount('acct_1Bench', 'bench_tenant', new Date());
  await deps.integrations.save({
    tenantId: 'bench_tenant',
    tenantSlug: 'bench-clinic',
    stripeAccountId: 'acct_1Bench',
    livemode: false,
    scope: 'read_write',
    connectedAt: new Date().toISOString(),
    status: 'connected',
    webhookSecretConfigured: true,
  });

  const stream = deliveryStream();
  const handler = createTenantWebhookHandler(deps);
  const stripeCallsBefore = stripe.requests.length;
  dynamoRequests = 0;
  secretReads = 0;
  const seen = new Set<string>();
  const latencies: number[] = [];
  /** CPU time (user + system) of this process during each handler call, ms. */
  const cpuMs: number[] = [];
  const perNew: number[] = [];
  const perDuplicate: number[] = [];
  const byType = new Map<string, number[]>();
  let secretReadsAfterFirst = 0;
  const context = { getRemainingTimeInMillis: () => 10_000 } as never;
  const started = performance.now();
  for (const [index, event] of stream.entries()) {
    const body = JSON.stringify(event);
    const header = Stripe.webhooks.generateTestHeaderString({ payload: body, secret: SECRET });
    const id = String((event as { id: string }).id);
    const before = dynamoRequests;
    const secretsBefore = secretReads;
    const apiEvent = toApiGatewayEventFrom('bench-clinic', body, header);
    const cpu0 = process.cpuUsage();
    const t0 = performance.now();
    const response = await handler(apiEvent, context);
    latencies.push(performance.now() - t0);
    const cpu = process.cpuUsage(cpu0);
    cpuMs.push((cpu.user + cpu.system) / 1000);
    if (response.statusCode !== 200)
      throw new Error(`event ${index} answered ${response.statusCode}: ${response.body}`);
    const cost = dynamoRequests - before;
    (seen.has(id) ? perDuplicate : perNew).push(cost);
    if (!seen.has(id)) {
      const type = String((event as { type: string }).type);
      byType.set(type, [...(byType.get(type) ?? []), cost]);
    }
    if (index > 0) secretReadsAfterFirst += secretReads - secretsBefore;
    seen.add(id);
  }
  const elapsedMs = performance.now() - started;

  const sorted = [...latencies].sort((a, b) => a - b);
  const pct = (p: number) => sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? 0;
  const mean = (values: number[]) => values.reduce((a, b) => a + b, 0) / Math.max(1, values.length);
  const result = {
    events: stream.length,
    newEvents: perNew.length,
    duplicates: perDuplicate.length,
    eventsPerSecond: Math.round((stream.length / elapsedMs) * 1000),
    latencyMs: { p50: round(pct(50)), p99: round(pct(99)), max: round(sorted.at(-1) ?? 0) },
    cpuMsPerEvent: cpuSummary(cpuMs),
    dynamoDbRequestsPerNewEvent: { mean: round(mean(perNew)), max: Math.max(...perNew) },
    dynamoDbRequestsPerDuplicate: { mean: round(mean(perDuplicate)), max: Math.max(...perDuplicate) },
    dynamoDbRequestsPerNewEventByType: Object.fromEntries(
      [...byType].map(([type, costs]) => [
        type,
        { events: costs.length, mean: round(mean(costs)), max: Math.max(...costs) },
      ]),
    ),
    secretsManagerReads: { total: secretReads, afterFirstEvent: secretReadsAfterFirst },
    stripeApiCalls: stripe.requests.length - stripeCallsBefore,
    rssMb: Math.round(process.memoryUsage().rss / 1024 / 1024),
  };
  process.stdout.write(`${JSON.stringify(result, null, 2)}\n`);

  await stripe.stop();
  await dynalite.close();
  await rm(secretsDir, { recursive: true, force: true });
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

const round = (n: number) => Math.round(n * 100) / 100;

await main();
