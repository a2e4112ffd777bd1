import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import Stripe from 'stripe';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import {
  type FireResult,
  type StripeEmulator,
  startStripeEmulator,
} from '../../scripts/local/stripe-emulator.ts';
import {
  EVENT_RETENTION_SECONDS,
  FakeStripe,
  PLATFORM,
} from '../../scripts/stripe-emulator/fake-stripe-server.ts';
import { happenAtStripe } from '../../scripts/stripe-emulator/stripe-activity.ts';
import {
  current,
  DAY,
  type StripeObject,
  stripeEvent,
} from '../../scripts/stripe-emulator/stripe-objects.ts';

/**
 * The fake Stripe's Events API (`GET /v1/events`, `GET /v1/events/:id`) per connected account,
 * driven by the real SDK: Stripe's order, pagination, filters, limits and 30-day retention.
 */

const NOW = 1_790_000_000;
const ACCOUNT = 'acct_1EventsClinicA';
const OTHER = 'acct_1EventsClinicB';

let fake: FakeStripe;
let port: number;

function sdk(options: { maxNetworkRetries?: number } = {}): Stripe {
  return new Stripe(fake.secretKey, {
    host: '127.0.0.1',
    port,
    protocol: 'http',
    maxNetworkRetries: options.maxNetworkRetries ?? 0,
    telemetry: false,
  });
}

const asAccount = (stripeAccount: string) => ({ stripeAccount });
const idsOf = (list: { data: { id: string }[] }) => list.data.map((o) => o.id);

/** `n` customer.created events of `account`, one a minute, the newest at `newest`; oldest first. */
function events(n: number, account = ACCOUNT, newest = NOW, prefix = 'evt_T'): StripeObject[] {
  return Array.from({ length: n }, (_, i) => {
    const created = newest - (n - 1 - i) * 60;
    return stripeEvent('customer.created', current.customer({ id: `cus_${prefix}${i}`, created }), {
      id: `${prefix}${account.slice(-1)}${String(i).padStart(5, '0')}`,
      created,
      account,
    });
  });
}

async function rejection(promise: Promise<unknown>): Promise<Stripe.errors.StripeError> {
  try {
    await promise;
  } catch (error) {
    return error as Stripe.errors.StripeError;
  }
  throw new Error('expected the request to fail');
}

beforeAll(async () => {
  fake = new FakeStripe({ now: () => NOW });
  port = Number(new URL(await fake.start()).port);
});
afterAll(() => fake.stop());

beforeEach(() => {
  fake.now = () => NOW;
  fake.connected.clear();
  fake.connectAccount(ACCOUNT);
  fake.connectAccount(OTHER);
  fake.accountData(ACCOUNT).clear();
  fake.accountData(OTHER).clear();
  fake.platformData.clear();
  fake.requests.length = 0;
  fake.resetStats();
});

