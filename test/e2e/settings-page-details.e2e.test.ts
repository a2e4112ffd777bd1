import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { afterAll, afterEach, beforeAll, describe, expect, it, onTestFinished, vi } from 'vitest';
import { type LocalStack, startLocalStack } from '../../scripts/local/local-stack.ts';
import type { StripeEmulator } from '../../scripts/local/stripe-emulator.ts';
import { launchChromium, screenshot } from './chromium.ts';

/**
 * Regression tests for details of the settings page that a review found broken: deleted
 * customers counted, a stale "Stripe is connected" after a reload, live events not shown until a
 * reload, and polling that stopped for good after one failed status request. Headless Debian
 * Chromium through playwright-core, one fresh stack per test (each changes the demo account).
 * Run with the other browser tests: `npm run test:e2e`.
 */
let browser: Browser;
const cleanups: (() => Promise<unknown>)[] = [];

beforeAll(async () => {
  browser = await launchChromium();
});
afterAll(async () => {
  await browser?.close();
});
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup().catch(() => undefined);
  vi.restoreAllMocks();
});

async function freshStack(
  name: string,
  options: { fakeClock?: boolean } = {},
): Promise<{ stack: LocalStack; emulator: StripeEmulator; page: Page }> {
  // The stack's logs are not the test's output.
  for (const stream of [process.stdout, process.stderr]) {
    vi.spyOn(stream, 'write').mockImplementation(() => true);
  }
  const dataDir = await mkdtemp(join(tmpdir(), 'compass-e2e-details-'));
  cleanups.push(() => rm(dataDir, { recursive: true, force: true }));
  const stack = await startLocalStack({ env: {}, port: 0, emulatorPort: 0, inMemory: true, dataDir });
  cleanups.push(() => stack.close());
  const emulator = stack.stripeEmulator;
  if (!emulator) throw new Error('the stack runs without its Stripe emulator');
  const context = await browser.newContext();
  context.setDefaultTimeout(15_000);
  cleanups.push(() => context.close());
  const page = await context.newPage();
  // Runs before the afterEach cleanups: a failure leaves a screenshot in e2e-artifacts/.
  onTestFinished(async ({ task }) => {
    if (task.result?.state === 'fail') await screenshot(page, `details-${name}`);
  });
  // The page's timers follow a clock the test can pause (it ticks normally until then).
  if (options.fakeClock) await page.clock.install();
  return { stack, emulator, page };
}

const testId = (page: Page, id: string) => page.locator(`[data-testid="${id}"]`);
const isStatusRequest = (url: string) => new URL(url).pathname === '/api/connect/stripe/status';

/** Sign in, Connect, Authorize, then wait for the import and the counts. */
async function connectAndImport(stack: LocalStack, emulator: StripeEmulator, page: Page): Promise<void> {
  await page.goto(stack.signInUrl());
  await testId(page, 'connect').click();
  await page.locator('#authorize').click();
  await testId(page, 'banner').and(page.locator('[data-message="connected"]')).waitFor();
  await testId(page, 'backfill-state')
    .and(page.locator('[data-state="succeeded"]'))
    .waitFor({ timeout: 60_000 });
  await expect
    .poll(() => testId(page, 'count-customers').textContent(), { timeout: 15_000 })
    .toBe(String(emulator.expected.customersUpserted));
}

/** Presses Refresh counts and waits for a count that began after the press (see data-count-*). */
async function recount(page: Page): Promise<Record<string, string | null>> {
  const records = testId(page, 'records');
  const started = Number(await records.getAttribute('data-count-started'));
  await testId(page, 'recount').click();
  await expect
    .poll(async () => Number(await records.getAttribute('data-count-done')), {
      timeout: 15_000,
      interval: 100,
    })
    .toBeGreaterThan(started);
  return {
    customers: await testId(page, 'count-customers').textContent(),
    subscriptions: await testId(page, 'count-subscriptions').textContent(),
    orders: await testId(page, 'count-orders').textContent(),
  };
}

