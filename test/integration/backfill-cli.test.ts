import { spawn } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runBackfillCli } from '../../scripts/local/backfill-cli.ts';
import { type LocalStack, startLocalStack } from '../../scripts/local/local-stack.ts';
import { FakeStripe } from '../../scripts/stripe-emulator/fake-stripe-server.ts';
import { seedClinic } from '../../scripts/stripe-emulator/seed-clinic.ts';

/** `npm run backfill` as a user runs it: a child process, next to a running `npm run dev`. */
let stripe: FakeStripe;
let stack: LocalStack;
let dataDir: string;
let expected: ReturnType<typeof seedClinic>['expected'];

beforeAll(async () => {
  dataDir = await mkdtemp(join(tmpdir(), 'compass-cli-'));
  stripe = new FakeStripe();
  const url = await stripe.start();
  stack = await startLocalStack({
    env: {
      STRIPE_CONNECT_CLIENT_ID: stripe.clientId,
      STRIPE_SECRET_KEY: stripe.secretKey,
      STRIPE_API_BASE_URL: url,
    },
    port: 0,
    dataDir,
  });
  const now = Math.floor(Date.now() / 1000);
  const clinic = seedClinic({
    accountId: 'acct_1Cli',
    now,
    days: 180,
    customers: 20,
    subscriptions: 30,
    invoices: 120,
    oneTimePayments: 10,
  });
  expected = clinic.expected;
  stripe.connectAccount('acct_1Cli');
  stripe.seed('acct_1Cli', clinic.objects);
  await stack.deps.integrations.claimAccount('acct_1Cli', 'cli_tenant', new Date());
  await stack.deps.integrations.save({
    tenantId: 'cli_tenant',
    tenantSlug: 'cli-tenant',
    stripeAccountId: 'acct_1Cli',
    livemode: false,
    scope: 'read_write',
    connectedAt: new Date().toISOString(),
    status: 'connected',
    webhookSecretConfigured: false,
  });
}, 60_000);

afterAll(async () => {
  await stack.close();
  await stripe.stop();
  await rm(dataDir, { recursive: true, force: true });
});

const USAGE = 'usage: npm run backfill -- <tenantId> [--days 90] [--enqueue]';

/** The CLI's code in this process (the stack above is this process's), with no STRIPE_* set. */
async function inProcess(...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  let stdout = '';
  let stderr = '';
  const code = await runBackfillCli(args, {
    env: { LOCAL_DATA_DIR: dataDir },
    stdout: (text) => {
      stdout += text;
    },
    stderr: (text) => {
      stderr += text;
    },
  });
  return { code, stdout, stderr };
}

function cli(...args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return cliWith({}, ...args);
}

function cliWith(
  hooks: {
    onStderr?: (text: string, child: ReturnType<typeof spawn>) => void;
    env?: Record<string, string>;
  },
  ...args: string[]
): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, ['--import', 'tsx', 'scripts/backfill.ts', ...args], {
      env: {
        ...process.env,
        LOCAL_DATA_DIR: dataDir,
        STRIPE_CONNECT_CLIENT_ID: stripe.clientId,
        STRIPE_SECRET_KEY: stripe.secretKey,
        STRIPE_API_BASE_URL: stripe.url,
        POWERTOOLS_LOG_LEVEL: 'SILENT',
        ...hooks.env,
      },
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk) => {
      stdout += chunk;
    });
    child.stderr.on('data', (chunk) => {
      stderr += chunk;
      hooks.onStderr?.(stderr, child);
    });
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}

