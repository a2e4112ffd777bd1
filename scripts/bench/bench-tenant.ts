import type { AppDependencies } from '../../functions/commons/dependencies.ts';

/** A tenant a benchmark connects without the OAuth dance. */
export interface BenchTenant {
  readonly tenantId: string;
  readonly slug: string;
  readonly stripeAccountId: string;
}

/**
 * What a completed connect leaves behind (complete-stripe-connect.ts): the token, the account
 * claim, active data, the connection row, and the tenant endpoint's secret when one is given.
 */
export async function connectBenchTenant(
  deps: AppDependencies,
  tenant: BenchTenant,
  options: { readonly accessToken: string; readonly now: Date; readonly webhookSecret?: string },
): Promise<void> {
  const { now } = options;
  await deps.tokens.save(tenant.tenantId, {
    access_token: options.accessToken,
    scope: 'read_write',
    livemode: false,
    stripe_user_id: tenant.stripeAccountId,
  });
  if (!(await deps.integrations.claimAccount(tenant.stripeAccountId, tenant.tenantId, now))) {
    throw new Error(`the account ${tenant.stripeAccountId} could not be claimed`);
  }
  const data = await deps.tenantData.beginConnection(tenant.tenantId, tenant.stripeAccountId, now);
  if (data.outcome !== 'ready') throw new Error(`the tenant's data is not ready: ${data.outcome}`);
  if (options.webhookSecret !== undefined) {
    await deps.webhookSecrets.save(tenant.tenantId, {
      secret: options.webhookSecret,
      stripeAccountId: tenant.stripeAccountId,
    });
  }
  await deps.integrations.save({
    tenantId: tenant.tenantId,
    tenantSlug: tenant.slug,
    stripeAccountId: tenant.stripeAccountId,
    livemode: false,
    scope: 'read_write',
    connectedAt: now.toISOString(),
    status: 'connected',
    webhookSecretConfigured: options.webhookSecret !== undefined,
  });
}

/** A benchmark's size setting from the environment: a positive integer, or the default. */
export function positiveInteger(name: string, fallback: number): number {
  const raw = process.env[name];
  if (raw === undefined || raw === '') return fallback;
  const value = Number(raw);
  if (!Number.isInteger(value) || value <= 0)
    throw new Error(`${name} must be a positive integer, not ${raw}`);
  return value;
}