describe('the settings page in a browser: details', () => {
  it('does not count a deleted customer under "Customers"', async () => {
    const { stack, emulator, page } = await freshStack('deleted-customer');
    await connectAndImport(stack, emulator, page);
    const before = emulator.expected.customersUpserted;
    await emulator.fire('customer.created'); // a new patient...
    // ...deleted again (the newest one without a subscription): the read API keeps the row,
    // with deleted: true.
    const deleted = await emulator.fire('customer.deleted');
    expect(deleted.deliveries[0]?.status).toBe(200);
    expect((await recount(page)).customers).toBe(String(before));
  }, 90_000);

  it('drops ?connected=stripe from the address, and never says "Stripe is connected" once Stripe revoked access', async () => {
    const { stack, emulator, page } = await freshStack('stale-connected');
    await connectAndImport(stack, emulator, page);
    // Shown once, then dropped: a reload cannot repeat it.
    expect(page.url()).toBe(`${stack.url}/settings/integrations`);
    const fired = await emulator.fire('account.application.deauthorized');
    expect(fired.deliveries[0]?.status).toBe(200);
    await page.reload();
    await testId(page, 'connection-state').and(page.locator('[data-state="not_connected"]')).waitFor();
    const banner = testId(page, 'banner');
    expect(await banner.getAttribute('data-message')).not.toBe('connected');
    expect(await banner.textContent()).not.toContain('Stripe is connected');
    // Even the old landing address itself (a bookmark, the back button) does not claim it.
    await page.goto(`${stack.url}/settings/integrations?connected=stripe`);
    await testId(page, 'connection-state').and(page.locator('[data-state="not_connected"]')).waitFor();
    expect(await banner.isHidden()).toBe(true);
    expect(await banner.getAttribute('data-message')).not.toBe('connected');
    expect(page.url()).toBe(`${stack.url}/settings/integrations`);
  }, 90_000);

  it('shows a live event without a reload (status polled while connected), and Refresh counts reads the status too', async () => {
    const { stack, emulator, page } = await freshStack('live-event', { fakeClock: true });
    await connectAndImport(stack, emulator, page);
    const customers = emulator.expected.customersUpserted;
    expect(await testId(page, 'last-event').textContent()).toBe('None yet');

    // What `npm run dev:events -- customer.created` asks the emulator to do; nobody clicks.
    const fired = await emulator.fire('customer.created');
    expect(fired.deliveries[0]?.status).toBe(200);
    await expect
      .poll(() => testId(page, 'last-event').textContent(), { timeout: 15_000, interval: 200 })
      .not.toBe('None yet');
    await expect
      .poll(() => testId(page, 'count-customers').textContent(), { timeout: 15_000, interval: 200 })
      .toBe(String(customers + 1));

    // With the page's timers stopped, no poll runs: only the button reads the status now.
    await page.clock.pauseAt((await page.evaluate(() => Date.now())) + 1_000);
    await page.waitForTimeout(500); // whatever the jump fired is done
    expect((await emulator.fire('customer.created')).deliveries[0]?.status).toBe(200);
    const status = page.waitForRequest((request) => isStatusRequest(request.url()), { timeout: 5_000 });
    const counts = await recount(page);
    await status;
    expect(counts.customers).toBe(String(customers + 2));
  }, 90_000);

  it('keeps following the import after a failed status request, and says so when Re-sync or Save cannot reach Compass', async () => {
    const { stack, emulator, page } = await freshStack('status-503');
    emulator.stripe.latencyMs = 150; // an import of a few seconds
    await page.goto(stack.signInUrl());
    await testId(page, 'connect').click();
    await page.locator('#authorize').click();
    await testId(page, 'backfill-state')
      .and(page.locator('[data-state="running"], [data-state="queued"]'))
      .waitFor();
    // One status request answered 503 (a Lambda throttled, DynamoDB busy); the next ones are fine.
    let failed = 0;
    await page.route(
      (url) => isStatusRequest(url.href),
      (route) =>
        failed++ === 0
          ? route.fulfill({
              status: 503,
              contentType: 'application/json',
              body: '{"error":"temporarily_unavailable"}',
            })
          : route.continue(),
    );
    await expect.poll(() => failed, { timeout: 5_000 }).toBeGreaterThan(0);
    // The page keeps polling until the import is done: "Finished", Re-sync enabled again.
    await testId(page, 'backfill-state')
      .and(page.locator('[data-state="succeeded"]'))
      .waitFor({ timeout: 60_000 });
    expect(failed).toBeGreaterThan(1);
    expect(await testId(page, 'resync').isDisabled()).toBe(false);
    expect(await testId(page, 'connection-state').getAttribute('data-state')).toBe('connected');

    // Compass out of reach (the network fails) while pressing Re-sync, then Save.
    const banner = testId(page, 'banner');
    await page.route('**/api/connect/stripe/backfill', (route) => route.abort('connectionrefused'));
    await testId(page, 'resync').click();
    await banner.and(page.locator('[data-message="resync_unreachable"]')).waitFor();
    expect(await banner.textContent()).toBe(
      'Compass cannot be reached, so no import was started. Press Re-sync again in a moment.',
    );
    expect(await testId(page, 'resync').isDisabled()).toBe(false);

    await page.route('**/api/connect/stripe/webhook-secret', (route) => route.abort('connectionrefused'));
    await page.locator('#secret').fill('whsec_e2e_unreachable');
    await testId(page, 'save-secret').click();
    await banner.and(page.locator('[data-message="secret_unreachable"]')).waitFor();
    expect(await banner.textContent()).toBe(
      'Compass cannot be reached, so the secret was not saved. Press Save again in a moment.',
    );
    expect(await page.locator('#secret').inputValue()).toBe('whsec_e2e_unreachable');
    expect(await testId(page, 'save-secret').isDisabled()).toBe(false);
  }, 120_000);
});
