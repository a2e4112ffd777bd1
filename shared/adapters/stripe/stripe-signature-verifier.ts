import Stripe from 'stripe';
import { InvalidSignatureError } from '../../errors/invalid-signature-error.ts';
import type { SignatureVerifier } from '../../ports/signature-verifier.ts';

/** Stripe's default (README "Webhooks"): a signed timestamp older than 5 minutes is a replay. */
export const SIGNATURE_TOLERANCE_SECONDS = 300;

/**
 * The SDK's own verification: HMAC-SHA256 over `{t}.{raw body}`, any `v1` signature of the header
 * may match (secret rotation), `v0`-only headers are refused, constant-time comparison.
 */
export class StripeSignatureVerifier implements SignatureVerifier {
  private readonly signature = requireSignatureModule();

  verify(rawBody: Buffer, header: string, secret: string): void {
    try {
      this.signature.verifyHeader(rawBody, header, secret, SIGNATURE_TOLERANCE_SECONDS);
    } catch (error) {
      const message = String((error as { message?: unknown } | null)?.message ?? '');
      const reason = /timestamp outside/i.test(message)
        ? 'timestamp_outside_tolerance'
        : /Unable to extract|No signatures found/i.test(message)
          ? 'malformed_header'
          : 'no_matching_signature';
      throw new InvalidSignatureError(reason);
    }
  }
}

function requireSignatureModule() {
  const signature = Stripe.webhooks.signature;
  if (!signature) throw new Error('stripe-node exposes no webhook signature verification');
  return signature;
}