describe('GET /v1/events', () => {
  it('pages newest first over more than 100 events with limit, starting_after and has_more', async () => {
    const recorded = fake.recordEvent(...events(250));
    const newestFirst = recorded.map((e) => e.id as string).reverse();
    const stripe = sdk();

    const first = await stripe.events.list({ limit: 100 }, asAccount(ACCOUNT));
    expect(first).toMatchObject({ object: 'list', url: '/v1/events', has_more: true });
    expect(idsOf(first)).toEqual(newestFirst.slice(0, 100));
    const second = await stripe.events.list(
      { limit: 100, starting_after: first.data.at(-1)?.id },
      asAccount(ACCOUNT),
    );
    expect(idsOf(second)).toEqual(newestFirst.slice(100, 200));
    expect(second.has_more).toBe(true);
    const third = await stripe.events.list(
      { limit: 100, starting_after: second.data.at(-1)?.id },
      asAccount(ACCOUNT),
    );
    expect(idsOf(third)).toEqual(newestFirst.slice(200));
    expect(third.has_more).toBe(false);

    const back = await stripe.events.list({ limit: 3, ending_before: third.data[0]?.id }, asAccount(ACCOUNT));
    expect(idsOf(back)).toEqual(newestFirst.slice(197, 200));
    expect(back.has_more).toBe(true);
  });

  it('defaults to 10, and auto-paginates a created[gt] window in ceil(n/100) requests', async () => {
    const recorded = fake.recordEvent(...events(250));
    const stripe = sdk();
    expect((await stripe.events.list({}, asAccount(ACCOUNT))).data).toHaveLength(10);

    fake.requests.length = 0;
    const after = recorded[39]?.created as number;
    const seen: string[] = [];
    for await (const event of stripe.events.list(
      { limit: 100, created: { gt: after } },
      asAccount(ACCOUNT),
    )) {
      seen.push(event.id);
    }
    expect(seen).toEqual(
      recorded
        .slice(40)
        .map((e) => e.id)
        .reverse(),
    );
    expect(fake.requestsTo('/v1/events')).toHaveLength(Math.ceil(210 / 100));
  });

  it('filters by created gt, gte, lt, lte and an exact second', async () => {
    const recorded = fake.recordEvent(...events(10));
    const at = (i: number) => recorded[i]?.created as number;
    const stripe = sdk();
    const list = async (created: Stripe.RangeQueryParam | number) =>
      idsOf(await stripe.events.list({ created }, asAccount(ACCOUNT)));
    const ids = (from: number, to: number) =>
      recorded
        .slice(from, to)
        .map((e) => e.id)
        .reverse();

    expect(await list({ gt: at(6) })).toEqual(ids(7, 10));
    expect(await list({ gte: at(6) })).toEqual(ids(6, 10));
    expect(await list({ lt: at(2) })).toEqual(ids(0, 2));
    expect(await list({ lte: at(2) })).toEqual(ids(0, 3));
    expect(await list({ gt: at(2), lte: at(5) })).toEqual(ids(3, 6));
    expect(await list(at(4))).toEqual(ids(4, 5));
    expect(await list({ gt: NOW })).toEqual([]);
  });

  it('lists events of one second in the order they happened, the later first', async () => {
    const customer = current.customer({ id: 'cus_Same', created: NOW });
    const ids = ['evt_Zfirst', 'evt_Asecond', 'evt_Mthird'];
    for (const id of ids) {
      fake.recordEvent(stripeEvent('customer.updated', customer, { id, created: NOW, account: ACCOUNT }));
    }
    const page = await sdk().events.list({}, asAccount(ACCOUNT));
    expect(idsOf(page)).toEqual([...ids].reverse());
  });

  it('serves each account its own events, and the platform its own without Stripe-Account', async () => {
    fake.recordEvent(...events(3, ACCOUNT), ...events(2, OTHER));
    const platformEvent = stripeEvent(
      'account.updated',
      { id: 'acct_platform', object: 'account' },
      {
        id: 'evt_Platform1',
        created: NOW,
      },
    );
    fake.recordEvent(platformEvent);
    const stripe = sdk();

    const mine = await stripe.events.list({}, asAccount(ACCOUNT));
    expect(mine.data).toHaveLength(3);
    expect(mine.data.every((e) => e.account === ACCOUNT)).toBe(true);
    const theirs = await stripe.events.list({}, asAccount(OTHER));
    expect(theirs.data.every((e) => e.account === OTHER)).toBe(true);
    expect(idsOf(await stripe.events.list({}))).toEqual(['evt_Platform1']);
    expect(fake.recordedEvents(PLATFORM)).toHaveLength(1);

    // Another account's event is not found through this account, by id or as a cursor.
    const foreign = theirs.data[0]?.id as string;
    expect((await rejection(stripe.events.retrieve(foreign, {}, asAccount(ACCOUNT)))).statusCode).toBe(404);
    const cursor = await rejection(stripe.events.list({ starting_after: foreign }, asAccount(ACCOUNT)));
    expect(cursor).toMatchObject({ statusCode: 400, code: 'resource_missing', param: 'starting_after' });

    // A revoked account cannot be read at all.
    fake.connected.delete(OTHER);
    const revoked = await rejection(stripe.events.list({}, asAccount(OTHER)));
    expect(revoked).toMatchObject({ statusCode: 403, code: 'account_invalid' });
  });

  it('accepts limit 1..100 and answers 400 beyond, like Stripe', async () => {
    fake.recordEvent(...events(120));
    const stripe = sdk();
    expect((await stripe.events.list({ limit: 1 }, asAccount(ACCOUNT))).data).toHaveLength(1);
    expect((await stripe.events.list({ limit: 100 }, asAccount(ACCOUNT))).data).toHaveLength(100);
    for (const limit of [0, 101, -1]) {
      const error = await rejection(stripe.events.list({ limit }, asAccount(ACCOUNT)));
      expect(error, String(limit)).toBeInstanceOf(Stripe.errors.StripeInvalidRequestError);
      expect(error).toMatchObject({ statusCode: 400, param: 'limit' });
    }
    const both = await rejection(
      stripe.events.list({ starting_after: 'evt_a', ending_before: 'evt_b' }, asAccount(ACCOUNT)),
    );
    expect(both.statusCode).toBe(400);
    const missing = await rejection(stripe.events.list({ starting_after: 'evt_nope' }, asAccount(ACCOUNT)));
    expect(missing).toMatchObject({ statusCode: 400, code: 'resource_missing' });
    const unknown = await rejection(
      stripe.events.list({ colour: 'red' } as Stripe.EventListParams, asAccount(ACCOUNT)),
    );
    expect(unknown).toMatchObject({ statusCode: 400, param: 'colour' });
  });

  it('keeps 30 days: older events are neither listed, retrieved nor usable as cursors', async () => {
    const oldest = NOW - EVENT_RETENTION_SECONDS;
    const kept = stripeEvent('customer.created', current.customer({ id: 'cus_Kept' }), {
      id: 'evt_Kept',
      created: oldest,
      account: ACCOUNT,
    });
    const gone = stripeEvent('customer.created', current.customer({ id: 'cus_Gone' }), {
      id: 'evt_Gone',
      created: oldest - 1,
      account: ACCOUNT,
    });
    fake.recordEvent(kept, gone);
    const stripe = sdk();

    expect(idsOf(await stripe.events.list({}, asAccount(ACCOUNT)))).toEqual(['evt_Kept']);
    expect(idsOf(await stripe.events.list({ created: { gte: 0 } }, asAccount(ACCOUNT)))).toEqual([
      'evt_Kept',
    ]);
    expect((await stripe.events.retrieve('evt_Kept', {}, asAccount(ACCOUNT))).id).toBe('evt_Kept');
    const retrieve = await rejection(stripe.events.retrieve('evt_Gone', {}, asAccount(ACCOUNT)));
    expect(retrieve).toMatchObject({ statusCode: 404, code: 'resource_missing' });
    const cursor = await rejection(stripe.events.list({ ending_before: 'evt_Gone' }, asAccount(ACCOUNT)));
    expect(cursor.statusCode).toBe(400);

    // A day later the kept one has aged out too.
    fake.now = () => NOW + DAY;
    expect((await stripe.events.list({}, asAccount(ACCOUNT))).data).toEqual([]);
  });

  it('filters by type (with * wildcards), types[] (at most 20, not with type) and delivery_success', async () => {
    const customer = current.customer({ id: 'cus_Filter', created: NOW - 100 });
    const subscription = current.subscription({ created: NOW - 50 });
    const created = stripeEvent('customer.created', customer, {
      id: 'evt_F1',
      created: NOW - 100,
      account: ACCOUNT,
    });
    const subscribed = stripeEvent('customer.subscription.created', subscription, {
      id: 'evt_F2',
      created: NOW - 50,
      account: ACCOUNT,
    });
    const paid = stripeEvent('invoice.paid', current.invoice(), {
      id: 'evt_F3',
      created: NOW - 10,
      account: ACCOUNT,
    });
    fake.recordEvent(created, subscribed, paid);
    fake.markEventDelivered(paid);
    const stripe = sdk();
    const list = async (params: Stripe.EventListParams) =>
      idsOf(await stripe.events.list(params, asAccount(ACCOUNT)));

    expect(await list({ type: 'customer.created' })).toEqual(['evt_F1']);
    expect(await list({ type: 'customer.*' })).toEqual(['evt_F2', 'evt_F1']);
    expect(await list({ type: 'customer.subscription.*' })).toEqual(['evt_F2']);
    expect(await list({ types: ['invoice.paid', 'customer.created'] })).toEqual(['evt_F3', 'evt_F1']);
    expect(await list({ delivery_success: true })).toEqual(['evt_F3']);
    expect(await list({ delivery_success: false })).toEqual(['evt_F2', 'evt_F1']);

    const rendered = await stripe.events.list({}, asAccount(ACCOUNT));
    expect(rendered.data.map((e) => e.pending_webhooks)).toEqual([0, 1, 1]);

    const both = await rejection(
      stripe.events.list({ type: 'invoice.paid', types: ['invoice.paid'] }, asAccount(ACCOUNT)),
    );
    expect(both).toMatchObject({ statusCode: 400, param: 'types' });
    const many = Array.from({ length: 21 }, (_, i) => `customer.t${i}`);
    expect((await rejection(stripe.events.list({ types: many }, asAccount(ACCOUNT)))).statusCode).toBe(400);
    const expand = await rejection(stripe.events.list({ expand: ['data.request'] }, asAccount(ACCOUNT)));
    expect(expand).toMatchObject({ statusCode: 400, param: 'expand' });
  });

  it('serves the envelope webhook deliveries carry, unchanged (api_version, request, account, data)', async () => {
    const invoice = current.invoice();
    const event = stripeEvent('invoice.paid', invoice, {
      id: 'evt_Envelope',
      created: NOW - 5,
      account: ACCOUNT,
      apiVersion: '2024-06-20',
      previousAttributes: { status: 'open' },
    });
    fake.recordEvent(event);
    const stripe = sdk();
    const listed = (await stripe.events.list({}, asAccount(ACCOUNT))).data[0];
    const retrieved = await stripe.events.retrieve('evt_Envelope', {}, asAccount(ACCOUNT));
    // The SDK adds `lastResponse` to what it returns; the JSON is the recorded event's.
    expect(JSON.parse(JSON.stringify(listed))).toEqual(event);
    expect(JSON.parse(JSON.stringify({ ...retrieved, lastResponse: undefined }))).toEqual(event);
    expect(listed?.api_version).toBe('2024-06-20');
  });

  it('answers injected 429 and 5xx faults on /v1/events', async () => {
    fake.recordEvent(...events(2));
    fake.injectFault('/v1/events', { status: 429 }, { status: 503 });
    const stripe = sdk();
    const limited = await rejection(stripe.events.list({}, asAccount(ACCOUNT)));
    expect(limited).toBeInstanceOf(Stripe.errors.StripeRateLimitError);
    const unavailable = await rejection(stripe.events.list({}, asAccount(ACCOUNT)));
    expect(unavailable.statusCode).toBe(503);
    expect((await stripe.events.list({}, asAccount(ACCOUNT))).data).toHaveLength(2);
    expect(fake.stats()).toMatchObject({ faults: 2, byPath: { '/v1/events': 3 } });
  });
});

