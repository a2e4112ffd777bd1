/** A webhook URL that leads nowhere: unknown slug, or no signing secret configured. Maps to 404. */
export class UnknownEndpointError extends Error {
  override readonly name = 'UnknownEndpointError';
  constructor(message: string) {
    super(message);
  }
}
