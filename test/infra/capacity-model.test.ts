import { describe, expect, it } from 'vitest';
import { httpRoutes } from '#functions/routes.ts';
import {
  API_GATEWAY_ACCOUNT_RATE_LIMIT,
  ASSUMED,
  BACKFILL_WRITE_UNITS_PER_WORKER,
  backfillSecondsPerTenant,
  backfillTenantsPerDay,
  coldStartSeconds,
  DEFAULT_BACKFILL_CONCURRENCY,
  DYNAMODB_TABLE_WRITE_UNITS_QUOTA,
  ERASURE_ITEMS_PER_SECOND,
  ERASURE_WORKER_CONCURRENCY,
  ERASURE_WRITE_UNITS_PER_WORKER,
  erasureSecondsPerTenant,
  erasuresPerDay,
  FUNCTION_MEMORY_MB,
  MAX_BACKFILL_CONCURRENCY,
  MEASURED,
  NOT_FOUND_CAPACITY,
  ONBOARDING_TARGET,
  RECONCILE_TARGET,
  RECONCILE_WORKER_CONCURRENCY,
  RESERVABLE_CONCURRENCY,
  REVOCATION_WORKER_CONCURRENCY,
  ROUTE_CAPACITY,
  reconcileTickSeconds,
  requestWallMs,
  routeCapacity,
  routeCapacityPerSecond,
  routeReservedConcurrency,
  SQS_EVENT_SOURCE_MIN_CONCURRENCY,
  SWEEP_ASSUMED,
  SWEEPS_PER_SECOND,
  sweepWallMs,
  tenantsSweptPerSpread,
  vcpuShare,
  WEBHOOK_TARGET_EVENTS_PER_SECOND,
  wallMs,
} from '#infra/capacity-model.ts';
import { ERASURE_WORKER_TIMEOUT, RECONCILE_WORKER_TIMEOUT } from '#infra/compass-stripe-connect-stack.ts';
import { RECONCILE_INTERVAL } from '#infra/reconcile-schedule.ts';
import { DEFAULT_ERASER_PACING } from '#shared/adapters/dynamodb/tenant-data-eraser-dynamodb.ts';
import { SWEEP_SPREAD_SECONDS } from '#shared/use-cases/reconcile/schedule-sweeps.ts';

/** infra/capacity-model.ts: the numbers the stack is sized by, and the constraints they meet. */

describe('the Lambda CPU model', () => {
  it('gives one vCPU at 1,769 MB, proportionally less below, and no more above', () => {
    expect(vcpuShare(1769)).toBe(1);
    expect(vcpuShare(256)).toBeCloseTo(0.1447, 4);
    expect(vcpuShare(3538)).toBe(1);
  });

  it('adds CPU and waiting for serial work, and takes the larger for overlapped work', () => {
    expect(wallMs({ cpuMs: 10, ioMs: 20, overlap: 'serial' }, 1769)).toBe(30);
    expect(wallMs({ cpuMs: 10, ioMs: 20, overlap: 'overlapped' }, 1769)).toBe(20);
    expect(wallMs({ cpuMs: 10, ioMs: 20, overlap: 'overlapped' }, 442.25)).toBe(40);
  });
});

describe('memory', () => {
  it('makes a warm request spend less time on CPU than waiting, and a cold start take under a second', () => {
    for (const kind of ['http', 'webhook'] as const) {
      const memory = FUNCTION_MEMORY_MB[kind];
      expect(MEASURED.webhookCpuMsPerEvent / vcpuShare(memory), kind).toBeLessThan(4 * ASSUMED.dynamoDbMs);
      expect(coldStartSeconds(memory), kind).toBeLessThan(1);
    }
    // 256 MB would be CPU-bound: 35 ms of CPU against 20 ms of waiting, a 3.5 s cold start.
    expect(MEASURED.webhookCpuMsPerEvent / vcpuShare(256)).toBeGreaterThan(4 * ASSUMED.dynamoDbMs);
    expect(coldStartSeconds(256)).toBeGreaterThan(3);
  });

  it("makes the backfill wait for Stripe's pace, not for its CPU, with room above its peak RSS", () => {
    const cpuSeconds = MEASURED.backfillCpuSecondsPerRun / vcpuShare(FUNCTION_MEMORY_MB.backfill);
    expect(cpuSeconds).toBeLessThan(0.6 * MEASURED.backfillIoBoundSecondsPerRun);
    expect(backfillSecondsPerTenant()).toBe(MEASURED.backfillIoBoundSecondsPerRun);
    // At 256 MB the same run would take more than twice as long.
    expect(backfillSecondsPerTenant(256)).toBeGreaterThan(2 * MEASURED.backfillIoBoundSecondsPerRun);
    expect(FUNCTION_MEMORY_MB.backfill).toBeGreaterThanOrEqual(4 * 209);
  });
});

