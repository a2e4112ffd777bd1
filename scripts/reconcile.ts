/**
 * `npm run reconcile -- <tenantId> [--enqueue]`: one catch-up sweep of a tenant's Stripe Events
 * API by hand, against the local stack or, with `--enqueue`, through the deployed queue.
 * `--help` says more; {@link runReconcileCli} does the work.
 */
import { RECONCILE_EXIT, runReconcileCli } from './local/reconcile-cli.ts';

runReconcileCli(process.argv.slice(2), {
  env: process.env,
  stdout: (text) => process.stdout.write(text),
  stderr: (text) => process.stderr.write(text),
}).then(
  (code) => process.exit(code),
  (error: unknown) => {
    process.stderr.write(`reconcile: ${(error as Error).message}\n`);
    process.exit(RECONCILE_EXIT.failed);
  },
);
