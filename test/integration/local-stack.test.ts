import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it, vi } from 'vitest';
import { type LocalStack, startLocalStack } from '../../scripts/local/local-stack.ts';
import { FakeStripe } from '../../scripts/stripe-emulator/fake-stripe-server.ts';
import { current, stripeEvent } from '../../scripts/stripe-emulator/stripe-objects.ts';
import { CookieBrowser as Browser } from '../support/cookie-browser.ts';
import { sign } from '../support/webhook-helpers.ts';

/**
 * Drives `npm run dev`'s stack over real HTTP, the way a browser and Stripe meet it, with every
 * line the process writes captured.
 */
let stripe: FakeStripe;
let stack: LocalStack;
let output: string[];
let dataDir: string;

beforeAll(async () => {
  const { mkdtemp } = await import('node:fs/promises');
  const { tmpdir } = await import('node:os');
  const { join } = await import('node:path');
  dataDir = await mkdtemp(join(tmpdir(), 'compass-local-'));
});

beforeEach(async () => {
  output = [];
  for (const stream of [process.stdout, process.stderr]) {
    vi.spyOn(stream, 'write').mockImplementation((chunk: string | Uint8Array) => {
      output.push(typeof chunk === 'string' ? chunk : Buffer.from(chunk).toString('utf8'));
      return true;
    });
  }
  stripe = new FakeStripe();
  const stripeUrl = await stripe.start();
  stack = await startLocalStack({
    env: {
      STRIPE_CONNECT_CLIENT_ID: stripe.clientId,
      STRIPE_SECRET_KEY: stripe.secretKey,
      STRIPE_API_BASE_URL: stripeUrl,
      STRIPE_CONNECT_BASE_URL: stripeUrl,
    },
    port: 0,
    inMemory: true,
    dataDir,
    reset: true,
  });
});

afterEach(async () => {
  await stack.close();
  await stripe.stop();
  vi.restoreAllMocks();
});

afterAll(async () => {
  const { rm } = await import('node:fs/promises');
  await rm(dataDir, { recursive: true, force: true });
});

describe('npm run dev stack', () => {
  it('takes a browser through sign-in → connect → status → webhook secret → disconnect, leaking nothing to the logs', async () => {
    const browser = new Browser();
    await browser.follow(stack.signInUrl({ tenantId: 'clinic_1', tenantSlug: 'clinic-one' }));

    const visited = await browser.follow(`${stack.url}/api/connect/stripe`);
    expect(visited.at(-1)).toBe(`${stack.url}/settings/integrations?connected=stripe`);
    const page = await browser.get(visited.at(-1) ?? '');
    expect(page.status).toBe(200);
    expect(await page.text()).toContain('Connect Stripe');

    const status = await (await browser.get(`${stack.url}/api/connect/stripe/status`)).json();
    expect(status).toMatchObject({
      connected: true,
      stripeAccountId: stripe.consentAccount,
      livemode: false,
    });

    const secret = `whsec_${'k'.repeat(40)}`;
    const put = await browser.get(`${stack.url}/api/connect/stripe/webhook-secret`, {
      method: 'PUT',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ secret }),
    });
    expect(put.status).toBe(204);
    expect(await (await browser.get(`${stack.url}/api/connect/stripe/status`)).json()).toMatchObject({
      webhookSecretConfigured: true,
    });

    // Stripe posts a signed event to the tenant's endpoint; the dashboards read it right after.
    const event = JSON.stringify(stripeEvent('customer.created', current.customer({ id: 'cus_LocalStack' })));
    const posted = await fetch(`${stack.url}/api/webhooks/stripe/clinic-one`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'stripe-signature': sign(event, secret) },
      body: event,
    });
    expect(await posted.json()).toEqual({ received: true, outcome: 'processed' });
    const customers = await (await browser.get(`${stack.url}/api/stripe/customers`)).json();
    expect(customers).toEqual({
      data: [{ id: 'cus_LocalStack', created: expect.any(String), deleted: false }],
      nextCursor: null,
    });
    // The metrics route is its own, not a collection called `metrics` (the most specific path wins).
    const metrics = await browser.get(`${stack.url}/api/stripe/metrics`);
    expect(metrics.status).toBe(200);
    expect(await metrics.json()).toMatchObject({ currency: null, months: expect.any(Array) });
    const history = await browser.get(`${stack.url}/api/stripe/subscriptions/sub_Nope/history`);
    expect(history.status).toBe(404);

    const deleted = await browser.get(`${stack.url}/api/connect/stripe`, { method: 'DELETE' });
    expect(await deleted.json()).toMatchObject({
      disconnected: true,
      revocation: 'revoked',
      data: { state: 'kept', eraseAfter: expect.any(String) },
    });
    expect(stripe.isConnected(stripe.consentAccount)).toBe(false);
    expect(await (await browser.get(`${stack.url}/api/connect/stripe/status`)).json()).toMatchObject({
      connected: false,
    });

    const logs = output.join('');
    expect(logs).toContain('stripe_connected');
    expect(logs).toContain('stripe_disconnected');
    const secrets = [...stripe.issuedSecrets(), stripe.secretKey, secret];
    const tokenResponse = stripe.requestsTo('/oauth/token')[0];
    expect(tokenResponse?.params.code).toBeTruthy();
    secrets.push(tokenResponse?.params.code ?? '');
    expect(secrets.length).toBeGreaterThanOrEqual(4);
    for (const value of secrets) expect(logs).not.toContain(value);
    expect(logs).not.toMatch(/rt_[0-9a-f]{20,}/);
    expect(logs).not.toMatch(/sk_test_[0-9a-f]{20,}/);
  });

  it('lands on stripe_denied when the tenant presses Cancel on Stripe', async () => {
    stripe.consent = 'deny';
    const browser = new Browser();
    await browser.follow(stack.signInUrl());
    const visited = await browser.follow(`${stack.url}/api/connect/stripe`);
    expect(visited.at(-1)).toBe(`${stack.url}/settings/integrations?error=stripe_denied`);
  });

  it('answers unknown routes and unsigned requests with JSON errors', async () => {
    const unknown = await fetch(`${stack.url}/api/nope`);
    expect(unknown.status).toBe(404);
    expect(await unknown.json()).toEqual({ error: 'not_found', message: 'No such route' });
    const unsigned = await fetch(`${stack.url}/api/connect/stripe/status`);
    expect(unsigned.status).toBe(401);
    expect(await unsigned.json()).toMatchObject({ error: 'unauthorized' });
  });

  it('refuses to start on a port already in use, saying which', async () => {
    const port = Number(new URL(stack.url).port);
    await expect(
      startLocalStack({
        env: { STRIPE_CONNECT_CLIENT_ID: stripe.clientId, STRIPE_SECRET_KEY: stripe.secretKey },
        port,
        inMemory: true,
        dataDir,
      }),
    ).rejects.toThrow(`Port ${port} is already in use`);
  });
});

