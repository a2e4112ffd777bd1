import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { EMULATOR_EVENT_TYPES } from '../../scripts/local/emulator-events.ts';
import { type LocalStack, startLocalStack } from '../../scripts/local/local-stack.ts';
import type { FireResult } from '../../scripts/local/stripe-emulator.ts';
import { PHI } from '../../scripts/stripe-emulator/stripe-objects.ts';
import { CookieBrowser, connectThroughEmulator, waitForBackfill } from '../support/cookie-browser.ts';

/**
 * The emulator's event trigger (the page's buttons and `npm run dev:events` both post to it):
 * every type is delivered signed to the Connect endpoint, processed, and changes the records
 * the way the dashboards expect; the emulator's own data changes with it.
 */
let stack: LocalStack;
let dataDir: string;
let output: string[];
const browser = new CookieBrowser();

type Page = { data: Record<string, unknown>[]; nextCursor: string | null };

async function all(collection: string): Promise<Record<string, unknown>[]> {
  const records: Record<string, unknown>[] = [];
  let cursor: string | null = null;
  do {
    const query: string = `limit=100${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ''}`;
    const page: Page = await browser.json<Page>(`${stack.url}/api/stripe/${collection}?${query}`);
    records.push(...page.data);
    cursor = page.nextCursor;
  } while (cursor);
  return records;
}

async function fire(type: string): Promise<{ status: number; body: FireResult & { error?: string } }> {
  const response = await fetch(`${stack.stripeEmulator?.url}/_emulator/events`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ type }),
  });
  return { status: response.status, body: (await response.json()) as FireResult & { error?: string } };
}

function outcomes(result: FireResult): unknown[] {
  return result.deliveries.map((d) => [d.type, d.status, (d.response as { outcome?: string }).outcome]);
}

beforeAll(async () => {
  output = [];
  for (const stream of [process.stdout, process.stderr]) {
    vi.spyOn(stream, 'write').mockImplementation((chunk: string | Uint8Array) => {
      output.push(typeof chunk === 'string' ? chunk : Buffer.from(chunk).toString('utf8'));
      return true;
    });
  }
  dataDir = await mkdtemp(join(tmpdir(), 'compass-emulator-events-'));
  stack = await startLocalStack({ env: {}, port: 0, emulatorPort: 0, inMemory: true, dataDir });
}, 30_000);

afterAll(async () => {
  await stack?.close();
  vi.restoreAllMocks();
  await rm(dataDir, { recursive: true, force: true });
});

