import type { StripeIntegration } from '../domain/integration.ts';

export type AccountClaim =
  | { readonly outcome: 'claimed' }
  | { readonly outcome: 'held'; readonly tenantId: string };

export interface IntegrationRepository {
  getByTenant(tenantId: string): Promise<StripeIntegration | undefined>;
  findBySlug(tenantSlug: string): Promise<StripeIntegration | undefined>;
  findByStripeAccount(stripeAccountId: string): Promise<StripeIntegration | undefined>;
  /** The tenant (or the revocation worker) holding the account's claim, if any. */
  accountHolder(stripeAccountId: string): Promise<string | undefined>;
  /**
   * Reserves a Stripe account for a tenant. One account belongs to at most one tenant. A claim
   * whose tenant does not hold the account (a crashed disconnect) is taken over, but only once it
   * is older than a grace period: a fresh claim may belong to a connect still writing its row.
   */
  claimAccount(stripeAccountId: string, tenantId: string, now: Date): Promise<AccountClaim>;
  /** Drops the reservation if (and only if) this tenant holds it. */
  releaseAccount(stripeAccountId: string, tenantId: string): Promise<void>;
  save(integration: StripeIntegration): Promise<void>;
  /** Returns false when the tenant is no longer connected to `stripeAccountId`. */
  setWebhookSecretConfigured(
    tenantId: string,
    stripeAccountId: string,
    configured: boolean,
    /** Identifies this save of the secret (see `StripeIntegration.webhookSecretVersion`). */
    version?: string,
  ): Promise<boolean>;
  /** Sets `lastEventAt` (and the endpoint's own) on an existing row; never creates one. */
  recordWebhookActivity(tenantId: string, endpoint: 'tenant' | 'connect', at: Date): Promise<void>;
  markDisconnecting(tenantId: string, stripeAccountId: string): Promise<void>;
  /** Deletes the row only while it still points at this account (a reconnect wins). */
  delete(tenantId: string, stripeAccountId: string): Promise<void>;
}