describe('npm run dev with no Stripe configured', () => {
  it('refuses to start when the emulator port is in use, naming STRIPE_EMULATOR_PORT', async () => {
    const { createServer } = await import('node:net');
    const blocker = createServer();
    await new Promise<void>((resolve) => blocker.listen(0, '127.0.0.1', resolve));
    const taken = (blocker.address() as import('node:net').AddressInfo).port;
    try {
      await expect(
        startLocalStack({ env: {}, port: 0, emulatorPort: taken, inMemory: true, dataDir }),
      ).rejects.toThrow(
        'The Stripe emulator port is already in use (another npm run dev or npm run stripe:fake?): stop what uses it or set STRIPE_EMULATOR_PORT',
      );
    } finally {
      await new Promise((resolve) => blocker.close(resolve));
    }
  });

  it('stops the emulator it started when the API port is in use', async () => {
    const port = Number(new URL(stack.url).port);
    const { createServer } = await import('node:net');
    const probe = createServer();
    await new Promise<void>((resolve) => probe.listen(0, '127.0.0.1', resolve));
    const emulatorPort = (probe.address() as import('node:net').AddressInfo).port;
    await new Promise((resolve) => probe.close(resolve));
    await expect(startLocalStack({ env: {}, port, emulatorPort, inMemory: true, dataDir })).rejects.toThrow(
      `Port ${port} is already in use: stop what uses it or set PORT to another port`,
    );
    // The emulator's port is free again: nothing was left listening.
    const again = createServer();
    await new Promise<void>((resolve, reject) => {
      again.once('error', reject);
      again.listen(emulatorPort, '127.0.0.1', resolve);
    });
    await new Promise((resolve) => again.close(resolve));
  });

  it('starts the built-in emulator: its consent page has Authorize and Cancel, and a connect fills the records', async () => {
    const dir = await (await import('node:fs/promises')).mkdtemp(join(tmpdir(), 'compass-emulator-'));
    const local = await startLocalStack({ env: {}, port: 0, emulatorPort: 0, inMemory: true, dataDir: dir });
    try {
      expect(local.stripeEmulator).toBeDefined();
      const browser = new Browser();
      await browser.follow(local.signInUrl());
      const start = await browser.get(`${local.url}/api/connect/stripe`);
      const consentUrl = start.headers.get('location') ?? '';
      expect(consentUrl.startsWith(local.stripeEmulator?.url ?? 'x')).toBe(true);
      const page = await (await browser.get(consentUrl)).text();
      expect(page).toContain('id="authorize"');
      expect(page).toContain('id="cancel"');
      const authorize = /id="authorize" href="([^"]+)"/.exec(page)?.[1]?.replaceAll('&#38;', '&') ?? '';
      const visited = await browser.follow(new URL(authorize, consentUrl).toString());
      expect(visited.at(-1)).toBe(`${local.url}/settings/integrations?connected=stripe`);
      // The backfill runs in the background; poll the public status route like the settings page does.
      let status: { backfill: { status: string; result: unknown } } | undefined;
      // Bounded at 30 s: a wait for background work, not a claim about its speed.
      for (let i = 0; i < 300 && status?.backfill.status !== 'succeeded'; i++) {
        await new Promise((r) => setTimeout(r, 100));
        status = (await (
          await browser.get(`${local.url}/api/connect/stripe/status`)
        ).json()) as typeof status;
      }
      expect(status?.backfill).toMatchObject({ status: 'succeeded', result: local.stripeEmulator?.expected });
    } finally {
      await local.close();
      await (await import('node:fs/promises')).rm(dir, { recursive: true, force: true });
    }
  }, 60_000);
});
