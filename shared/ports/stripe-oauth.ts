import type { StripeToken } from '../domain/integration.ts';

export type RevocationResult = 'revoked' | 'already_revoked';

export interface StripeOAuth {
  /**
   * Exchanges an authorization code once. Never retried after Stripe answered: a code used
   * twice makes Stripe revoke the tokens it gave. Throws `StripeExchangeError` on failure.
   */
  exchangeCode(code: string): Promise<StripeToken>;
  /** Revokes the platform's access; throws `RevocationFailedError` when it should be retried. */
  deauthorize(stripeAccountId: string): Promise<RevocationResult>;
}
