import { SWEEP_SPREAD_SECONDS } from '../shared/use-cases/reconcile/schedule-sweeps.ts';

/**
 * The connector's capacity model: each function's memory and reserved concurrency, the HTTP API's
 * per-route throttles, the backfill's worker count and the catch-up sweep's, derived from what the benchmarks measured
 * and from stated assumptions. Pure (no CDK): the stack takes its numbers from here, and
 * test/infra asserts the constraints (the sum fits the account, capacity covers each throttle,
 * the backfill onboards its target).
 *
 * The measurements come from `npm run bench:webhooks` and `npm run bench:backfill` on this
 * project's 2-core x86 machine; one of its cores is taken as one Lambda vCPU (Lambda's arm64
 * cores may be somewhat slower: the headroom factors below absorb that).
 */

// ---- Lambda and AWS facts ------------------------------------------------------------------

/** Lambda gives a function one full vCPU at 1,769 MB and a proportional share below. */
export const LAMBDA_MB_PER_VCPU = 1769;
/** Lambda's default concurrency quota per account and region. */
export const ACCOUNT_CONCURRENCY_LIMIT = 1000;
/**
 * Lambda keeps at least this much of the account's concurrency unreserved: a deployment whose
 * reservations leave less fails.
 */
export const UNRESERVED_CONCURRENCY_MINIMUM = 100;
/** The most that all reserved concurrency together may reach in a default account. */
export const RESERVABLE_CONCURRENCY = ACCOUNT_CONCURRENCY_LIMIT - UNRESERVED_CONCURRENCY_MINIMUM;
/** An SQS event source's maximum concurrency: at least 2, at most 1,000. */
export const SQS_EVENT_SOURCE_MIN_CONCURRENCY = 2;
/** API Gateway's default request rate per account and region, shared by all its APIs. */
export const API_GATEWAY_ACCOUNT_RATE_LIMIT = 10_000;
/** The default per-table write throughput quota of an on-demand DynamoDB table (write units/s). */
export const DYNAMODB_TABLE_WRITE_UNITS_QUOTA = 40_000;

/** The share of a vCPU Lambda gives a function of `memoryMb` (a Node.js handler runs on one). */
export function vcpuShare(memoryMb: number): number {
  return Math.min(1, memoryMb / LAMBDA_MB_PER_VCPU);
}

// ---- Measurements ----------------------------------------------------------------------------

export const MEASURED = {
  /**
   * CPU time of the tenant webhook handler per warm event (`bench:webhooks`, `cpuMsPerEvent`:
   * mean 4.1 to 5.0 ms over four runs; p50 3.1 to 4.0 ms, p99 15 to 18 ms). Its process held the
   * handler alone: middy, Powertools, signature verification, parsing, the use case and the AWS
   * SDK's DynamoDB client (dynalite ran in a child process). The highest mean is used.
   */
  webhookCpuMsPerEvent: 5,
  /**
   * CPU time of a cold start: importing a function's bundle as `cdk synth` builds it, with the
   * AWS SDK (0.26 to 0.43 s, `process.cpuUsage()` around `import()`), plus its first event (lazy
   * clients, the first secret read: 0.02 to 0.10 s in `bench:webhooks`).
   */
  coldStartCpuMs: 500,
  /**
   * CPU time of one backfill run of the benchmark's large clinic (`bench:backfill`, `cpu`: 8.07
   * to 8.26 s over three runs): 544 Stripe list requests, 41,386 record changes.
   */
  backfillCpuSecondsPerRun: 8.3,
  /**
   * That run's wall time with CPU to spare (24.8 to 25.8 s; the measured process used a third of
   * a core): Stripe's pace of 24 requests/s alone needs 22.7 s. The highest is used.
   */
  backfillIoBoundSecondsPerRun: 26,
  /** Record changes of that run; each is an item written to the table and to gsi1. */
  backfillRecordChangesPerRun: 41_386,
} as const;

// ---- Assumptions -------------------------------------------------------------------------------

export const ASSUMED = {
  /** One single-item DynamoDB request from Lambda in the same region. */
  dynamoDbMs: 5,
  /** One Secrets Manager or SQS request. */
  awsServiceMs: 20,
  /** One Stripe API call (the OAuth token exchange, a deauthorization). */
  stripeMs: 500,
  /** Capacity is sized for twice the demand: p99 latencies, slower cores, cold starts. */
  headroom: 2,
} as const;

// ---- Memory ------------------------------------------------------------------------------------

