import type { StripeToken } from '../domain/integration.ts';

/** What one tenant's secret holds. */
export interface TenantCredential {
  readonly token: StripeToken;
  readonly webhookSecret?: string;
}

/** One secret per tenant (Secrets Manager `{prefix}/stripe/{tenantId}` when deployed). */
export interface CredentialStore {
  /** Creates or replaces the token; a webhook secret already configured is kept. */
  saveToken(tenantId: string, token: StripeToken): Promise<void>;
  /** Returns false when the tenant has no credential to attach it to. */
  setWebhookSecret(tenantId: string, webhookSecret: string): Promise<boolean>;
  get(tenantId: string): Promise<TenantCredential | undefined>;
  /** Deletes immediately (no recovery window); deleting what is not there is not an error. */
  delete(tenantId: string): Promise<void>;
}
