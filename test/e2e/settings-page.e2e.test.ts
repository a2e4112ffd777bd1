import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it, onTestFinished, vi } from 'vitest';
import { type LocalStack, startLocalStack } from '../../scripts/local/local-stack.ts';
import { launchChromium, screenshot } from './chromium.ts';

/**
 * A tenant admin's browser against `npm run dev`'s stack (started in process, on free ports,
 * with the built-in Stripe emulator): the OAuth redirects, cookies and pages as a person meets
 * them. Headless Debian Chromium through playwright-core.
 */
let stack: LocalStack;
let browser: Browser;
let dataDir: string;

beforeAll(async () => {
  // The stack's logs are not the test's output.
  for (const stream of [process.stdout, process.stderr]) {
    vi.spyOn(stream, 'write').mockImplementation(() => true);
  }
  dataDir = await mkdtemp(join(tmpdir(), 'compass-e2e-'));
  [stack, browser] = await Promise.all([
    startLocalStack({ env: {}, port: 0, emulatorPort: 0, inMemory: true, dataDir }),
    launchChromium(),
  ]);
});

afterAll(async () => {
  await browser?.close();
  await stack?.close();
  vi.restoreAllMocks();
  if (dataDir) await rm(dataDir, { recursive: true, force: true });
});

async function newPage(name: string): Promise<{ context: BrowserContext; page: Page }> {
  const context = await browser.newContext();
  context.setDefaultTimeout(15_000);
  const page = await context.newPage();
  // Runs after the test (and its afterEach hooks): screenshots of a failure, then the context goes.
  onTestFinished(async ({ task }) => {
    if (task.result?.state === 'fail') {
      for (const [index, open] of context.pages().entries()) await screenshot(open, `${name}-${index}`);
    }
    await context.close();
  });
  return { context, page };
}

const testId = (page: Page, id: string) => page.locator(`[data-testid="${id}"]`);

/** Waits until the element's text is exactly `text` (the page updates it asynchronously). */
async function waitForText(page: Page, id: string, text: string, timeout = 15_000): Promise<void> {
  await expect.poll(() => testId(page, id).textContent(), { timeout, interval: 100 }).toBe(text);
}

/**
 * The settings page the OAuth callback redirects to, with its outcome query. (The page drops the
 * query from the address once it has read it, so the address bar cannot be waited for.)
 */
async function waitForLanding(page: Page, query: string): Promise<void> {
  const landing = `${stack.url}/settings/integrations${query}`;
  await page.waitForRequest((request) => request.url() === landing && request.isNavigationRequest());
}

async function signIn(page: Page): Promise<void> {
  await page.goto(stack.signInUrl());
  expect(page.url()).toBe(`${stack.url}/settings/integrations`);
  await testId(page, 'connection-state').and(page.locator('[data-state="not_connected"]')).waitFor();
}