describe('happenAtStripe (webhooks off, data changed at the fake)', () => {
  it('changes the account and records the events, delivering nothing', async () => {
    fake.seed(ACCOUNT, { customers: [current.customer({ id: 'cus_Existing', created: NOW - DAY })] });
    const fired = happenAtStripe(fake, ACCOUNT, 'customer.created');
    expect(fired).toHaveLength(1);
    const event = fired[0] as StripeObject;
    const customerId = (event.data as { object: { id: string } }).object.id;
    expect(fake.accountData(ACCOUNT).customers.has(customerId)).toBe(true);

    const page = await sdk().events.list({ created: { gt: NOW - 60 } }, asAccount(ACCOUNT));
    expect(page.data).toHaveLength(1);
    expect(page.data[0]).toMatchObject({
      id: event.id,
      type: 'customer.created',
      account: ACCOUNT,
      created: NOW,
      pending_webhooks: 1,
      data: { object: { id: customerId } },
    });
    const customer = await sdk().customers.retrieve(customerId, {}, asAccount(ACCOUNT));
    expect(customer.id).toBe(customerId);
  });
});

describe('the Stripe emulator records every event it fires in the account’s Events API', () => {
  let emulator: StripeEmulator;
  let endpoint: Server;
  let endpointUrl: string;
  let answer = 200;
  const received: string[] = [];

  beforeAll(async () => {
    endpoint = createServer((req, res) => {
      let body = '';
      req.on('data', (chunk: Buffer) => {
        body += chunk.toString('utf8');
      });
      req.on('end', () => {
        received.push((JSON.parse(body) as { id: string }).id);
        res.writeHead(answer, { 'content-type': 'application/json' });
        res.end(JSON.stringify({ received: true, outcome: 'processed' }));
      });
    });
    await new Promise<void>((resolve) => endpoint.listen(0, '127.0.0.1', resolve));
    endpointUrl = `http://127.0.0.1:${(endpoint.address() as AddressInfo).port}/api/webhooks/stripe-connect`;
    emulator = await startStripeEmulator({ port: 0, consent: 'approve' });
    emulator.stripe.connectAccount(emulator.stripe.consentAccount);
  });
  afterAll(async () => {
    await emulator?.stripe.stop();
    endpoint?.closeAllConnections();
    await new Promise((resolve) => endpoint?.close(resolve));
  });

  const emulatorSdk = () =>
    new Stripe(emulator.stripe.secretKey, {
      host: '127.0.0.1',
      port: Number(new URL(emulator.url).port),
      protocol: 'http',
      maxNetworkRetries: 0,
      telemetry: false,
    });
  const listed = async () =>
    (await emulatorSdk().events.list({ limit: 100 }, asAccount(emulator.stripe.consentAccount))).data;

  async function post(body: unknown): Promise<{ status: number; body: FireResult & { error?: string } }> {
    const response = await fetch(`${emulator.url}/_emulator/events`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(body),
    });
    return { status: response.status, body: (await response.json()) as FireResult & { error?: string } };
  }

  it('with deliver: false records the events and changes the data, sending nothing (no stack needed)', async () => {
    const fired = await post({ type: 'invoice.paid', deliver: false });
    expect(fired.status).toBe(200);
    expect(fired.body.deliveries).toEqual([]);
    expect(fired.body.events.map((e) => e.type)).toEqual(['invoice_payment.paid', 'invoice.paid']);
    expect(received).toEqual([]);

    const events = await listed();
    // Newest first: the invoice.paid recorded after the invoice_payment.paid of the same second.
    expect(events.slice(0, 2).map((e) => e.id)).toEqual(
      [...fired.body.events].reverse().map((e) => e.eventId),
    );
    expect(events.slice(0, 2).map((e) => e.pending_webhooks)).toEqual([1, 1]);
    const invoiceId = fired.body.events[1]?.objectId as string;
    expect(emulator.stripe.accountData(emulator.stripe.consentAccount).invoices.get(invoiceId)?.status).toBe(
      'paid',
    );

    const bad = await post({ type: 'customer.created', deliver: 'no' });
    expect(bad).toMatchObject({ status: 400, body: { error: 'invalid_deliver' } });
  });

  it('delivered events list with pending_webhooks 0; a refused delivery stays pending', async () => {
    emulator.deliverTo({ connectUrl: endpointUrl, secret: 'whsec_emulatortestsecret0000', settingsUrl: '' });
    answer = 200;
    const delivered = await emulator.fire('customer.created');
    expect(delivered.deliveries.map((d) => d.status)).toEqual([200]);
    answer = 500;
    const refused = await emulator.fire('customer.updated');
    expect(refused.deliveries.map((d) => d.status)).toEqual([500]);
    expect(received).toEqual([delivered.events[0]?.eventId, refused.events[0]?.eventId]);

    const byId = new Map((await listed()).map((e) => [e.id, e]));
    expect(byId.get(delivered.events[0]?.eventId as string)?.pending_webhooks).toBe(0);
    expect(byId.get(refused.events[0]?.eventId as string)?.pending_webhooks).toBe(1);
    const pending = await emulatorSdk().events.list(
      { delivery_success: false, limit: 100 },
      asAccount(emulator.stripe.consentAccount),
    );
    expect(pending.data.map((e) => e.id)).toContain(refused.events[0]?.eventId);
    expect(pending.data.map((e) => e.id)).not.toContain(delivered.events[0]?.eventId);
  });
});
