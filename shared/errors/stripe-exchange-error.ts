/**
 * The authorization-code exchange failed. `reason` is Stripe's error type or an HTTP status:
 * safe to log, unlike Stripe's message, which can quote the code.
 */
export class StripeExchangeError extends Error {
  override readonly name = 'StripeExchangeError';
  constructor(readonly reason: string) {
    super(`Stripe token exchange failed: ${reason}`);
  }
}
