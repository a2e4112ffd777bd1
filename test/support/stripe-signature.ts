import Stripe from 'stripe';

/**
 * Signs a payload the way Stripe does (`t=…,v1=…`), with the SDK's own test helper. Its own module
 * (free of test-runner imports) so the local Stripe emulator signs its events with it too.
 */
export function sign(payload: string, secret: string, timestamp = Math.floor(Date.now() / 1000)): string {
  return Stripe.webhooks.generateTestHeaderString({ payload, secret, timestamp });
}