describe('the settings page in a browser', () => {
  it('connects, shows the imported history, counts a live event, re-syncs and disconnects', async () => {
    const { context, page } = await newPage('connect-flow');
    const emulator = stack.stripeEmulator;
    if (!emulator) throw new Error('the stack runs without its Stripe emulator');
    const expected = emulator.expected;

    await signIn(page);
    expect(await testId(page, 'banner').isHidden()).toBe(true);

    // Connect → the emulator's consent page → Authorize → back on the settings page.
    await testId(page, 'connect').click();
    await page.waitForURL((url) => url.href.startsWith(`${emulator.url}/oauth/authorize?`));
    const landing = waitForLanding(page, '?connected=stripe');
    await page.locator('#authorize').click();
    await landing;
    // "Stripe is connected" once the status agrees; the outcome then leaves the address bar.
    const banner = testId(page, 'banner');
    await banner.and(page.locator('[data-message="connected"]')).waitFor();
    expect(await banner.textContent()).toContain('Stripe is connected');
    await expect.poll(() => page.url()).toBe(`${stack.url}/settings/integrations`);
    await testId(page, 'connection-state').and(page.locator('[data-state="connected"]')).waitFor();
    expect(await testId(page, 'account-id').textContent()).toBe(emulator.stripe.consentAccount);

    // The backfill runs in the background; the page polls the status until it is done.
    await testId(page, 'backfill-state')
      .and(page.locator('[data-state="succeeded"]'))
      .waitFor({ timeout: 60_000 });
    expect(await testId(page, 'backfill-counters').textContent()).toBe(
      `${expected.customersUpserted} customers, ${expected.subscriptionsCreated} new subscriptions, ${expected.ordersCreated} new orders`,
    );
    expect(await testId(page, 'backfill-error').textContent()).toBe('–');
    await waitForText(page, 'count-customers', String(expected.customersUpserted));
    await waitForText(page, 'count-subscriptions', String(expected.subscriptionsCreated));
    await waitForText(page, 'count-orders', String(expected.ordersCreated));

    // The emulator's page, opened from the settings page, fires signed events at the stack.
    const [dashboard] = await Promise.all([
      context.waitForEvent('page'),
      testId(page, 'emulator-link').click(),
    ]);
    await dashboard.waitForLoadState();
    expect(dashboard.url()).toBe(`${emulator.url}/`);
    expect(await dashboard.locator('#connected').getAttribute('data-connected')).toBe('true');
    for (const type of ['customer.created', 'payment_intent.succeeded']) {
      await testId(dashboard, `fire-${type}`).click();
      await testId(dashboard, 'fire-result').and(dashboard.locator('[data-state="sent"]')).waitFor();
      expect(await testId(dashboard, 'fire-result').textContent()).toMatch(
        new RegExp(`^${type.replace('.', '\\.')} evt_\\w+ → HTTP 200: processed$`),
      );
    }

    await page.bringToFront();
    await testId(page, 'recount').click();
    await waitForText(page, 'count-customers', String(expected.customersUpserted + 1));
    await waitForText(page, 'count-orders', String(expected.ordersCreated + 1));
    await waitForText(page, 'count-subscriptions', String(expected.subscriptionsCreated));

    // Re-sync: a new import runs and finds the same history (plus the live event's customer).
    // The first import's "succeeded" must not count: wait for a run that started later.
    const firstRun = await testId(page, 'backfill-state').getAttribute('data-started-at');
    expect(firstRun).toMatch(/^\d{4}-\d\d-\d\dT/);
    await testId(page, 'resync').click();
    await waitForText(page, 'banner', 'A fresh import from Stripe has started.');
    await testId(page, 'backfill-state')
      .and(page.locator(`[data-state="succeeded"]:not([data-started-at="${firstRun}"])`))
      .waitFor({ timeout: 60_000 });
    const secondRun = await testId(page, 'backfill-state').getAttribute('data-started-at');
    expect(Date.parse(secondRun ?? '')).toBeGreaterThan(Date.parse(firstRun ?? ''));
    await waitForText(page, 'count-customers', String(expected.customersUpserted + 1));
    expect(await testId(page, 'last-event').textContent()).not.toBe('None yet');

    // Before Disconnect is pressed, the page says what will happen to the data.
    expect(await testId(page, 'disconnect-terms').textContent()).toContain('stays 30 days');
    expect(await testId(page, 'erase-now').isChecked()).toBe(false);

    // Disconnect: back to not connected, and Stripe no longer lists Compass on the account.
    await testId(page, 'disconnect').click();
    await testId(page, 'connection-state').and(page.locator('[data-state="not_connected"]')).waitFor();
    expect(await banner.getAttribute('data-message')).toBe('disconnected');
    expect(page.url()).toBe(`${stack.url}/settings/integrations`);
    expect(await testId(page, 'connect').isVisible()).toBe(true);
    expect(await testId(page, 'count-customers').isVisible()).toBe(false);
    expect(emulator.stripe.isConnected(emulator.stripe.consentAccount)).toBe(false);
    // The data is kept, and the page says until when, with a way to erase it now.
    await testId(page, 'data-state').and(page.locator('[data-state="kept"]')).waitFor();
    expect(await testId(page, 'data-state').textContent()).toContain('is kept until');
    await testId(page, 'erase-kept').click();
    await testId(page, 'data-state').and(page.locator('[data-state="erased"]')).waitFor({ timeout: 20_000 });
    await dashboard.reload();
    expect(await dashboard.locator('#connected').getAttribute('data-connected')).toBe('false');
  });

  it('shows the stripe_denied message when the tenant presses Cancel on Stripe', async () => {
    const { page } = await newPage('cancel-flow');
    await signIn(page);
    await testId(page, 'connect').click();
    const landing = waitForLanding(page, '?error=stripe_denied');
    await page.locator('#cancel').click();
    await landing;
    const banner = testId(page, 'banner');
    await banner.waitFor();
    await expect.poll(() => page.url()).toBe(`${stack.url}/settings/integrations`);
    expect(await banner.getAttribute('data-message')).toBe('stripe_denied');
    expect(await banner.textContent()).toBe(
      'The connection was cancelled in Stripe, so nothing was connected. Press Connect Stripe to try again.',
    );
    await testId(page, 'connection-state').and(page.locator('[data-state="not_connected"]')).waitFor();
  });

  it('never writes the query string into the page', async () => {
    const { page } = await newPage('hostile-query');
    await signIn(page);
    const hostile = '<img src=x onerror="window.__pwned=1">';
    await page.goto(`${stack.url}/settings/integrations?error=${encodeURIComponent(hostile)}`);
    const banner = testId(page, 'banner');
    await banner.waitFor();
    expect(await banner.getAttribute('data-message')).toBe('unknown');
    expect(await banner.textContent()).toBe('Connecting Stripe did not work. Please try again.');
    expect(await page.content()).not.toContain('onerror="window.__pwned');
    expect(await page.evaluate('typeof window.__pwned')).toBe('undefined');
  });
});