describe('routes', () => {
  it('sizes exactly the routes of functions/routes.ts', () => {
    expect(Object.keys(ROUTE_CAPACITY).sort()).toEqual(httpRoutes.map((route) => route.name).sort());
    expect(() => routeCapacity('NoSuchRoute')).toThrow(/NoSuchRoute/);
  });

  it('serves each webhook endpoint at twice the 1,000 events/s burst target', () => {
    for (const name of ['WebhookTenant', 'WebhookConnect']) {
      const capacity = routeCapacity(name);
      expect(capacity.rateLimit, name).toBeGreaterThanOrEqual(WEBHOOK_TARGET_EVENTS_PER_SECOND);
      expect(capacity.burstLimit, name).toBeGreaterThanOrEqual(2 * WEBHOOK_TARGET_EVENTS_PER_SECOND);
      expect(routeCapacityPerSecond(capacity), name).toBeGreaterThanOrEqual(
        WEBHOOK_TARGET_EVENTS_PER_SECOND * ASSUMED.headroom,
      );
      // Reserved concurrency ÷ duration: 58 instances of 28.6 ms each.
      expect(requestWallMs(capacity)).toBeCloseTo(28.6, 1);
      expect(routeReservedConcurrency(capacity)).toBe(58);
    }
  });

  it("lets every function serve more than its route's throttle, so floods meet the gateway's 429", () => {
    for (const capacity of [...Object.values(ROUTE_CAPACITY), NOT_FOUND_CAPACITY]) {
      expect(routeCapacityPerSecond(capacity)).toBeGreaterThanOrEqual(capacity.rateLimit);
    }
  });

  it("throttles tenant routes below the webhooks and leaves most of API Gateway's account limit to others", () => {
    for (const route of httpRoutes) {
      const capacity = routeCapacity(route.name);
      if (capacity.kind === 'http')
        expect(capacity.rateLimit, route.name).toBeLessThan(WEBHOOK_TARGET_EVENTS_PER_SECOND);
    }
    const total = [...Object.values(ROUTE_CAPACITY), NOT_FOUND_CAPACITY].reduce(
      (sum, c) => sum + c.rateLimit,
      0,
    );
    expect(total).toBeLessThanOrEqual(API_GATEWAY_ACCOUNT_RATE_LIMIT / 2);
  });
});

describe('queue workers', () => {
  it('runs the revocation worker at the SQS minimum', () => {
    expect(REVOCATION_WORKER_CONCURRENCY).toBe(SQS_EVENT_SOURCE_MIN_CONCURRENCY);
  });

  it('defaults to the fewest backfill workers that onboard 10,000 tenants a day with the safety factor', () => {
    const needed = ONBOARDING_TARGET.tenants * ONBOARDING_TARGET.safety;
    expect(DEFAULT_BACKFILL_CONCURRENCY).toBe(7);
    expect(backfillTenantsPerDay(DEFAULT_BACKFILL_CONCURRENCY)).toBeGreaterThanOrEqual(needed);
    expect(backfillTenantsPerDay(DEFAULT_BACKFILL_CONCURRENCY - 1)).toBeLessThan(needed);
  });

  it("caps the backfill workers at what the table's default write quota carries", () => {
    expect(BACKFILL_WRITE_UNITS_PER_WORKER).toBe(3184);
    expect(MAX_BACKFILL_CONCURRENCY).toBe(12);
    expect(MAX_BACKFILL_CONCURRENCY * BACKFILL_WRITE_UNITS_PER_WORKER).toBeLessThanOrEqual(
      DYNAMODB_TABLE_WRITE_UNITS_QUOTA,
    );
    expect((MAX_BACKFILL_CONCURRENCY + 1) * BACKFILL_WRITE_UNITS_PER_WORKER).toBeGreaterThan(
      DYNAMODB_TABLE_WRITE_UNITS_QUOTA,
    );
    expect(DEFAULT_BACKFILL_CONCURRENCY).toBeLessThanOrEqual(MAX_BACKFILL_CONCURRENCY);
    expect(DEFAULT_BACKFILL_CONCURRENCY).toBeGreaterThanOrEqual(SQS_EVENT_SOURCE_MIN_CONCURRENCY);
  });
});

