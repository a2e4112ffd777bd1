import type { StripeToken } from '../domain/integration.ts';

/** What one tenant's secret holds. */
export interface TenantCredential {
  readonly token: StripeToken;
  readonly webhookSecret?: string;
}

/**
 * The credential after a new token: the webhook secret survives only a token for the same Stripe
 * account (it signs that account's events, not another's).
 */
export function withToken(current: TenantCredential | undefined, token: StripeToken): TenantCredential {
  const sameAccount = current?.token.stripe_user_id === token.stripe_user_id;
  return sameAccount && current?.webhookSecret ? { token, webhookSecret: current.webhookSecret } : { token };
}

/** One secret per tenant (Secrets Manager `{prefix}/stripe/{tenantId}` when deployed). */
export interface CredentialStore {
  /** Creates or replaces the token; the webhook secret survives only a token for the same account. */
  saveToken(tenantId: string, token: StripeToken): Promise<void>;
  /** Returns false when the tenant has no credential to attach it to. */
  setWebhookSecret(tenantId: string, webhookSecret: string): Promise<boolean>;
  get(tenantId: string): Promise<TenantCredential | undefined>;
  /** Deletes immediately (no recovery window); deleting what is not there is not an error. */
  delete(tenantId: string): Promise<void>;
}
