/** A tenant's Stripe connection as kept in DynamoDB (no secrets: those live in Secrets Manager). */
export interface StripeIntegration {
  readonly tenantId: string;
  readonly tenantSlug: string;
  readonly stripeAccountId: string;
  readonly livemode: boolean;
  readonly scope: string;
  /** ISO-8601 UTC. */
  readonly connectedAt: string;
  /**
   * `disconnecting` marks a disconnect that has started but not finished, so a crash half-way
   * never leaves a tenant looking connected, and the next DELETE resumes where it stopped.
   */
  readonly status: 'connected' | 'disconnecting';
  readonly webhookSecretConfigured: boolean;
  /**
   * Which save of the signing secret is current (the secret carries the same value): a receiver
   * holding another one in its cache reads the secret again, so a replaced secret stops
   * verifying on the next event.
   */
  readonly webhookSecretVersion?: string | null;
  /** ISO-8601: when the last event arrived, overall and per endpoint (null: never). */
  readonly lastEventAt?: string | null;
  readonly lastTenantEventAt?: string | null;
  readonly lastConnectEventAt?: string | null;
}

/** The OAuth token response Stripe returns. */
export interface StripeToken {
  readonly access_token: string;
  readonly refresh_token?: string;
  readonly token_type?: string;
  readonly scope: string;
  readonly livemode: boolean;
  readonly stripe_user_id: string;
  readonly stripe_publishable_key?: string;
}

/**
 * What the connector keeps of a token response: the credential of record and which account, mode
 * and scope it is for. `stripe_publishable_key` (public, unused: calls use the platform key with
 * `Stripe-Account`) and `token_type` (always "bearer") are dropped.
 */
export interface StoredToken {
  readonly access_token: string;
  readonly refresh_token?: string;
  readonly scope: string;
  readonly livemode: boolean;
  readonly stripe_user_id: string;
}

export function tokenToStore(token: StripeToken): StoredToken {
  return {
    access_token: token.access_token,
    ...(typeof token.refresh_token === 'string' ? { refresh_token: token.refresh_token } : {}),
    scope: token.scope,
    livemode: token.livemode === true,
    stripe_user_id: token.stripe_user_id,
  };
}

export const STRIPE_ACCOUNT_ID_PATTERN = /^acct_[A-Za-z0-9]{1,64}$/;
