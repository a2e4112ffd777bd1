import {
  RateLimitedBackfillSource,
  type RateLimitOptions,
} from '#shared/adapters/stripe/rate-limited-backfill-source.ts';
import { createStripeClient } from '#shared/adapters/stripe/stripe-client.ts';
import { StripeSdkBackfillSource } from '#shared/adapters/stripe/stripe-sdk-backfill-source.ts';
import type { StripeIntegration } from '#shared/domain/integration.ts';
import type { RunBackfillDeps } from '#shared/use-cases/backfill/run-backfill.ts';
import { type SeededClinic, seedClinic } from '../fake-stripe/seed-clinic.ts';
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
