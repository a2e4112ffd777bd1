/** A tenant endpoint's signing secret and the Stripe account it was saved for. */
export interface StoredWebhookSecret {
  readonly secret: string;
  /**
   * Events of the tenant's own endpoint carry no account: a secret saved for one account must
   * never verify events once the tenant is connected to another, whatever the order of a save, a
   * reconnect and a disconnect.
   */
  readonly stripeAccountId: string;
  /** This save's identity, repeated on the integration row (absent on secrets saved before). */
  readonly version?: string;
}

/**
 * The signing secret (`whsec_…`) of each tenant's own webhook endpoint, in a secret of its own
 * (`{prefix}/stripe/webhook/{tenantId}` when deployed), apart from the OAuth token: the public
 * webhook functions may read these and nothing else, and saving one never rewrites the token.
 */
export interface WebhookSecretStore {
  /** Creates or replaces the secret; one write, no read first. */
  save(tenantId: string, webhookSecret: StoredWebhookSecret): Promise<void>;
  get(tenantId: string): Promise<StoredWebhookSecret | undefined>;
  /** Deletes immediately (no recovery window); deleting what is not there is not an error. */
  delete(tenantId: string): Promise<void>;
}
