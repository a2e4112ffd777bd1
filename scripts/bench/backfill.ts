/**
 * `npm run bench:backfill`: one 90-day backfill of a large clinic (5,000 customers, 6,000
 * subscriptions, 30,000 invoices, 3,000 one-time payments over 180 days) against the fake Stripe
 * (30 ms per request, Stripe test mode's 25 requests/s per account, 429 above it) and dynalite.
 * Those two, and the seeded data, live in a child process (`backfill-fixtures.ts`, over IPC):
 * this process holds only the backfill, as a Lambda would, so its peak RSS is the backfill's.
 * Prints, per list, the requests made against the ideal `ceil(n / 100)`, the 429s, the wall time
 * against the rate limit's lower bound, DynamoDB writes, peak RSS (this process's; the child's
 * for information), this process's CPU time for the run, and the result against what the seed
 * says it should be. Numbers, not assertions: shared machines vary.
 *
 * The CPU time is this process's user + system time from the first invocation to the run's
 * outcome: the backfill (pacing, the Stripe SDK's requests and JSON parsing, the record mapping,
 * the AWS SDK's DynamoDB client, the journal replay and the counting), plus the benchmark's own
 * counters and its RSS sampler (negligible). Starting tsx, loading modules and setting up are
 * not counted; the fake Stripe and dynalite run in other processes.
 *
 * `BACKFILL_BENCH_RPS` sets the backfill's pace (default `DEFAULT_RATE_LIMIT.requestsPerSecond`).
 */
import { type ChildProcess, fork } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { InProcessQueues } from '#shared/adapters/local/in-process-queues.ts';
import { createSessionVerifier } from '#shared/adapters/session/session-verifier.ts';
import {
  DEFAULT_RATE_LIMIT,
  RateLimitedBackfillSource,
  type RateLimitOptions,
} from '#shared/adapters/stripe/rate-limited-backfill-source.ts';
import { createStripeClient } from '#shared/adapters/stripe/stripe-client.ts';
import { StripeSdkBackfillSource } from '#shared/adapters/stripe/stripe-sdk-backfill-source.ts';
import { loadConfig } from '#shared/config/config.ts';
import type { StripeIntegration } from '#shared/domain/integration.ts';
import type { BackfillProgress } from '#shared/ports/backfill-status-store.ts';
import { systemClock } from '#shared/ports/clock.ts';
import type { RecordStore } from '#shared/ports/record-store.ts';
import {
  BACKFILL_PHASES,
  type BackfillPhase,
  type StripeBackfillSource,
} from '#shared/ports/stripe-backfill-source.ts';
import { requestBackfill } from '#shared/use-cases/backfill/request-backfill.ts';
import { type RunBackfillOutcome, runBackfill } from '#shared/use-cases/backfill/run-backfill.ts';
import { createLocalDependencies } from '../local/local-dependencies.ts';
import type { ChildMessage, ListedReply, ParentMessage, StatsReply } from './backfill-fixtures.ts';

const FIXTURES_SCRIPT = fileURLToPath(new URL('./backfill-fixtures.ts', import.meta.url));
const PAGE = 100;
/** A Lambda's 15 minutes per invocation; a run that needs more continues, as after an SQS hand-over. */
const INVOCATION_MS = 15 * 60_000;
const MAX_INVOCATIONS = 20;
const RSS_SAMPLE_MS = 100;
const TARGET_WALL_RATIO = 1.25;
const TARGET_RSS_MB = 256;
const TENANT = 'bench_tenant';
/** Each list's path at Stripe: `/v1/` and the phase's name. */
const PATHS = Object.fromEntries(BACKFILL_PHASES.map((phase) => [phase, `/v1/${phase}`])) as Record<
  BackfillPhase,
  string
>;
const WRITE_COMMAND = /^(Put|Update|Delete|BatchWrite|TransactWrite)/;
const quiet = { info() {}, warn() {}, error() {} };

interface PhaseCounts {
  requests: number;
  ok: number;
  rateLimited: number;
  otherErrors: number;
  objects: number;
}

