import type { StripeIntegration } from '../domain/integration.ts';
import type { TenantData } from './tenant-data-store.ts';

/** What event intake must know of a tenant, read together and strongly consistent. */
export interface TenantIntakeState {
  readonly integration: StripeIntegration | undefined;
  /** A backfill is queued or running: webhooks journal their changes for its replay. */
  readonly backfillActive: boolean;
  readonly data: TenantData | undefined;
}

/**
 * One strongly consistent read per event: a disconnect, a new or replaced webhook secret and an
 * account switch take effect on the very next event, whatever any container has cached.
 */
export interface TenantStateReader {
  read(tenantId: string): Promise<TenantIntakeState>;
}
