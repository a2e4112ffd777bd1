/** A disconnect started and did not finish; connecting now would race it. Maps to 409. */
export class DisconnectInProgressError extends Error {
  override readonly name = 'DisconnectInProgressError';
  constructor() {
    super(
      'A disconnect is still in progress: finish it (DELETE /api/connect/stripe) before connecting again',
    );
  }
}