export type FunctionKind =
  | 'http'
  | 'webhook'
  | 'backfill'
  | 'revocation'
  | 'reconcile'
  | 'erasure'
  | 'not-found';

/**
 * Memory per function kind, from the CPU measurements (see {@link wallMs} and the README's
 * _Capacity_ section for the table):
 *
 * - `http`, `webhook`: 1,024 MB. A warm request's 5 ms of CPU takes 35 ms at 256 MB (0.14 vCPU),
 *   17 ms at 512 MB and 9 ms at 1,024 MB, against about 20 ms waiting for DynamoDB; a cold
 *   start's 0.5 s of CPU takes 3.5 s, 1.7 s and 0.86 s. At 1,024 MB CPU is no longer the larger
 *   part of a request and a cold start stays under a second, which matters for people (rarely
 *   used routes start cold) and for webhook bursts (every new instance starts cold).
 * - `backfill`: 1,024 MB. The run's 8.3 CPU seconds take 57 s at 256 MB and 29 s at 512 MB, more
 *   than the 26 s that Stripe's pace takes; at 1,024 MB they take 14 s, so the run is bound by
 *   Stripe, with the CPU busy about half the time. Peak RSS was 171 to 209 MB: 256 MB would
 *   leave no margin.
 * - `reconcile`: 512 MB. A sweep waits about 0.9 s (one Events API page, a few DynamoDB requests
 *   per event) and computes about 0.1 s (the webhook's 5 ms per event): 1.26 s at 512 MB against
 *   1.08 s at 1,024 MB, for 58 % of the memory. Nobody waits for a sweep and its cold start (1.7 s)
 *   happens once per instance, so the cheaper size wins: 10,000 tenants are swept 96 times a day.
 * - `erasure`: 512 MB. It waits on DynamoDB and on its own pace (500 deletes a second); the keys
 *   it holds at once are one page of 100.
 * - `revocation`, `not-found`: 256 MB. The revocation worker waits on Stripe and retries later
 *   anyway; the 404 handler imports 30 ms of code and calls nothing.
 */
export const FUNCTION_MEMORY_MB: Readonly<Record<FunctionKind, number>> = {
  http: 1024,
  webhook: 1024,
  backfill: 1024,
  reconcile: 512,
  erasure: 512,
  revocation: 256,
  'not-found': 256,
};

/**
 * Wall time of work needing `cpuMs` of CPU and `ioMs` of waiting, at `memoryMb`. `serial` work
 * (one request: compute, wait, compute) adds the two; `overlapped` work (the backfill reads
 * ahead while it writes) takes the larger, since waiting and computing happen at once.
 */
export function wallMs(
  work: { readonly cpuMs: number; readonly ioMs: number; readonly overlap: 'serial' | 'overlapped' },
  memoryMb: number,
): number {
  const cpu = work.cpuMs / vcpuShare(memoryMb);
  return work.overlap === 'serial' ? cpu + work.ioMs : Math.max(cpu, work.ioMs);
}

/** Seconds a cold start's CPU takes at `memoryMb`. */
export function coldStartSeconds(memoryMb: number): number {
  return MEASURED.coldStartCpuMs / vcpuShare(memoryMb) / 1000;
}

// ---- HTTP routes -------------------------------------------------------------------------------

/** The bursts of Stripe events the webhook intake must take, per endpoint. */
export const WEBHOOK_TARGET_EVENTS_PER_SECOND = 1000;

/** Every HTTP function keeps at least this many instances, so a few people at once never wait. */
export const MIN_HTTP_RESERVED_CONCURRENCY = 5;

export interface RouteCapacity {
  readonly kind: 'http' | 'webhook' | 'not-found';
  /** API Gateway's steady rate for the route (requests/s); above it the gateway answers 429. */
  readonly rateLimit: number;
  /** API Gateway's token bucket for the route: requests taken at once. */
  readonly burstLimit: number;
  /** What a request waits for (from the calls it makes and {@link ASSUMED}), ms. */
  readonly ioMs: number;
}

const { dynamoDbMs, awsServiceMs, stripeMs } = ASSUMED;
/** People: the settings page and its buttons. */
const PERSON = { kind: 'http', rateLimit: 20, burstLimit: 40 } as const;
/** Pages that poll (status, every 5 s while open) or page through records (dashboards). */
const READER = { kind: 'http', rateLimit: 100, burstLimit: 200 } as const;
/** Stripe's deliveries: a burst of 1,000 events/s, twice that at once. */
const STRIPE = {
  kind: 'webhook',
  rateLimit: WEBHOOK_TARGET_EVENTS_PER_SECOND,
  burstLimit: 2 * WEBHOOK_TARGET_EVENTS_PER_SECOND,
} as const;

