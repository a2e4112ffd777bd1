/** A Stripe read that failed for good (a 4xx, or retries exhausted). `reason` is safe to show. */
export class StripeReadError extends Error {
  override readonly name = 'StripeReadError';
  constructor(
    readonly reason: string,
    readonly retryable: boolean,
    /** Gave up because the caller's time ran out, not because Stripe said no. */
    readonly outOfTime = false,
  ) {
    super(`Stripe read failed: ${reason}`);
  }
}