describe('the Stripe emulator fires signed events at the local Connect endpoint', () => {
  it('refuses while the demo account is not connected, and names unknown types', async () => {
    const early = await fire('customer.created');
    expect(early.status).toBe(409);
    expect(early.body.error).toBe('account_not_connected');

    const unknown = await fire('customer.exploded');
    expect(unknown.status).toBe(400);
    expect(unknown.body).toMatchObject({
      error: 'unknown_event_type',
      types: EMULATOR_EVENT_TYPES.map((e) => e.type),
    });

    const form = await fetch(`${stack.stripeEmulator?.url}/_emulator/events`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: 'type=customer.created',
    });
    expect(form.status).toBe(415);
  });

  it('delivers every event type, processed, with the records changed accordingly', async () => {
    expect(await connectThroughEmulator(browser, stack)).toBe(
      `${stack.url}/settings/integrations?connected=stripe`,
    );
    expect(await waitForBackfill(browser, stack.url)).toMatchObject({
      status: 'succeeded',
      result: stack.stripeEmulator?.expected,
    });
    const emulatorData = stack.stripeEmulator?.stripe.accountData(stack.stripeEmulator.stripe.consentAccount);
    const before = {
      customers: (await all('customers')).length,
      subscriptions: (await all('subscriptions')).length,
      orders: (await all('orders')).length,
    };

    const created = await fire('customer.created');
    expect(created.status).toBe(200);
    expect(outcomes(created.body)).toEqual([['customer.created', 200, 'processed']]);
    expect((await all('customers')).length).toBe(before.customers + 1);
    const newCustomerId = (await all('customers'))[0]?.id as string;
    expect(emulatorData?.customers.has(newCustomerId)).toBe(true);

    expect(outcomes((await fire('customer.updated')).body)).toEqual([['customer.updated', 200, 'processed']]);

    const subscribed = await fire('customer.subscription.created');
    expect(outcomes(subscribed.body)).toEqual([['customer.subscription.created', 200, 'processed']]);
    const subscriptions = await all('subscriptions');
    expect(subscriptions.length).toBe(before.subscriptions + 1);
    const newest = subscriptions[0] as { id: string; status: string; customerId: string; mrr: number };
    expect(newest).toMatchObject({ status: 'active', customerId: newCustomerId });
    expect(newest.mrr).toBeGreaterThan(0);

    const paid = await fire('invoice.paid');
    expect(outcomes(paid.body)).toEqual([
      ['invoice_payment.paid', 200, 'processed'],
      ['invoice.paid', 200, 'processed'],
    ]);
    const failed = await fire('invoice.payment_failed');
    expect(outcomes(failed.body)).toEqual([['invoice.payment_failed', 200, 'processed']]);
    const oneTime = await fire('payment_intent.succeeded');
    expect(outcomes(oneTime.body)).toEqual([['payment_intent.succeeded', 200, 'processed']]);
    const objectOf = (result: FireResult) => result.deliveries.at(-1)?.objectId;
    let orders = await all('orders');
    expect(orders.length).toBe(before.orders + 3);
    const order = (id: string | undefined) => orders.find((o) => o.id === id);
    expect(order(objectOf(paid.body))).toMatchObject({ kind: 'invoice', status: 'paid', amountRefunded: 0 });
    expect(order(objectOf(failed.body))).toMatchObject({ kind: 'invoice', status: 'open', amountPaid: 0 });
    expect(order(objectOf(oneTime.body))).toMatchObject({ kind: 'one_time', status: 'succeeded' });
    expect(emulatorData?.invoices.get(objectOf(paid.body) ?? '')?.status).toBe('paid');

    // The open invoice just created is the newest open one: voiding it turns its order void.
    const voided = await fire('invoice.voided');
    expect(outcomes(voided.body)).toEqual([['invoice.voided', 200, 'processed']]);
    expect(objectOf(voided.body)).toBe(objectOf(failed.body));
    orders = await all('orders');
    expect(order(objectOf(failed.body))).toMatchObject({ status: 'void' });
    expect(emulatorData?.invoices.get(objectOf(failed.body) ?? '')?.status).toBe('void');

    // One of the charges just paid (same second) is refunded in full; its order shows it.
    const refunded = await fire('charge.refunded');
    expect(outcomes(refunded.body)).toEqual([['charge.refunded', 200, 'processed']]);
    const charge = emulatorData?.charges.get(objectOf(refunded.body) ?? '');
    expect(charge).toMatchObject({ refunded: true, amount_refunded: charge?.amount });
    orders = await all('orders');
    const refundedOrder = [order(objectOf(paid.body)), order(objectOf(oneTime.body))].find(
      (o) => o?.amountRefunded !== 0,
    );
    expect(refundedOrder).toMatchObject({ amountRefunded: charge?.amount });

    // A credit note of the invoice just paid shows on its order, and is gone once voided.
    const credited = await fire('credit_note.created');
    expect(outcomes(credited.body)).toEqual([['credit_note.created', 200, 'processed']]);
    const creditNote = emulatorData?.creditNotes.get(objectOf(credited.body) ?? '');
    orders = await all('orders');
    expect(order(creditNote?.invoice as string)).toMatchObject({ amountCredited: creditNote?.total });
    expect(outcomes((await fire('credit_note.voided')).body)).toEqual([
      ['credit_note.voided', 200, 'processed'],
    ]);
    orders = await all('orders');
    expect(order(creditNote?.invoice as string)).toMatchObject({ amountCredited: 0 });

    // The other charge just paid is disputed, then the dispute is lost.
    const disputed = await fire('charge.dispute.created');
    expect(outcomes(disputed.body)).toEqual([['charge.dispute.created', 200, 'processed']]);
    const dispute = emulatorData?.disputes.get(objectOf(disputed.body) ?? '');
    orders = await all('orders');
    const disputedOrder = orders.find((o) => o.disputeStatus === 'needs_response');
    expect(disputedOrder).toMatchObject({ amountDisputed: dispute?.amount, amountLost: 0 });
    expect([objectOf(paid.body), objectOf(oneTime.body)]).toContain(disputedOrder?.id);
    expect(outcomes((await fire('charge.dispute.closed')).body)).toEqual([
      ['charge.dispute.closed', 200, 'processed'],
    ]);
    orders = await all('orders');
    expect(order(disputedOrder?.id as string)).toMatchObject({
      disputeStatus: 'lost',
      amountDisputed: dispute?.amount,
      amountLost: dispute?.amount,
    });

    expect(outcomes((await fire('customer.subscription.updated')).body)).toEqual([
      ['customer.subscription.updated', 200, 'processed'],
    ]);
    const canceled = await fire('customer.subscription.deleted');
    expect(outcomes(canceled.body)).toEqual([['customer.subscription.deleted', 200, 'processed']]);
    expect((await all('subscriptions')).filter((s) => s.status === 'canceled').length).toBeGreaterThan(0);

    const deleted = await fire('customer.deleted');
    expect(outcomes(deleted.body)).toEqual([['customer.deleted', 200, 'processed']]);
    expect((await all('customers')).filter((c) => c.deleted === true).length).toBeGreaterThan(0);

    // Records never carry what identifies a patient, whatever the events held.
    const everything = JSON.stringify([await all('customers'), await all('orders')]);
    expect(everything).not.toContain('Testpatient');
    expect(everything).not.toContain(PHI.email);

    const status = await browser.json<{ webhook: { connectEndpoint: { lastEventAt: string | null } } }>(
      `${stack.url}/api/connect/stripe/status`,
    );
    expect(status.webhook.connectEndpoint.lastEventAt).not.toBeNull();
  }, 60_000);

  it('revokes access from Stripe’s side: the tenant ends up disconnected', async () => {
    const revoked = await fire('account.application.deauthorized');
    expect(outcomes(revoked.body)).toEqual([['account.application.deauthorized', 200, 'processed']]);
    expect(stack.stripeEmulator?.stripe.isConnected(stack.stripeEmulator.stripe.consentAccount)).toBe(false);
    expect(await browser.json(`${stack.url}/api/connect/stripe/status`)).toMatchObject({
      connected: false,
      state: 'not_connected',
    });
    // And nothing more is sent for an account that is no longer connected.
    expect((await fire('customer.created')).status).toBe(409);
    // The signing secret never reaches the logs.
    expect(output.join('')).not.toMatch(/whsec_[A-Za-z0-9_-]{20,}/);
  });
});
