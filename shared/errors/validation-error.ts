/** Input a caller can fix; maps to 400. `code` is the stable machine word, `message` the words. */
export class ValidationError extends Error {
  override readonly name = 'ValidationError';
  constructor(
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}
