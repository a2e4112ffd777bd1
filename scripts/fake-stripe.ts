/**
 * `npm run stripe:fake`: the Stripe emulator on its own, on http://127.0.0.1:12111 (or
 * FAKE_STRIPE_PORT). Its consent screen shows Authorize and Cancel buttons
 * (FAKE_STRIPE_CONSENT=approve|deny decides at once instead); FAKE_STRIPE_ACCOUNT names the account.
 * Every event it fires is also listed by the account's Events API (`GET /v1/events`, 30 days).
 */
import { startStripeEmulator } from './local/stripe-emulator.ts';

const consent = process.env.FAKE_STRIPE_CONSENT;
const emulator = await startStripeEmulator({
  port: Number(process.env.FAKE_STRIPE_PORT ?? 12111),
  consent: consent === 'approve' || consent === 'deny' ? consent : 'page',
  ...(process.env.FAKE_STRIPE_ACCOUNT ? { accountId: process.env.FAKE_STRIPE_ACCOUNT } : {}),
});
const { stripe, url, expected } = emulator;
process.stderr.write(
  `Fake Stripe on ${url} (demo clinic ${stripe.consentAccount}; a 90-day backfill imports ${JSON.stringify(expected)})\n` +
    `  STRIPE_CONNECT_CLIENT_ID=${stripe.clientId}\n  STRIPE_SECRET_KEY=${stripe.secretKey}\n`,
);
const stop = () => stripe.stop().then(() => process.exit(0));
process.on('SIGINT', stop);
process.on('SIGTERM', stop);
