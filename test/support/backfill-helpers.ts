import {
  RateLimitedBackfillSource,
  type RateLimitOptions,
} from '#shared/adapters/stripe/rate-limited-backfill-source.ts';
import { createStripeClient } from '#shared/adapters/stripe/stripe-client.ts';
import { StripeSdkBackfillSource } from '#shared/adapters/stripe/stripe-sdk-backfill-source.ts';
import type { StripeIntegration } from '#shared/domain/integration.ts';
import type { JournalEntry } from '#shared/ports/change-journal.ts';
import type { ApplyOutcome, RecordStore, RunCounts } from '#shared/ports/record-store.ts';
import type { RunBackfillDeps } from '#shared/use-cases/backfill/run-backfill.ts';
import { type SeededClinic, seedClinic } from '../../scripts/stripe-emulator/seed-clinic.ts';
import type { TestApp } from './harness.ts';

export const FAST_RETRIES: RateLimitOptions = {
  requestsPerSecond: 1000,
  maxConcurrent: 2,
  maxAttempts: 6,
  baseDelayMs: 1,
  maxDelayMs: 5,
};

/** A connected tenant whose Stripe account holds a seeded clinic. */
export async function connectedClinic(
  app: TestApp,
  tenantId: string,
  accountId: string,
  size: { customers: number; subscriptions: number; invoices: number; oneTimePayments: number },
  /** `days` of history (180) and a last edit of the seeded objects before Stripe serves them. */
  options: { days?: number; edit?: (objects: SeededClinic['objects']) => void } = {},
): Promise<SeededClinic> {
  const now = Math.floor(app.clock.now().getTime() / 1000);
  const clinic = seedClinic({ accountId, now, days: options.days ?? 180, seed: 3, ...size });
  options.edit?.(clinic.objects);
  app.stripe.connectAccount(accountId);
  app.stripe.seed(accountId, clinic.objects);
  const integration: StripeIntegration = {
    tenantId,
    tenantSlug: tenantId.replace(/_/g, '-'),
    stripeAccountId: accountId,
    livemode: false,
    scope: 'read_write',
    connectedAt: app.clock.now().toISOString(),
    status: 'connected',
    webhookSecretConfigured: false,
  };
  await app.deps.integrations.claimAccount(accountId, tenantId, app.clock.now());
  await app.deps.integrations.save(integration);
  return clinic;
}

export function backfillDeps(
  app: TestApp,
  retry: RateLimitOptions = FAST_RETRIES,
): RunBackfillDeps & {
  source: RateLimitedBackfillSource;
} {
  const stripe = createStripeClient({ secretKey: app.stripe.secretKey, apiBaseUrl: new URL(app.stripe.url) });
  return {
    backfillStatus: app.deps.backfillStatus,
    integrations: app.deps.integrations,
    records: app.deps.records,
    journal: app.deps.journal,
    source: new RateLimitedBackfillSource(new StripeSdkBackfillSource(stripe), retry),
    clock: app.clock,
    log: app.log,
  };
}

/** `n` journal entries, each creating one customer `${prefix}_{i}` (ids sort as they are numbered). */
export function customerEntries(n: number, prefix: string, created: number): JournalEntry[] {
  return Array.from({ length: n }, (_, i) => {
    const eventId = `evt_${prefix}_${String(i).padStart(5, '0')}`;
    return {
      eventId,
      version: { created, rank: 1, eventId },
      changes: [
        {
          kind: 'customer',
          record: { id: `cus_${prefix}_${String(i).padStart(5, '0')}`, created: null, deleted: false },
        },
      ],
    };
  });
}

/**
 * A record store that forwards to `real`, with hooks around the calls a run makes: how tests
 * make a replay or a count slow (by moving the clock), or act between pages.
 */
export function hookedRecords(
  real: RecordStore,
  hooks: {
    apply?: (call: () => Promise<ApplyOutcome>) => Promise<ApplyOutcome>;
    applySnapshot?: (call: () => Promise<void>) => Promise<void>;
    countRun?: (call: () => Promise<RunCounts>) => Promise<RunCounts>;
  },
): RecordStore {
  return {
    apply: (...args) => (hooks.apply ?? ((call) => call()))(() => real.apply(...args)),
    applySnapshot: (...args) =>
      (hooks.applySnapshot ?? ((call) => call()))(() => real.applySnapshot(...args)),
    countRun: (...args) => (hooks.countRun ?? ((call) => call()))(() => real.countRun(...args)),
    list: (...args) => real.list(...args),
  };
}
