/**
 * Stripe did not confirm a revocation (network error, 5xx, 429, or an answer we cannot read as
 * "done"). `reason` is Stripe's error type or an HTTP status, never its message.
 */
export class RevocationFailedError extends Error {
  override readonly name = 'RevocationFailedError';
  constructor(readonly reason: string) {
    super(`Stripe revocation failed: ${reason}`);
  }
}
