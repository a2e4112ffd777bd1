/**
 * The child process of `npm run bench:backfill`: what the backfill talks to, kept out of the
 * measured process (which holds only the backfill, as a Lambda would). Starts dynalite in
 * memory with the table (in a process of its own: its CPU work must not slow the fake Stripe's
 * answers), and the fake Stripe (30 ms per request, 25 requests/s per account)
 * seeded with the benchmark's clinic and connected; then answers the parent over IPC:
 *
 * - sends {@link FixturesReady} once everything is up;
 * - answers {@link ListedRequest} (the run's window start) with {@link ListedReply}: the
 *   objects each list of the backfill returns, and zeroes the fake Stripe's counters;
 * - answers {@link StatsRequest} with {@link StatsReply}: `fake.stats()` and this process's RSS.
 *
 * Exits when the parent disconnects. Only meant to be started with `child_process.fork`; the
 * parent imports only types from this module.
 */
import { randomUUID } from 'node:crypto';
import { createDynamoDbClient } from '#shared/adapters/dynamodb/document-client.ts';
import { createTableIfMissing } from '#shared/adapters/dynamodb/table-definition.ts';
import type { BackfillPhase } from '#shared/ports/stripe-backfill-source.ts';
import { FakeStripe, type FakeStripeStats } from '../stripe-emulator/fake-stripe-server.ts';
import {
  type ClinicExpectation,
  countObjects,
  listedInWindow,
  seedClinic,
} from '../stripe-emulator/seed-clinic.ts';
import { startDynaliteProcess } from './dynalite-child.ts';

/** Sent to the parent in {@link FixturesReady} (the parent imports only types from here). */
const FIXTURES = {
  size: { customers: 5000, subscriptions: 6000, invoices: 30_000, oneTimePayments: 3000 },
  seedDays: 180,
  windowDays: 90,
  latencyMs: 30,
  stripeRateLimit: 25,
  account: 'acct_1BenchBackfill',
} as const;

const RSS_SAMPLE_MS = 100;

export type FixturesSetup = typeof FIXTURES;

export interface FixturesReady {
  readonly type: 'ready';
  readonly setup: FixturesSetup;
  readonly dynamoEndpoint: string;
  readonly tableName: string;
  readonly stripeUrl: string;
  readonly secretKey: string;
  readonly clientId: string;
  /** What the seed says a backfill of the window imports. */
  readonly expected: ClinicExpectation;
  /** Objects seeded, by collection. */
  readonly seeded: Record<string, number>;
  readonly pid: number;
}

export interface ListedRequest {
  readonly type: 'listed';
  /** The run's window start, epoch seconds. */
  readonly windowStart: number;
}

export interface ListedReply {
  readonly type: 'listed';
  /** Objects each list returns, with the filters the backfill's lists use. */
  readonly listed: Record<BackfillPhase, number>;
}

export interface StatsRequest {
  readonly type: 'stats';
}

export interface StatsReply {
  readonly type: 'stats';
  readonly stats: FakeStripeStats;
  readonly memory: {
    /** Peak RSS since the child started (seeding included), bytes. */
    readonly peakRss: number;
    /** Peak RSS since the `listed` request (the run), bytes. */
    readonly peakRssDuringRun: number;
    readonly rssNow: number;
  };
}

export type ParentMessage = ListedRequest | StatsRequest;
export type ChildMessage = FixturesReady | ListedReply | StatsReply;

async function main() {
  const send = process.send?.bind(process);
  if (!send) throw new Error('backfill-fixtures.ts runs as a child of scripts/bench/backfill.ts (fork, IPC)');

  let peakRss = process.memoryUsage().rss;
  let peakRssDuringRun = 0;
  const sampleRss = () => {
    const rss = process.memoryUsage().rss;
    peakRss = Math.max(peakRss, rss);
    peakRssDuringRun = Math.max(peakRssDuringRun, rss);
    return rss;
  };
  const sampler = setInterval(sampleRss, RSS_SAMPLE_MS);

  const dynalite = await startDynaliteProcess();
  const tableName = `bench-${randomUUID()}`;
  await createTableIfMissing(createDynamoDbClient({ endpoint: dynalite.endpoint }), tableName);
  const fake = new FakeStripe({
    latencyMs: FIXTURES.latencyMs,
    rateLimit: { perSecond: FIXTURES.stripeRateLimit },
  });
  const stripeUrl = await fake.start();

  // A connected clinic with its Stripe data, as after the OAuth flow (see test/support/backfill-helpers.ts).
  const now = Math.floor(Date.now() / 1000);
  const clinic = seedClinic({
    accountId: FIXTURES.account,
    now,
    days: FIXTURES.seedDays,
    windowDays: FIXTURES.windowDays,
    ...FIXTURES.size,
  });
  fake.connectAccount(FIXTURES.account);
  fake.seed(FIXTURES.account, clinic.objects);

  let closing = false;
  const close = async () => {
    if (closing) return;
    closing = true;
    clearInterval(sampler);
    await fake.stop();
    await dynalite.close();
    process.exit(0);
  };
  process.on('disconnect', () => void close());

  process.on('message', (message: ParentMessage) => {
    if (message.type === 'listed') {
      const { windowStart } = message;
      const listed = listedInWindow(clinic.objects, windowStart);
      fake.resetStats();
      peakRssDuringRun = sampleRss();
      send({ type: 'listed', listed } satisfies ListedReply);
    } else if (message.type === 'stats') {
      const rssNow = sampleRss();
      send({
        type: 'stats',
        stats: fake.stats(),
        memory: { peakRss, peakRssDuringRun, rssNow },
      } satisfies StatsReply);
    }
  });

  send({
    type: 'ready',
    setup: FIXTURES,
    dynamoEndpoint: dynalite.endpoint,
    tableName,
    stripeUrl,
    secretKey: fake.secretKey,
    clientId: fake.clientId,
    expected: clinic.expected,
    seeded: countObjects(clinic.objects),
    pid: process.pid,
  } satisfies FixturesReady);
}

await main();
