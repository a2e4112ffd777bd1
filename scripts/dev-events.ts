/**
 * `npm run dev:events -- <type>`: fires a signed Stripe event from the running `npm run dev`'s
 * Stripe emulator at the local Connect webhook endpoint, changing the demo account to match.
 * `--list` shows the types, `--help` the rest. Exit status: 0 delivered (or help), 1 refused or
 * not accepted, 2 bad usage, 3 no running dev stack with the emulator.
 */
import { runDevEvents } from './local/dev-events-cli.ts';

process.exitCode = await runDevEvents(process.argv.slice(2), {
  env: process.env,
  stdout: (text) => process.stdout.write(text),
  stderr: (text) => process.stderr.write(text),
});
