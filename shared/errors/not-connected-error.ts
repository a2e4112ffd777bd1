/** The tenant has no Stripe connection for the operation asked. */
export class NotConnectedError extends Error {
  override readonly name = 'NotConnectedError';
  constructor(message = 'Stripe is not connected for this workspace') {
    super(message);
  }
}