/** Counts, per list, what the SDK source sends and gets back (inside the pacing and retries). */
class CountingSource implements StripeBackfillSource {
  readonly byPhase = Object.fromEntries(
    BACKFILL_PHASES.map((phase) => [
      phase,
      { requests: 0, ok: 0, rateLimited: 0, otherErrors: 0, objects: 0 } satisfies PhaseCounts,
    ]),
  ) as Record<BackfillPhase, PhaseCounts>;

  constructor(private readonly inner: StripeBackfillSource) {}

  async listPage(...args: Parameters<StripeBackfillSource['listPage']>) {
    const counts = this.byPhase[args[0]];
    counts.requests += 1;
    try {
      const page = await this.inner.listPage(...args);
      counts.ok += 1;
      counts.objects += page.data.length;
      return page;
    } catch (error) {
      if ((error as { statusCode?: unknown } | null)?.statusCode === 429) counts.rateLimited += 1;
      else counts.otherErrors += 1;
      throw error;
    }
  }
}

function pace(): RateLimitOptions {
  const raw = process.env.BACKFILL_BENCH_RPS;
  if (raw === undefined || raw === '') return DEFAULT_RATE_LIMIT;
  const requestsPerSecond = Number(raw);
  if (!Number.isFinite(requestsPerSecond) || requestsPerSecond <= 0) {
    throw new Error(`BACKFILL_BENCH_RPS must be a positive number, not ${JSON.stringify(raw)}`);
  }
  return { ...DEFAULT_RATE_LIMIT, requestsPerSecond };
}

/** The fixtures' child process, and its answers by message type. */
class Fixtures {
  private readonly waiting = new Map<
    ChildMessage['type'],
    { resolve: (message: ChildMessage) => void; reject: (error: Error) => void }
  >();
  private readonly exited: Promise<void>;

  constructor(private readonly child: ChildProcess) {
    child.on('message', (message: ChildMessage) => {
      const waiter = this.waiting.get(message.type);
      this.waiting.delete(message.type);
      waiter?.resolve(message);
    });
    const fail = (error: Error) => {
      for (const waiter of this.waiting.values()) waiter.reject(error);
      this.waiting.clear();
    };
    child.on('error', fail);
    this.exited = new Promise((resolve) => {
      child.on('exit', (code, signal) => {
        fail(new Error(`the fixtures' process exited (code ${code}, signal ${signal})`));
        resolve();
      });
    });
  }

  static start(): Fixtures {
    // The child's stdout goes to stderr: this process's stdout is the report.
    return new Fixtures(
      fork(FIXTURES_SCRIPT, [], { execArgv: ['--import', 'tsx'], stdio: ['ignore', 2, 2, 'ipc'] }),
    );
  }

  next<T extends ChildMessage['type']>(type: T): Promise<Extract<ChildMessage, { type: T }>> {
    if (this.child.exitCode !== null || this.child.signalCode !== null) {
      return Promise.reject(new Error(`the fixtures' process has exited (code ${this.child.exitCode})`));
    }
    return new Promise((resolve, reject) => {
      this.waiting.set(type, {
        resolve: (message) => resolve(message as Extract<ChildMessage, { type: T }>),
        reject,
      });
    });
  }

  request<T extends ParentMessage['type']>(message: ParentMessage & { type: T }) {
    const reply = this.next(message.type);
    this.child.send(message);
    return reply;
  }

  /** Disconnecting is the child's cue to stop its servers and exit. */
  async stop(): Promise<void> {
    if (this.child.connected) this.child.disconnect();
    await this.exited;
  }
}

async function main() {
  const rateLimit = pace();
  const fixtures = Fixtures.start();
  try {
    await measure(rateLimit, fixtures);
  } finally {
    await fixtures.stop();
  }
}

