/**
 * `npm run dev`: the API on http://localhost:$PORT with dynalite and local stand-ins.
 * `npm run dev -- --reset` wipes the local data first.
 */
import { ConfigError } from '#shared/errors/config-error.ts';
import { startLocalStack } from './local/local-stack.ts';

const reset = process.argv.includes('--reset');

try {
  const stack = await startLocalStack({ env: process.env, reset });
  const stripeApi = process.env.STRIPE_API_BASE_URL ?? 'https://api.stripe.com';
  process.stderr.write(
    [
      '',
      `  Compass Stripe connector (local) on ${stack.url}`,
      `  Sign in as the demo tenant:  ${stack.signInUrl()}`,
      `  Settings page:               ${stack.url}/settings/integrations`,
      `  Stripe API:                  ${stripeApi}`,
      `  Stripe consent screen:       ${process.env.STRIPE_CONNECT_BASE_URL ?? 'https://connect.stripe.com'}`,
      '  Press Ctrl-C to stop.',
      '',
    ].join('\n'),
  );
  let stopping = false;
  const stop = async () => {
    if (stopping) return;
    stopping = true;
    await stack.close();
    process.exit(0);
  };
  process.on('SIGINT', stop);
  process.on('SIGTERM', stop);
} catch (error) {
  if (error instanceof ConfigError) {
    process.stderr.write(
      `\nCannot start: ${error.problems.join('\n  ')}\n\nnpm run dev needs a Stripe-compatible server until the built-in emulator lands:\n` +
        '  STRIPE_CONNECT_CLIENT_ID=ca_… STRIPE_SECRET_KEY=sk_test_… STRIPE_API_BASE_URL=http://127.0.0.1:12111 \\\n' +
        '  STRIPE_CONNECT_BASE_URL=http://127.0.0.1:12111 npm run dev\n(see README, "Local run").\n',
    );
  } else {
    process.stderr.write(`\nCannot start: ${(error as Error).message}\n`);
  }
  process.exit(1);
}
