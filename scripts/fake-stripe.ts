/**
 * `npm run stripe:fake`: the test suite's fake Stripe on http://127.0.0.1:12111 (or
 * FAKE_STRIPE_PORT), so `npm run dev` can run the OAuth flow offline. Its consent screen
 * approves at once for the account FAKE_STRIPE_ACCOUNT (FAKE_STRIPE_CONSENT=deny to cancel).
 */
import { FakeStripe } from '../test/fake-stripe/fake-stripe-server.ts';
import { seedClinic } from '../test/fake-stripe/seed-clinic.ts';

const stripe = new FakeStripe({
  ...(process.env.STRIPE_SECRET_KEY ? { secretKey: process.env.STRIPE_SECRET_KEY } : {}),
  ...(process.env.STRIPE_CONNECT_CLIENT_ID ? { clientId: process.env.STRIPE_CONNECT_CLIENT_ID } : {}),
});
if (process.env.FAKE_STRIPE_CONSENT === 'deny') stripe.consent = 'deny';
if (process.env.FAKE_STRIPE_ACCOUNT) stripe.consentAccount = process.env.FAKE_STRIPE_ACCOUNT;
// A small demo clinic behind the consent account, so a connect on `npm run dev` has history to import.
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
const url = await stripe.start(Number(process.env.FAKE_STRIPE_PORT ?? 12111));
process.stderr.write(
  `Fake Stripe on ${url} (demo clinic ${stripe.consentAccount}: a 90-day backfill imports ${JSON.stringify({ customersUpserted: clinic.expected.customersUpserted, subscriptionsCreated: clinic.expected.subscriptionsCreated, ordersCreated: clinic.expected.ordersCreated })})\n  STRIPE_CONNECT_CLIENT_ID=${stripe.clientId}\n  STRIPE_SECRET_KEY=${stripe.secretKey}\n`,
);
const stop = () => stripe.stop().then(() => process.exit(0));
process.on('SIGINT', stop);
process.on('SIGTERM', stop);
