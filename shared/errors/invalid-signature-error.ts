/** A webhook whose signature does not verify (wrong secret, tampered body, stale timestamp). */
export class InvalidSignatureError extends Error {
  override readonly name = 'InvalidSignatureError';
  constructor(readonly reason: string) {
    super('The Stripe-Signature header does not match this body and endpoint secret');
  }
}
