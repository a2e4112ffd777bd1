/**
 * The signing secret (`whsec_…`) of each tenant's own webhook endpoint, in a secret of its own
 * (`{prefix}/stripe/webhook/{tenantId}` when deployed), apart from the OAuth token: the public
 * webhook functions may read these and nothing else, and saving one never rewrites the token.
 */
export interface WebhookSecretStore {
  /** Creates or replaces the secret; one write, no read first. */
  save(tenantId: string, webhookSecret: string): Promise<void>;
  get(tenantId: string): Promise<string | undefined>;
  /** Deletes immediately (no recovery window); deleting what is not there is not an error. */
  delete(tenantId: string): Promise<void>;
}