/**
 * Throttle and expected waiting per route of functions/routes.ts, by route name. The OAuth
 * callback is as modest as the button that starts it; the webhook endpoints take Stripe's bursts
 * (the tenant's state, a lease, the record and the result: 4 DynamoDB requests in series; a
 * fifth, the journal entry, only while the tenant's backfill runs).
 */
export const ROUTE_CAPACITY: Readonly<Record<string, RouteCapacity>> = {
  ConnectStart: { ...PERSON, ioMs: 2 * dynamoDbMs },
  ConnectCallback: { ...PERSON, ioMs: 6 * dynamoDbMs + stripeMs + 2 * awsServiceMs },
  ConnectStatus: { ...READER, ioMs: 3 * dynamoDbMs },
  WebhookSecret: { ...PERSON, ioMs: 2 * dynamoDbMs + 2 * awsServiceMs },
  Disconnect: { ...PERSON, ioMs: 5 * dynamoDbMs + stripeMs + 2 * awsServiceMs },
  BackfillRequest: { ...PERSON, ioMs: 3 * dynamoDbMs + awsServiceMs },
  WebhookTenant: { ...STRIPE, ioMs: 4 * dynamoDbMs },
  WebhookConnect: { ...STRIPE, ioMs: 4 * dynamoDbMs },
  RecordsRead: { ...READER, ioMs: 2 * dynamoDbMs },
  // Pages through the tenant's history, orders and customers (1 MB a page): a big clinic's
  // 30,000 orders and 6,000 subscriptions' entries are about 40 pages, three lists at once.
  MetricsRead: { ...READER, ioMs: 14 * dynamoDbMs },
  SubscriptionHistoryRead: { ...READER, ioMs: 2 * dynamoDbMs },
};

/** `$default` (the JSON 404): the stage's default throttle, enough for clients' mistakes. */
export const NOT_FOUND_CAPACITY: RouteCapacity = {
  kind: 'not-found',
  rateLimit: 50,
  burstLimit: 100,
  ioMs: 0,
};

/** The route's capacity; throws for a route the model does not know, so none goes unsized. */
export function routeCapacity(name: string): RouteCapacity {
  const capacity = ROUTE_CAPACITY[name];
  if (!capacity) throw new Error(`infra/capacity-model.ts has no ROUTE_CAPACITY for route ${name}`);
  return capacity;
}

/**
 * A request's wall time at the route's memory. The webhook handler's CPU time stands for every
 * HTTP function: they share middy, Powertools and the AWS SDK and make a few calls each.
 */
export function requestWallMs(capacity: RouteCapacity): number {
  return wallMs(
    { cpuMs: MEASURED.webhookCpuMsPerEvent, ioMs: capacity.ioMs, overlap: 'serial' },
    FUNCTION_MEMORY_MB[capacity.kind],
  );
}

/**
 * Reserved concurrency of a route's function: instances in flight at the route's rate limit
 * (rate × wall time, Little's law) times the headroom, at least the HTTP minimum. It is also a
 * cap, so the function's capacity (reserved ÷ wall time) must stay above the route's rate: then
 * floods meet the gateway's 429, not Lambda's throttle (which API Gateway answers with 500).
 */
export function routeReservedConcurrency(capacity: RouteCapacity): number {
  const inFlight = (capacity.rateLimit * requestWallMs(capacity)) / 1000;
  return Math.max(MIN_HTTP_RESERVED_CONCURRENCY, Math.ceil(inFlight * ASSUMED.headroom));
}

/** Requests per second a route's function serves at its reserved concurrency. */
export function routeCapacityPerSecond(capacity: RouteCapacity): number {
  return routeReservedConcurrency(capacity) / (requestWallMs(capacity) / 1000);
}

// ---- Queue workers -----------------------------------------------------------------------------

/** Revocations are rare (a disconnect whose inline revocation failed): the SQS minimum suffices. */
export const REVOCATION_WORKER_CONCURRENCY = SQS_EVENT_SOURCE_MIN_CONCURRENCY;

/** How many tenants must be onboarded (their 90-day backfill done) within how long. */
export const ONBOARDING_TARGET = {
  tenants: 10_000,
  withinSeconds: 24 * 3600,
  /**
   * Workers are sized for twice the demand: connects cluster in working hours (half the day),
   * and a tenant whose own traffic takes part of its Stripe account's limit gets its pace halved
   * on 429s. The benchmark's clinic (30,000 invoices in 180 days) is already a large one.
   */
  safety: 2,
} as const;

