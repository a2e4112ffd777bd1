/**
 * `npm run dev`: the API on http://localhost:$PORT with dynalite and local stand-ins, and, unless
 * Stripe is configured, the built-in Stripe emulator. `npm run dev -- --reset` wipes local data.
 */
import { ConfigError } from '#shared/errors/config-error.ts';
import { startLocalStack } from './local/local-stack.ts';

const reset = process.argv.includes('--reset');

try {
  const stack = await startLocalStack({ env: process.env, reset });
  const emulator = stack.stripeEmulator;
  const stripeLines = emulator
    ? [
        `  Stripe:                      built-in emulator on ${emulator.url} (demo clinic ${emulator.stripe.consentAccount})`,
        `  Send test events:            ${emulator.url}/ or npm run dev:events -- <type>`,
      ]
    : [`  Stripe API:                  ${process.env.STRIPE_API_BASE_URL ?? 'https://api.stripe.com'}`];
  process.stderr.write(
    [
      '',
      `  Compass Stripe connector (local) on ${stack.url}`,
      `  Sign in as the demo tenant:  ${stack.signInUrl()}`,
      `  Settings page:               ${stack.url}/settings/integrations`,
      ...stripeLines,
      '  Press Ctrl-C to stop.',
      '',
    ].join('\n'),
  );
  let stopping = false;
  const stop = async () => {
    // A second Ctrl-C while closing means "now".
    if (stopping) process.exit(130);
    stopping = true;
    try {
      await stack.close();
    } finally {
      process.exit(0);
    }
  };
  process.on('SIGINT', stop);
  process.on('SIGTERM', stop);
} catch (error) {
  const message =
    error instanceof ConfigError
      ? `${error.problems.join('\n  ')}\n\nUnset the STRIPE_* variables to use the built-in emulator, or set all of them (see README, "Configuration").`
      : (error as Error).message;
  process.stderr.write(`\nCannot start: ${message}\n`);
  process.exit(1);
}
