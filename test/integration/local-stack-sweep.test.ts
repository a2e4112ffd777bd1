import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { type LocalStack, reconcileInterval, startLocalStack } from '../../scripts/local/local-stack.ts';
import { CookieBrowser, connectThroughEmulator, waitForBackfill } from '../support/cookie-browser.ts';

/**
 * `npm run dev` sweeps every connected account's Events API every RECONCILE_INTERVAL_S seconds,
 * as the deployed schedule does every 15 minutes: an event Stripe never delivered still lands.
 */
let stack: LocalStack;
let dataDir: string;
const browser = new CookieBrowser();

beforeAll(async () => {
  for (const stream of [process.stdout, process.stderr]) {
    vi.spyOn(stream, 'write').mockImplementation(() => true);
  }
  dataDir = await mkdtemp(join(tmpdir(), 'compass-local-sweep-'));
  stack = await startLocalStack({
    env: { RECONCILE_INTERVAL_S: '1' },
    port: 0,
    emulatorPort: 0,
    inMemory: true,
    dataDir,
  });
}, 30_000);

afterAll(async () => {
  await stack?.close();
  vi.restoreAllMocks();
  await rm(dataDir, { recursive: true, force: true });
});

async function customerCount(): Promise<number> {
  let count = 0;
  let cursor: string | null = null;
  do {
    const page: { data: unknown[]; nextCursor: string | null } = await browser.json(
      `${stack.url}/api/stripe/customers?limit=100${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ''}`,
    );
    count += page.data.length;
    cursor = page.nextCursor;
  } while (cursor);
  return count;
}

describe('the local stack sweeps on its own', () => {
  it('applies an event recorded at the emulator but never delivered, within the interval', async () => {
    expect(await connectThroughEmulator(browser, stack)).toMatch(/connected=stripe$/);
    await waitForBackfill(browser, stack.url);
    const before = await customerCount();
    const fired = await fetch(`${stack.stripeEmulator?.url}/_emulator/events`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ type: 'customer.created', deliver: false }),
    });
    expect(fired.status).toBe(200);
    const deadline = Date.now() + 15_000;
    while ((await customerCount()) === before) {
      if (Date.now() > deadline) throw new Error('the sweep did not apply the event');
      await new Promise((resolve) => setTimeout(resolve, 200));
    }
    expect(await customerCount()).toBe(before + 1);
    const status = await browser.json<{ reconcile: { lastRunAt: string | null } }>(
      `${stack.url}/api/connect/stripe/status`,
    );
    expect(status.reconcile.lastRunAt).toEqual(expect.any(String));
  }, 40_000);

  it('RECONCILE_INTERVAL_S defaults to 60, accepts 0 (off), and names itself when malformed', () => {
    expect(reconcileInterval(undefined)).toBe(60);
    expect(reconcileInterval('0')).toBe(0);
    expect(() => reconcileInterval('soon')).toThrow(/RECONCILE_INTERVAL_S/);
    expect(() => reconcileInterval('-5')).toThrow(/RECONCILE_INTERVAL_S/);
  });
});