/**
 * Wall time of one backfill run at the worker's memory: the larger of its CPU time and Stripe's
 * pace, since reading ahead overlaps the two. Stripe's limits are per account (100 requests/s
 * live, 25/s per endpoint), and a run paces itself at 24 requests/s on its own account, so
 * workers on different tenants do not slow each other down at Stripe.
 */
export function backfillSecondsPerTenant(memoryMb = FUNCTION_MEMORY_MB.backfill): number {
  return (
    wallMs(
      {
        cpuMs: MEASURED.backfillCpuSecondsPerRun * 1000,
        ioMs: MEASURED.backfillIoBoundSecondsPerRun * 1000,
        overlap: 'overlapped',
      },
      memoryMb,
    ) / 1000
  );
}

/** Tenants a day that `workers` backfill workers onboard, back to back. */
export function backfillTenantsPerDay(workers: number): number {
  return (workers * 24 * 3600) / backfillSecondsPerTenant();
}

/**
 * The default of the BackfillConcurrency parameter: workers that onboard the target within its
 * time, with the safety factor: ceil(10,000 × 26 s × 2 / 86,400 s) = 7.
 */
export const DEFAULT_BACKFILL_CONCURRENCY = Math.max(
  SQS_EVENT_SOURCE_MIN_CONCURRENCY,
  Math.ceil(
    (ONBOARDING_TARGET.tenants * backfillSecondsPerTenant() * ONBOARDING_TARGET.safety) /
      ONBOARDING_TARGET.withinSeconds,
  ),
);

/**
 * Write units a second one running backfill takes from the table: every record change is an
 * item write to the table and one to gsi1 (records are under 1 KB), over the run's wall time:
 * 2 × 41,386 / 26 s ≈ 3,200.
 */
export const BACKFILL_WRITE_UNITS_PER_WORKER = Math.ceil(
  (2 * MEASURED.backfillRecordChangesPerRun) / backfillSecondsPerTenant(),
);

/**
 * The parameter's maximum: as many workers as the table's default write quota of 40,000 units/s
 * carries (40,000 / 3,200 = 12). More would only trade Stripe's wait for DynamoDB throttling.
 */
export const MAX_BACKFILL_CONCURRENCY = Math.floor(
  DYNAMODB_TABLE_WRITE_UNITS_QUOTA / BACKFILL_WRITE_UNITS_PER_WORKER,
);

// ---- Catch-up sweep --------------------------------------------------------------------------

/**
 * README "Catch-up from the Events API": every connected account is swept every 15 minutes,
 * at the onboarding target's scale. The schedule's tick delays each tenant's sweep by a stable
 * whole minute of the spread (shared/use-cases/reconcile/schedule-sweeps.ts), so the sweeps of
 * one tick arrive at an even rate over its first 10 minutes and are done before the next tick.
 */
export const RECONCILE_TARGET = {
  tenants: ONBOARDING_TARGET.tenants,
  intervalSeconds: 15 * 60,
  spreadSeconds: SWEEP_SPREAD_SECONDS,
} as const;

export const SWEEP_ASSUMED = {
  /**
   * Events one sweep lists and applies: the benchmark's large clinic (30,000 invoices in 180
   * days, some five handled events each) has about 9 in 15 minutes, 12 with the 5 minutes each
   * sweep reads again (`SWEEP_OVERLAP_SECONDS` in domain/sweep-cursor.ts); 20 covers its busy
   * hours.
   */
  eventsPerSweep: 20,
  /** Events API pages one sweep reads (100 events a page). */
  stripePagesPerSweep: 1,
  /**
   * DynamoDB requests per event: the tenant's state (read per event, so a disconnect stops the
   * sweep at once), the ledger's lease and its completion, the record.
   */
  dynamoDbRequestsPerEvent: 4,
  /** Around the events: the state read before, the cursor saved after. */
  dynamoDbRequestsPerSweep: 2,
} as const;

/**
 * Wall time of one tenant's sweep at the worker's memory: serial, as the sweep applies one event
 * after the other, each as a webhook delivery would (the webhook's CPU time per event stands for
 * it). 500 + 82 × 5 = 910 ms waiting, 100 ms of CPU: 1.26 s at 512 MB.
 */
