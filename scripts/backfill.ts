/**
 * `npm run backfill -- <tenantId> [--days 90] [--enqueue]`: a tenant's backfill by hand, against
 * the local stack (the running `npm run dev`, or the data folder itself) or, with `--enqueue`,
 * through the deployed queue. `--help` says more; {@link runBackfillCli} does the work.
 */
import { EXIT, runBackfillCli } from './local/backfill-cli.ts';

let interrupt: (() => Promise<void>) | undefined;
process.once('SIGINT', () => {
  // Before a run exists there is nothing to mark: stop at once.
  void (interrupt?.() ?? Promise.resolve()).finally(() => process.exit(EXIT.interrupted));
});

runBackfillCli(process.argv.slice(2), {
  env: process.env,
  stdout: (text) => process.stdout.write(text),
  stderr: (text) => process.stderr.write(text),
  progressOnOneLine: process.stderr.isTTY,
  onInterrupt: (handler) => {
    interrupt = handler;
  },
}).then(
  (code) => process.exit(code),
  (error: unknown) => {
    process.stderr.write(`\nbackfill: ${(error as Error).message}\n`);
    process.exit(EXIT.failed);
  },
);
