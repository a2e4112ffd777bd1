/** Checks a `Stripe-Signature` header against the raw body; throws `InvalidSignatureError`. */
export interface SignatureVerifier {
  verify(rawBody: Buffer, header: string, secret: string): void;
}