export function sweepWallMs(memoryMb: number = FUNCTION_MEMORY_MB.reconcile): number {
  const { eventsPerSweep, stripePagesPerSweep, dynamoDbRequestsPerEvent, dynamoDbRequestsPerSweep } =
    SWEEP_ASSUMED;
  return wallMs(
    {
      cpuMs: eventsPerSweep * MEASURED.webhookCpuMsPerEvent,
      ioMs:
        stripePagesPerSweep * ASSUMED.stripeMs +
        (dynamoDbRequestsPerSweep + eventsPerSweep * dynamoDbRequestsPerEvent) * ASSUMED.dynamoDbMs,
      overlap: 'serial',
    },
    memoryMb,
  );
}

/** Sweeps a second while a tick's messages come due: 10,000 over 600 s, about 17. */
export const SWEEPS_PER_SECOND = RECONCILE_TARGET.tenants / RECONCILE_TARGET.spreadSeconds;

/**
 * The reconcile worker's reserved concurrency (and its event source's maximum): sweeps in flight
 * at that rate (Little's law: 16.7/s × 1.26 s = 21) times the headroom, 42. Each sweep reads one
 * page of its own account's events, so Stripe sees 17 requests a second spread over 10,000
 * accounts, one every 15 minutes per account, far below each account's limit. The tick itself
 * (one message) takes one of the 42 for the seconds it needs (see {@link reconcileTickSeconds}).
 */
export const RECONCILE_WORKER_CONCURRENCY = Math.max(
  SQS_EVENT_SOURCE_MIN_CONCURRENCY,
  Math.ceil(((SWEEPS_PER_SECOND * sweepWallMs()) / 1000) * ASSUMED.headroom),
);

/** Tenants the worker sweeps in one spread at its concurrency, without the headroom's margin spent. */
export function tenantsSweptPerSpread(workers: number = RECONCILE_WORKER_CONCURRENCY): number {
  return (workers * RECONCILE_TARGET.spreadSeconds * 1000) / sweepWallMs();
}

/**
 * How long the tick takes for the target's tenants: the index pages of active tenants (100 a
 * page) and SendMessageBatch calls of at most 10 sweeps that share a delay (a page of 100 falls
 * into the spread's 10 minutes: about 10 calls). 100 × 5 ms + 1,000 × 20 ms ≈ 21 s.
 */
export function reconcileTickSeconds(tenants: number = RECONCILE_TARGET.tenants): number {
  const pages = Math.ceil(tenants / 100);
  const delays = Math.floor(RECONCILE_TARGET.spreadSeconds / 60);
  const batches = pages * Math.max(delays, Math.ceil(100 / 10));
  return (pages * ASSUMED.dynamoDbMs + batches * ASSUMED.awsServiceMs) / 1000;
}

// ---- Erasure -----------------------------------------------------------------------------------

/**
 * Deletes per second of one erasure worker, as shared/adapters/dynamodb/tenant-data-eraser-dynamodb.ts
 * paces them (`DEFAULT_ERASER_PACING`; the infra test checks the two agree). Spelled out so the
 * CDK app does not import the AWS SDK.
 */
export const ERASURE_ITEMS_PER_SECOND = 500;

/** README "Data after a disconnect": a big tenant holds 100k+ items (records and their histories, journal, ledger). */
export const LARGE_TENANT_ITEMS = 100_000;

/** Seconds one worker takes to erase a tenant of `items`: 200 s for a large one. */
export function erasureSecondsPerTenant(items: number = LARGE_TENANT_ITEMS): number {
  return items / ERASURE_ITEMS_PER_SECOND;
}

/**
 * Erasures are rare: a disconnected tenant's data 30 days later, an `erase=now`, an account
 * switch. The SQS minimum of two workers erases 2 × 86,400 / 200 = 864 large tenants a day, and
 * an account switch waits 200 s for its previous data to go, not for other tenants' erasures.
 */
export const ERASURE_WORKER_CONCURRENCY = SQS_EVENT_SOURCE_MIN_CONCURRENCY;

/** Large tenants a day that `workers` erasure workers erase, back to back. */
export function erasuresPerDay(workers: number = ERASURE_WORKER_CONCURRENCY): number {
  return (workers * 24 * 3600) / erasureSecondsPerTenant();
}

/**
 * Write units a second one erasure worker takes from the table at its pace: a delete is one unit
 * (items are under 1 KB), and one more for the gsi1 entry a record has: at most 1,000. Both
 * workers take 5 % of the table's default quota. Beside backfills at their maximum the table may
 * throttle for a while; the eraser backs off and resumes, and the backfills' writes retry.
 */
export const ERASURE_WRITE_UNITS_PER_WORKER = 2 * ERASURE_ITEMS_PER_SECOND;