describe('npm run backfill', () => {
  it('imports a tenant against the running dev stack, with progress on stderr and the result on stdout; a second run creates nothing', async () => {
    const first = await cli('cli_tenant', '--days', '90');
    expect(first.code).toBe(0);
    expect(first.stderr).toMatch(/backfill \[.*\] .*requests/);
    const result = JSON.parse(first.stdout);
    expect(result).toMatchObject({
      tenantId: 'cli_tenant',
      outcome: 'succeeded',
      result: {
        customersUpserted: expected.customersUpserted,
        subscriptionsCreated: expected.subscriptionsCreated,
        ordersCreated: expected.ordersCreated,
      },
    });
    const again = await cli('cli_tenant');
    expect(again.code).toBe(0);
    expect(JSON.parse(again.stdout)).toMatchObject({
      outcome: 'succeeded',
      result: { subscriptionsCreated: 0, ordersCreated: 0 },
    });
  }, 60_000);

  it('exits 1 with an honest result when the backfill fails, and 2 on bad usage', async () => {
    const notConnected = await cli('nobody_here');
    expect(notConnected.code).toBe(1);
    expect(JSON.parse(notConnected.stdout)).toMatchObject({
      outcome: 'failed',
      error: 'Stripe is not connected',
    });
    const usage = await cli();
    expect(usage.code).toBe(2);
    expect(usage.stderr).toContain('usage: npm run backfill');
    const badDays = await cli('cli_tenant', '--days', 'many');
    expect(badDays.code).toBe(2);
    expect(badDays.stderr).toContain('--days must be a whole number from 1 to 365 (got "many")');
  }, 60_000);

  it('answers --help on stdout (exit 0) and a bad flag or value with its usage on stderr (exit 2)', async () => {
    const help = await cli('--help');
    expect(help.code).toBe(0);
    expect(help.stdout).toMatch(/^usage: npm run backfill -- <tenantId> \[--days 90\] \[--enqueue\]\n/);
    expect(help.stdout).toContain('Exit status: 0 succeeded; 1 the backfill');
    expect(help.stderr).toBe('');
    const badFlag = await cli('cli_tenant', '--nope');
    expect(badFlag.code).toBe(2);
    expect(badFlag.stderr).toBe(`unknown option --nope\n${USAGE}\n(--help for more)\n`);

    expect((await inProcess('-h')).code).toBe(0);
    for (const [args, message] of [
      [['cli_tenant', '--days'], '--days needs a value'],
      [['cli_tenant', '--days', '0'], '--days must be a whole number from 1 to 365 (got "0")'],
      [['cli_tenant', '--enqueue=yes'], '--enqueue takes no value'],
      [['cli_tenant', 'other_tenant'], 'unexpected argument "other_tenant"'],
      [['not a tenant'], '"not a tenant" is not a tenant id'],
    ] as const) {
      const run = await inProcess(...args);
      expect(run.code, args.join(' ')).toBe(2);
      expect(run.stdout).toBe('');
      expect(run.stderr).toBe(`${message}\n${USAGE}\n(--help for more)\n`);
    }
  }, 60_000);

  it('says what to set when npm run dev uses real Stripe and this terminal has no STRIPE_* variables', async () => {
    const before = await stack.deps.backfillStatus.get('cli_tenant');
    const run = await inProcess('cli_tenant');
    expect(run.code).toBe(2);
    expect(run.stderr).toContain(
      `npm run dev (process ${process.pid}, ${stack.url}) uses real Stripe, not its emulator: run this with the same STRIPE_CONNECT_CLIENT_ID and STRIPE_SECRET_KEY (and STRIPE_API_BASE_URL) it runs with`,
    );
    expect(await stack.deps.backfillStatus.get('cli_tenant')).toEqual(before);
  });

  it('says so when Stripe refuses the platform key (401), exits 2, and leaves the import status as it was', async () => {
    const before = await stack.deps.backfillStatus.get('cli_tenant');
    const listsBefore = stripe.requests.filter((r) => r.path !== '/v1/account').length;
    const run = await cliWith({ env: { STRIPE_SECRET_KEY: 'sk_test_guessedguessedguessed' } }, 'cli_tenant');
    expect(run.code).toBe(2);
    expect(run.stderr).toContain(
      `Stripe at ${new URL(stripe.url).origin} refused the platform key (401): check STRIPE_SECRET_KEY (and STRIPE_API_BASE_URL): use the ones npm run dev runs with. Nothing was changed.`,
    );
    expect(run.stderr).not.toContain('guessed');
    expect(run.stdout).toBe('');
    expect(await stack.deps.backfillStatus.get('cli_tenant')).toEqual(before);
    // It asked once, as the platform, and read nothing of the account.
    expect(stripe.requests.filter((r) => r.path !== '/v1/account').length).toBe(listsBefore);
  }, 60_000);

  it('marks the run failed when interrupted with Ctrl-C, so it does not stay running', async () => {
    stripe.latencyMs = 150;
    let interrupted = false;
    const run = await cliWith(
      {
        onStderr: (text, child) => {
          if (!interrupted && /backfill \[/.test(text)) {
            interrupted = true;
            child.kill('SIGINT');
          }
        },
      },
      'cli_tenant',
    );
    stripe.latencyMs = 0;
    expect(run.code).toBe(130);
    expect(await stack.deps.backfillStatus.get('cli_tenant')).toMatchObject({
      status: 'failed',
      error: 'Interrupted by the operator',
    });
  }, 60_000);
});
