import Stripe from 'stripe';

/**
 * Signs a payload the way Stripe does (`t=…,v1=…`), with the SDK's own test helper: the emulator
 * signs the events it fires with it, and the tests sign their deliveries.
 */
export function sign(payload: string, secret: string, timestamp = Math.floor(Date.now() / 1000)): string {
  return Stripe.webhooks.generateTestHeaderString({ payload, secret, timestamp });
}