async function measure(rateLimit: RateLimitOptions, fixtures: Fixtures) {
  const ready = await fixtures.next('ready');
  const { setup } = ready;
  const { stripeRateLimit, windowDays, account } = setup;
  const secretsDir = await mkdtemp(join(tmpdir(), 'bench-secrets-'));

  const dynamoCommands = new Map<string, number>();
  const instrument = (client: DynamoDBClient) =>
    client.middlewareStack.add(
      (next, context) => async (args) => {
        const name = context.commandName ?? 'unknown';
        dynamoCommands.set(name, (dynamoCommands.get(name) ?? 0) + 1);
        return next(args);
      },
      { step: 'initialize', name: 'benchCounter' },
    );
  const config = loadConfig(
    {
      STRIPE_CONNECT_CLIENT_ID: ready.clientId,
      STRIPE_API_BASE_URL: ready.stripeUrl,
      OAUTH_REDIRECT_BASE_URL: 'https://api.compass.test',
      SESSION_JWT_SECRET: 'benchmark-session-secret-at-least-32-bytes',
    },
    ['stripe', 'oauth', 'session'],
  );
  const queues = new InProcessQueues();
  const deps = createLocalDependencies({
    dynamoEndpoint: ready.dynamoEndpoint,
    tableName: ready.tableName,
    secretsDir,
    stripe: config.stripe,
    stripeSecretKey: ready.secretKey,
    oauth: config.oauth,
    sessions: createSessionVerifier(config.session),
    queues,
    clock: systemClock,
    log: quiet,
    instrumentDynamoDb: instrument,
  });

  // The clinic's Stripe account is seeded and connected in the child; its integration row and
  // claim are written here, through this process's own dependencies, as after the OAuth flow.
  const integration: StripeIntegration = {
    tenantId: TENANT,
    tenantSlug: 'bench-clinic',
    stripeAccountId: account,
    livemode: false,
    scope: 'read_write',
    connectedAt: systemClock.now().toISOString(),
    status: 'connected',
    webhookSecretConfigured: false,
  };
  await deps.integrations.claimAccount(account, TENANT, systemClock.now());
  await deps.integrations.save(integration);
  const runId = await requestBackfill(deps, TENANT, windowDays);
  const windowStart = (await deps.backfillStatus.get(TENANT))?.windowStart;
  if (windowStart === undefined) throw new Error('the queued run has no status');

  // n per list, with the filters the backfill's lists use, counted by the child over its seed for
  // this run's window start (the child also zeroes the fake Stripe's counters).
  const { listed }: ListedReply = await fixtures.request({ type: 'listed', windowStart });

  const stripeClient = createStripeClient({
    secretKey: ready.secretKey,
    apiBaseUrl: new URL(ready.stripeUrl),
  });
  const counting = new CountingSource(new StripeSdkBackfillSource(stripeClient));
  const source = new RateLimitedBackfillSource(counting, {
    ...rateLimit,
    sleep: (ms) => new Promise((resolve) => setTimeout(resolve, ms)),
  });

  // Where the time goes. Stripe is read ahead of the writes, so the two overlap: the wall time
  // is about the larger of them, not their sum.
  let sourceMs = 0;
  let writeMs = 0;
  const timedSource = {
    stats: source.stats,
    async listPage(...args: Parameters<StripeBackfillSource['listPage']>) {
      const t0 = performance.now();
      try {
        return await source.listPage(...args);
      } finally {
        sourceMs += performance.now() - t0;
      }
    },
  };
  // What the writes are: record changes applied, by kind.
  const appliedByKind = new Map<string, number>();
  const count = (kind: string) => appliedByKind.set(kind, (appliedByKind.get(kind) ?? 0) + 1);
  const records: RecordStore = {
    apply: (tenantId, change, version, origin) => {
      count(`replayed ${change.kind}`);
      return deps.records.apply(tenantId, change, version, origin);
    },
    applySnapshot: async (tenantId, changes, version, runId) => {
      for (const change of changes) count(change.kind);
      const t0 = performance.now();
      try {
        return await deps.records.applySnapshot(tenantId, changes, version, runId);
      } finally {
        writeMs += performance.now() - t0;
      }
    },
    countRun: (tenantId, id) => deps.records.countRun(tenantId, id),
    list: (tenantId, collection, limit, cursor) => deps.records.list(tenantId, collection, limit, cursor),
  };

  const baseline = process.memoryUsage();
  let peakRss = baseline.rss;
  let peakHeap = baseline.heapUsed;
  const sampleRss = () => {
    const usage = process.memoryUsage();
    peakRss = Math.max(peakRss, usage.rss);
    peakHeap = Math.max(peakHeap, usage.heapUsed);
  };
  dynamoCommands.clear();
  let lastProgress: BackfillProgress | undefined;
  let lastPageAt = 0;
  const outcomes: RunBackfillOutcome['outcome'][] = [];
  let outcome: RunBackfillOutcome | undefined;
  const sampler = setInterval(sampleRss, RSS_SAMPLE_MS);
  const cpuBefore = process.cpuUsage();
  const started = performance.now();
  try {
    for (let invocation = 0; invocation < MAX_INVOCATIONS; invocation += 1) {
      outcome = await runBackfill(
        {
          backfillStatus: deps.backfillStatus,
          integrations: deps.integrations,
          records,
          journal: deps.journal,
          source: timedSource,
          clock: systemClock,
          log: quiet,
        },
        {
          tenantId: TENANT,
          runId,
          deadline: systemClock.now().getTime() + INVOCATION_MS,
          onProgress: (progress) => {
            lastProgress = progress;
            lastPageAt = performance.now();
          },
        },
      );
      outcomes.push(outcome.outcome);
      if (outcome.outcome !== 'continue') break;
    }
  } finally {
    clearInterval(sampler);
  }
  const elapsedMs = performance.now() - started;
  const cpu = process.cpuUsage(cpuBefore);
  sampleRss();

  const { stats, memory: child }: StatsReply = await fixtures.request({ type: 'stats' });
  const listRequests = Object.fromEntries(
    BACKFILL_PHASES.map((phase) => {
      const n = listed[phase];
      const ideal = Math.ceil(n / PAGE);
      const counts = counting.byPhase[phase];
      const requests = stats.byPath[PATHS[phase]] ?? 0;
      return [
        phase,
        {
          path: PATHS[phase],
          objectsInList: n,
          objectsRead: counts.objects,
          ideal,
          requests,
          overIdeal: requests - ideal,
          rateLimited: counts.rateLimited,
          otherErrors: counts.otherErrors,
          target: `<= ${ideal + 1}: ${requests <= ideal + 1 ? 'pass' : 'FAIL'}`,
        },
      ];
    }),
  );
  const idealTotal = BACKFILL_PHASES.reduce((sum, phase) => sum + Math.ceil(listed[phase] / PAGE), 0);
  const stripeRequests = BACKFILL_PHASES.reduce((sum, phase) => sum + (stats.byPath[PATHS[phase]] ?? 0), 0);
  const boundSeconds = stripeRequests / stripeRateLimit;
  const wallSeconds = elapsedMs / 1000;
  const dynamoWrites = sumCommands(dynamoCommands, (name) => WRITE_COMMAND.test(name));
  const dynamoReads = sumCommands(dynamoCommands, (name) => !WRITE_COMMAND.test(name));
  const actual = outcome?.outcome === 'succeeded' ? outcome.result : null;
  const expected = {
    customersUpserted: ready.expected.customersUpserted,
    subscriptionsCreated: ready.expected.subscriptionsCreated,
    ordersCreated: ready.expected.ordersCreated,
  };
  const resultEqual =
    actual !== null &&
    actual.customersUpserted === expected.customersUpserted &&
    actual.subscriptionsCreated === expected.subscriptionsCreated &&
    actual.ordersCreated === expected.ordersCreated;
  const peakRssMb = toMb(peakRss);
  const ratio = wallSeconds / boundSeconds;
  const allWithinIdeal = BACKFILL_PHASES.every(
    (phase) => (stats.byPath[PATHS[phase]] ?? 0) <= Math.ceil(listed[phase] / PAGE) + 1,
  );

  const report = {
    setup: {
      seeded: { ...setup.size, days: setup.seedDays, objects: ready.seeded },
      windowDays,
      windowStart: new Date(windowStart * 1000).toISOString(),
      fakeStripe: { latencyMs: setup.latencyMs, rateLimitPerSecondPerAccount: stripeRateLimit },
      processes: {
        backfill: { pid: process.pid, holds: 'the backfill only (measured)' },
        fixtures: { pid: ready.pid, holds: 'the seeded fake Stripe and in-memory dynalite' },
      },
      pace: {
        requestsPerSecond: rateLimit.requestsPerSecond,
        maxConcurrent: rateLimit.maxConcurrent,
        maxAttempts: rateLimit.maxAttempts,
        fromEnv: process.env.BACKFILL_BENCH_RPS !== undefined && process.env.BACKFILL_BENCH_RPS !== '',
      },
    },
    outcome: outcome?.outcome ?? 'none',
    ...(outcome?.outcome === 'failed' ? { error: outcome.error } : {}),
    invocations: outcomes.length,
    listRequests,
    stripe: {
      requests: stripeRequests,
      idealRequests: idealTotal,
      rateLimited: stats.rateLimited,
      byStatus: stats.byStatus,
      source: source.stats,
      progress: lastProgress
        ? { pages: lastProgress.pages, requests: lastProgress.requests, objects: lastProgress.objects }
        : null,
    },
    wallTime: {
      seconds: round(wallSeconds),
      rateLimitBoundSeconds: round(boundSeconds),
      idealRequestsBoundSeconds: round(idealTotal / stripeRateLimit),
      ratio: round(ratio),
      pagesSeconds: round((lastPageAt - started) / 1000),
      finishingSeconds: round((started + elapsedMs - lastPageAt) / 1000),
      readingStripeSeconds: round(sourceMs / 1000),
      writingPagesSeconds: round(writeMs / 1000),
      note: 'two lanes of lists, each read 3 pages ahead of its writes: reading and writing overlap, so their sums exceed the wall time; finishing = journal replay + counting the run',
      perPageMs: {
        stripe: round(sourceMs / Math.max(1, stripeRequests)),
        write: round(writeMs / Math.max(1, stripeRequests)),
      },
    },
    cpu: {
      seconds: round((cpu.user + cpu.system) / 1e6),
      userSeconds: round(cpu.user / 1e6),
      systemSeconds: round(cpu.system / 1e6),
      shareOfWallTime: round((cpu.user + cpu.system) / 1000 / elapsedMs),
      msPerStripeRequest: round((cpu.user + cpu.system) / 1000 / Math.max(1, stripeRequests)),
      note: "this process's CPU from the first invocation to the outcome (the backfill, its SDK clients and the benchmark's counters); the fixtures run elsewhere",
    },
    dynamoDb: {
      writes: dynamoWrites,
      reads: dynamoReads,
      writesPerObjectRead: round(dynamoWrites / Math.max(1, sumObjects(counting))),
      byCommand: Object.fromEntries([...dynamoCommands].sort(([a], [b]) => a.localeCompare(b))),
      recordChangesApplied: Object.fromEntries(appliedByKind),
    },
    memory: {
      peakRssMb,
      rssBeforeRunMb: toMb(baseline.rss),
      peakGrowthDuringRunMb: round(peakRssMb - toMb(baseline.rss)),
      heapUsedBeforeRunMb: toMb(baseline.heapUsed),
      peakHeapUsedMb: toMb(peakHeap),
      sampledEveryMs: RSS_SAMPLE_MS,
      note: "RSS of the backfill's process only: the fake Stripe and dynalite run in child processes",
      fixturesProcess: {
        peakRssMb: toMb(child.peakRss),
        peakRssDuringRunMb: toMb(child.peakRssDuringRun),
        rssAfterRunMb: toMb(child.rssNow),
        note: 'for information, not a target: the seeded fake Stripe and in-memory dynalite',
      },
    },
    result: { actual, expected, equal: resultEqual },
    targets: {
      'list requests <= ideal + 1 per type': allWithinIdeal ? 'pass' : 'FAIL',
      [`wall time <= ${TARGET_WALL_RATIO}x rate-limit bound (${round(ratio)}x)`]:
        ratio <= TARGET_WALL_RATIO ? 'pass' : 'FAIL',
      [`peak RSS < ${TARGET_RSS_MB} MB (${peakRssMb} MB)`]: peakRssMb < TARGET_RSS_MB ? 'pass' : 'FAIL',
      'result equals expected': resultEqual ? 'pass' : 'FAIL',
    },
  };
  process.stdout.write(`${JSON.stringify(report, null, 2)}\n`);

  queues.close();
  await rm(secretsDir, { recursive: true, force: true });
}

function sumCommands(commands: Map<string, number>, include: (name: string) => boolean): number {
  let total = 0;
  for (const [name, count] of commands) if (include(name)) total += count;
  return total;
}

function sumObjects(source: CountingSource): number {
  return BACKFILL_PHASES.reduce((sum, phase) => sum + source.byPhase[phase].objects, 0);
}

const toMb = (bytes: number) => Math.round((bytes / 1024 / 1024) * 10) / 10;
const round = (n: number) => Math.round(n * 100) / 100;

await main();
