/** No valid Compass session. The message is generic on purpose: it must not help forge tokens. */
export class UnauthorizedError extends Error {
  override readonly name = 'UnauthorizedError';
  constructor(readonly reason: string) {
    super('A valid Compass session is required');
  }
}
