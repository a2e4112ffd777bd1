import { spawn } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type LocalStack, startLocalStack } from '../../scripts/local/local-stack.ts';
import { FakeStripe } from '../fake-stripe/fake-stripe-server.ts';
import { seedClinic } from '../fake-stripe/seed-clinic.ts';

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

function cli(...args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return cliWith({}, ...args);
}

function cliWith(
  hooks: { onStderr?: (text: string, child: ReturnType<typeof spawn>) => void },
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
