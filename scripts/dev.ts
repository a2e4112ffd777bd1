/**
 * `npm run dev`: the API on http://localhost:$PORT with dynalite and local stand-ins, and, unless
 * Stripe is configured, the built-in Stripe emulator. `npm run dev -- --reset` wipes local data.
 */
import { readdir, rm } from 'node:fs/promises';
import { homedir } from 'node:os';
import { dirname, isAbsolute, join, parse, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ConfigError } from '#shared/errors/config-error.ts';
import { parseCliArgs } from './local/cli-args.ts';
import { acquireDataDirLock, DATA_DIR_LOCK_FILE, type DataDirLock } from './local/data-dir-lock.ts';
import { registerDevStack } from './local/dev-stack-registry.ts';
import { localDataDir } from './local/dev-stack-state.ts';

const DEV_CLI = {
  usage: 'usage: npm run dev [-- --reset]',
  help: `Runs the whole product locally: the API and settings page on http://localhost:$PORT (default
3000), dynalite for DynamoDB, files for Secrets Manager, in-process queues, and, unless a STRIPE_*
variable is set, the built-in Stripe emulator (STRIPE_EMULATOR_PORT, default 12111).

  --reset      wipe the local data first
  -h, --help   this help

Data lives in LOCAL_DATA_DIR (default .data/); one npm run dev at a time uses a folder.`,
  options: { reset: { type: 'boolean', default: false } },
} as const;

const io = {
  stdout: (text: string) => process.stdout.write(text),
  stderr: (text: string) => process.stderr.write(text),
};
const args = parseCliArgs(DEV_CLI, process.argv.slice(2), io);
if (!args.ok) process.exit(args.exitCode);

const dataDir = localDataDir(process.env);
let lock: DataDirLock | undefined;
try {
  const port = process.env.PORT ?? '3000';
  // Before anything else: a second stack on the same folder would only fail deep in dynalite.
  lock = await acquireDataDirLock(dataDir, {
    command: 'npm run dev',
    url: port === '0' ? null : `http://localhost:${port}`,
  });
  if (args.values.reset) await wipeDataDir(dataDir);
  // Loaded after the arguments are checked, so `--help` and a typo answer at once.
  const { startLocalStack } = await import('./local/local-stack.ts');
  const stack = await startLocalStack({ env: process.env, dataDir });
  await lock.setUrl(stack.url);
  const unregister = await registerDevStack(dataDir, process.env);
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
      `  Local data:                  ${dataDir}`,
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
      // The pointer and the lock go last only if nothing interrupts the close: a stale pointer is
      // harmless, a stale lock names a dead process and is taken over.
      await unregister();
      await stack.close();
      await lock?.release();
    } finally {
      process.exit(0);
    }
  };
  process.on('SIGINT', stop);
  process.on('SIGTERM', stop);
} catch (error) {
  await lock?.release();
  const message =
    error instanceof ConfigError
      ? `${error.problems.join('\n  ')}\n\nUnset the STRIPE_* variables to use the built-in emulator, or set all of them (see README, "Configuration").`
      : (error as Error).message;
  process.stderr.write(`\nCannot start: ${message}\n`);
  process.exit(1);
}

/**
 * `--reset`, done here under the lock (the lock file stays, so no other stack starts meanwhile).
 * A data folder that is this checkout, a parent of it or the home folder is refused.
 */
async function wipeDataDir(dir: string): Promise<void> {
  const checkout = join(dirname(fileURLToPath(import.meta.url)), '..');
  const fromDir = relative(dir, checkout);
  const holdsCheckout = !fromDir.startsWith('..') && !isAbsolute(fromDir);
  if (holdsCheckout || dir === homedir() || dir === parse(dir).root) {
    throw new Error(`--reset would delete ${dir}, which is not a data folder: set LOCAL_DATA_DIR to one`);
  }
  for (const entry of await readdir(dir)) {
    if (entry !== DATA_DIR_LOCK_FILE) await rm(join(dir, entry), { recursive: true, force: true });
  }
}