describe('the catch-up sweep', () => {
  it('sweeps 10,000 tenants every 15 minutes, spread over the first 10 as the tick spreads them', () => {
    expect(RECONCILE_TARGET).toEqual({ tenants: 10_000, intervalSeconds: 900, spreadSeconds: 600 });
    expect(RECONCILE_TARGET.spreadSeconds).toBe(SWEEP_SPREAD_SECONDS);
    expect(RECONCILE_INTERVAL.toSeconds()).toBe(RECONCILE_TARGET.intervalSeconds);
    expect(SWEEPS_PER_SECOND).toBeCloseTo(16.67, 2);
  });

  it('takes about 1.3 s per sweep at 512 MB, mostly waiting: more memory would barely help', () => {
    // One page (500 ms) and 2 + 20 × 4 DynamoDB requests (410 ms) waiting; 100 ms of CPU.
    expect(SWEEP_ASSUMED.eventsPerSweep * MEASURED.webhookCpuMsPerEvent).toBe(100);
    expect(sweepWallMs()).toBeCloseTo(1255.5, 1);
    expect(FUNCTION_MEMORY_MB.reconcile).toBe(512);
    // Twice the memory saves 14 % of the time, for twice the price per second.
    expect(sweepWallMs(1024) / sweepWallMs()).toBeGreaterThan(0.85);
  });

  it("reserves the fewest workers that sweep each tick's tenants within its spread, twice over", () => {
    expect(RECONCILE_WORKER_CONCURRENCY).toBe(42);
    const needed = RECONCILE_TARGET.tenants * ASSUMED.headroom;
    expect(tenantsSweptPerSpread(RECONCILE_WORKER_CONCURRENCY)).toBeGreaterThanOrEqual(needed);
    expect(tenantsSweptPerSpread(RECONCILE_WORKER_CONCURRENCY - 1)).toBeLessThan(needed);
    expect(RECONCILE_WORKER_CONCURRENCY).toBeGreaterThanOrEqual(SQS_EVENT_SOURCE_MIN_CONCURRENCY);
  });

  it("queues a tick's sweeps in a small share of the worker's timeout, and each sweep fits it many times", () => {
    expect(reconcileTickSeconds()).toBeCloseTo(20.5, 1);
    expect(reconcileTickSeconds()).toBeLessThan(RECONCILE_WORKER_TIMEOUT.toSeconds() / 10);
    // Ten times the target still fits one invocation (the tick also hands over when it must).
    expect(reconcileTickSeconds(100_000)).toBeLessThan(RECONCILE_WORKER_TIMEOUT.toSeconds());
    expect(sweepWallMs() / 1000).toBeLessThan(RECONCILE_WORKER_TIMEOUT.toSeconds() / 100);
  });
});

describe('erasure', () => {
  it("paces each worker as the eraser does: 500 deletes a second, a large tenant's 100,000 items in 200 s", () => {
    expect(ERASURE_ITEMS_PER_SECOND).toBe(DEFAULT_ERASER_PACING.itemsPerSecond);
    expect(erasureSecondsPerTenant()).toBe(200);
    // One step hands over before the timeout; a large tenant takes one step.
    expect(erasureSecondsPerTenant()).toBeLessThan(ERASURE_WORKER_TIMEOUT.toSeconds());
  });

  it('runs two at a time, the SQS minimum: hundreds of large tenants a day, at 5 % of the write quota', () => {
    expect(ERASURE_WORKER_CONCURRENCY).toBe(SQS_EVENT_SOURCE_MIN_CONCURRENCY);
    expect(erasuresPerDay()).toBe(864);
    expect(ERASURE_WORKER_CONCURRENCY * ERASURE_WRITE_UNITS_PER_WORKER).toBe(2000);
    expect(ERASURE_WORKER_CONCURRENCY * ERASURE_WRITE_UNITS_PER_WORKER).toBeLessThanOrEqual(
      0.05 * DYNAMODB_TABLE_WRITE_UNITS_QUOTA,
    );
    expect(FUNCTION_MEMORY_MB.erasure).toBe(512);
  });
});

describe('the account', () => {
  it('reserves in all, with the backfill at its maximum, less than the 900 a default account allows', () => {
    const http = [...Object.values(ROUTE_CAPACITY), NOT_FOUND_CAPACITY].reduce(
      (sum, capacity) => sum + routeReservedConcurrency(capacity),
      0,
    );
    const total =
      http +
      REVOCATION_WORKER_CONCURRENCY +
      MAX_BACKFILL_CONCURRENCY +
      RECONCILE_WORKER_CONCURRENCY +
      ERASURE_WORKER_CONCURRENCY;
    expect(RESERVABLE_CONCURRENCY).toBe(900);
    expect(total).toBeLessThanOrEqual(RESERVABLE_CONCURRENCY);
    expect(total).toBe(272);
  });
});
