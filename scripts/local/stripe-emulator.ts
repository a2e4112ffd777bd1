import { FakeStripe } from '../../test/fake-stripe/fake-stripe-server.ts';
import { seedClinic } from '../../test/fake-stripe/seed-clinic.ts';

export interface StripeEmulator {
  readonly stripe: FakeStripe;
  readonly url: string;
  /** What a 90-day backfill of the demo clinic imports. */
  readonly expected: { customersUpserted: number; subscriptionsCreated: number; ordersCreated: number };
}

/**
 * The test suite's fake Stripe with a demo clinic behind its consent screen: what `npm run dev`
 * talks to when no Stripe is configured, and what `npm run stripe:fake` serves on its own.
 */
export async function startStripeEmulator(
  options: { port?: number; consent?: FakeStripe['consent']; accountId?: string } = {},
): Promise<StripeEmulator> {
  const stripe = new FakeStripe();
  stripe.consent = options.consent ?? 'page';
  if (options.accountId) stripe.consentAccount = options.accountId;
  const clinic = seedClinic({
    accountId: stripe.consentAccount,
    now: Math.floor(Date.now() / 1000),
    days: 180,
    customers: 120,
    subscriptions: 150,
    invoices: 600,
    oneTimePayments: 80,
  });
  stripe.seed(stripe.consentAccount, clinic.objects);
  const url = await stripe.start(options.port ?? 12111);
  const { customersUpserted, subscriptionsCreated, ordersCreated } = clinic.expected;
  return { stripe, url, expected: { customersUpserted, subscriptionsCreated, ordersCreated } };
}
