/**
 * The request is valid but cannot be answered yet, and the sender must try again: Stripe retries
 * any non-2xx, so this never acknowledges work that was not done. Maps to `statusCode` with a
 * `Retry-After` header.
 */
export class RetryLaterError extends Error {
  override readonly name = 'RetryLaterError';
  constructor(
    readonly statusCode: 409 | 503,
    readonly code: string,
    message: string,
    readonly retryAfterSeconds: number,
  ) {
    super(message);
  }
}
