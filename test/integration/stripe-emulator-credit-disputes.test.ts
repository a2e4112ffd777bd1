import Stripe from 'stripe';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import {
  EMULATOR_EVENT_TYPES,
  type EmulatorEventName,
  NothingToChangeError,
} from '../../scripts/local/emulator-events.ts';
import {
  type FireResult,
  type StripeEmulator,
  startStripeEmulator,
} from '../../scripts/local/stripe-emulator.ts';
import { FakeStripe } from '../../scripts/stripe-emulator/fake-stripe-server.ts';
import {
  countObjects,
  EDGE_GUARD_SECONDS,
  expectedImports,
  type SeedClinicOptions,
  seedClinic,
} from '../../scripts/stripe-emulator/seed-clinic.ts';
import { happenAtStripe } from '../../scripts/stripe-emulator/stripe-activity.ts';
import {
  CURRENT_API_VERSION,
  creditNoteAmounts,
  creditNoteForInvoice,
  current,
  DAY,
  disputeOfCharge,
  ids,
  legacy,
  PHI_STRINGS,
  type StripeObject,
} from '../../scripts/stripe-emulator/stripe-objects.ts';

/**
 * Credit notes and disputes at the fake Stripe: their lists and retrieves through the real SDK,
 * the builders, the emulator's four events (data changed, events recorded in the Events API),
 * and the seeded clinic's credit notes and disputes with what a backfill should make of them.
 */

const NOW = 1_790_000_000;
const ACCOUNT = 'acct_1CreditsClinicA';
const OTHER = 'acct_1CreditsClinicB';

let fake: FakeStripe;
let port: number;

function sdk(): Stripe {
  return new Stripe(fake.secretKey, {
    host: '127.0.0.1',
    port,
    protocol: 'http',
    maxNetworkRetries: 0,
    telemetry: false,
  });
}

const asAccount = (stripeAccount: string) => ({ stripeAccount });
const idsOf = (list: { data: { id: string }[] }) => list.data.map((o) => o.id);

async function rejection(promise: Promise<unknown>): Promise<Stripe.errors.StripeError> {
  try {
    await promise;
  } catch (error) {
    return error as Stripe.errors.StripeError;
  }
  throw new Error('expected the request to fail');
}

/** `n` credit notes one minute apart, the newest at `NOW`, on two invoices in turn; oldest first. */
function creditNotes(n: number): StripeObject[] {
  return Array.from({ length: n }, (_, i) =>
    current.creditNote({
      id: `cn_T${String(i).padStart(5, '0')}`,
      created: NOW - (n - 1 - i) * 60,
      invoice: i % 2 === 0 ? 'in_Even' : 'in_Odd',
      customer: i % 2 === 0 ? 'cus_Even' : 'cus_Odd',
      ...creditNoteAmounts(100 + i),
    }),
  );
}

/** `n` disputes one minute apart, the newest at `NOW`, one per charge; oldest first. */
function disputes(n: number): StripeObject[] {
  return Array.from({ length: n }, (_, i) =>
    current.dispute({
      id: `du_T${String(i).padStart(5, '0')}`,
      created: NOW - (n - 1 - i) * 60,
      charge: `ch_T${i}`,
      payment_intent: i % 3 === 0 ? null : `pi_T${i}`,
    }),
  );
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
  fake.requests.length = 0;
});

describe('GET /v1/credit_notes and /v1/disputes', () => {
  const lists = [
    {
      name: 'credit notes',
      seed: (n: number) => fake.seed(ACCOUNT, { creditNotes: creditNotes(n) }),
      list: (params: Stripe.CreditNoteListParams) => sdk().creditNotes.list(params, asAccount(ACCOUNT)),
      path: '/v1/credit_notes',
      prefix: 'cn_T',
    },
    {
      name: 'disputes',
      seed: (n: number) => fake.seed(ACCOUNT, { disputes: disputes(n) }),
      list: (params: Stripe.DisputeListParams) => sdk().disputes.list(params, asAccount(ACCOUNT)),
      path: '/v1/disputes',
      prefix: 'du_T',
    },
  ] as const;

  for (const { name, seed, list, path, prefix } of lists) {
    it(`pages ${name} newest first: 250 in 3 pages of at most 100, then has_more false`, async () => {
      seed(250);
      const newestFirst = Array.from(
        { length: 250 },
        (_, i) => `${prefix}${String(249 - i).padStart(5, '0')}`,
      );
      const pages: string[][] = [];
      let startingAfter: string | undefined;
      let hasMore = true;
      while (hasMore) {
        const page = await list({
          limit: 100,
          ...(startingAfter === undefined ? {} : { starting_after: startingAfter }),
        });
        expect(page).toMatchObject({ object: 'list', url: path });
        pages.push(idsOf(page));
        startingAfter = page.data.at(-1)?.id;
        hasMore = page.has_more;
      }
      expect(pages.map((p) => p.length)).toEqual([100, 100, 50]);
      expect(pages.flat()).toEqual(newestFirst);
      expect(fake.requestsTo(path)).toHaveLength(3);

      // The SDK's auto-pagination walks the same list.
      const seen: string[] = [];
      for await (const object of list({ limit: 100 })) seen.push(object.id);
      expect(seen).toEqual(newestFirst);
      // Default limit 10, as for every Stripe list.
      expect((await list({})).data).toHaveLength(10);
    });

    it(`filters ${name} by created (gte, lt, exact) and answers bad cursors and limits like Stripe`, async () => {
      seed(100);
      const at = (i: number) => NOW - (99 - i) * 60;
      const recent = await list({ limit: 100, created: { gte: at(90) } });
      expect(idsOf(recent)).toEqual(
        Array.from({ length: 10 }, (_, i) => `${prefix}${String(99 - i).padStart(5, '0')}`),
      );
      expect(fake.requestsTo(path).at(-1)?.query).toContain('created[gte]=');
      const older = await list({ limit: 100, created: { gte: at(10), lt: at(20) } });
      expect(idsOf(older)).toHaveLength(10);
      expect(idsOf(older)[0]).toBe(`${prefix}00019`);
      expect(idsOf(await list({ created: at(42) }))).toEqual([`${prefix}00042`]);

      const cursor = await rejection(list({ starting_after: `${prefix}Missing` }));
      expect(cursor).toBeInstanceOf(Stripe.errors.StripeInvalidRequestError);
      expect(cursor).toMatchObject({ statusCode: 400, code: 'resource_missing', param: 'starting_after' });
      const limit = await rejection(list({ limit: 101 }));
      expect(limit).toMatchObject({ statusCode: 400, param: 'limit' });
    });
  }

  it('filters credit notes by invoice and customer, and expands invoice and customer', async () => {
    fake.seed(ACCOUNT, {
      creditNotes: creditNotes(6),
      invoices: [current.invoice({ id: 'in_Even', customer: 'cus_Even' })],
      customers: [current.customer({ id: 'cus_Even' })],
    });
    const options = asAccount(ACCOUNT);
    const stripe = sdk();
    expect(idsOf(await stripe.creditNotes.list({ invoice: 'in_Odd' }, options))).toEqual([
      'cn_T00005',
      'cn_T00003',
      'cn_T00001',
    ]);
    expect(idsOf(await stripe.creditNotes.list({ customer: 'cus_Even' }, options))).toEqual([
      'cn_T00004',
      'cn_T00002',
      'cn_T00000',
    ]);
    expect((await stripe.creditNotes.list({ invoice: 'in_None' }, options)).data).toEqual([]);
    const expanded = await stripe.creditNotes.list(
      { invoice: 'in_Even', limit: 1, expand: ['data.invoice', 'data.customer'] },
      options,
    );
    expect(expanded.data[0]?.invoice).toMatchObject({ id: 'in_Even', object: 'invoice' });
    expect(expanded.data[0]?.customer).toMatchObject({ id: 'cus_Even', object: 'customer' });
    const unsupported = await rejection(
      stripe.creditNotes.list({ customer_account: 'acct_x' } as Stripe.CreditNoteListParams, options),
    );
    expect(unsupported).toMatchObject({ statusCode: 400, param: 'customer_account' });
  });

  it('filters disputes by charge and payment_intent, and expands both', async () => {
    fake.seed(ACCOUNT, {
      disputes: disputes(6),
      charges: [current.charge({ id: 'ch_T4', payment_intent: 'pi_T4' })],
      paymentIntents: [current.paymentIntent({ id: 'pi_T4' })],
    });
    const options = asAccount(ACCOUNT);
    const stripe = sdk();
    expect(idsOf(await stripe.disputes.list({ charge: 'ch_T2' }, options))).toEqual(['du_T00002']);
    expect(idsOf(await stripe.disputes.list({ payment_intent: 'pi_T5' }, options))).toEqual(['du_T00005']);
    // A dispute of a charge without a payment intent matches no payment_intent filter.
    expect((await stripe.disputes.list({ payment_intent: 'pi_T3' }, options)).data).toEqual([]);
    const expanded = await stripe.disputes.retrieve(
      'du_T00004',
      { expand: ['charge', 'payment_intent'] },
      options,
    );
    expect(expanded.charge).toMatchObject({ id: 'ch_T4', object: 'charge' });
    expect(expanded.payment_intent).toMatchObject({ id: 'pi_T4', object: 'payment_intent' });
    const unknown = await rejection(
      stripe.disputes.list({ status: 'lost' } as Stripe.DisputeListParams, options),
    );
    expect(unknown).toMatchObject({ statusCode: 400, message: 'Received unknown parameter: status' });
  });

  it('retrieves by id, per account, and answers 404 resource_missing for an unknown one', async () => {
    fake.seed(ACCOUNT, { creditNotes: creditNotes(2), disputes: disputes(2) });
    const stripe = sdk();
    const note = await stripe.creditNotes.retrieve('cn_T00001', {}, asAccount(ACCOUNT));
    expect(note).toMatchObject({ id: 'cn_T00001', object: 'credit_note', invoice: 'in_Odd', amount: 101 });
    const dispute = await stripe.disputes.retrieve('du_T00001', {}, asAccount(ACCOUNT));
    expect(dispute).toMatchObject({ id: 'du_T00001', object: 'dispute', charge: 'ch_T1' });

    for (const [missing, message] of [
      [
        stripe.creditNotes.retrieve('cn_1Missing', {}, asAccount(ACCOUNT)),
        "No such credit_note: 'cn_1Missing'",
      ],
      [stripe.disputes.retrieve('du_1Missing', {}, asAccount(ACCOUNT)), "No such dispute: 'du_1Missing'"],
      // Another account's objects are not this one's.
      [stripe.creditNotes.retrieve('cn_T00001', {}, asAccount(OTHER)), "No such credit_note: 'cn_T00001'"],
    ] as const) {
      const error = await rejection(missing);
      expect(error).toBeInstanceOf(Stripe.errors.StripeInvalidRequestError);
      expect(error).toMatchObject({ statusCode: 404, code: 'resource_missing', param: 'id', message });
    }
    expect(fake.accountData(ACCOUNT).counts()).toMatchObject({ creditNotes: 2, disputes: 2 });
  });
});

describe('credit note and dispute builders', () => {
  it('build the fields the connector reads, alike in both API versions', () => {
    for (const shape of [legacy, current]) {
      expect(shape.creditNote()).toMatchObject({
        id: ids.creditNote,
        object: 'credit_note',
        invoice: ids.invoice,
        customer: ids.customer,
        amount: 1_900,
        total: 1_900,
        currency: 'usd',
        status: 'issued',
        voided_at: null,
        livemode: false,
      });
      expect(shape.dispute()).toMatchObject({
        id: ids.dispute,
        object: 'dispute',
        charge: ids.oneTimeCharge,
        payment_intent: ids.oneTimePaymentIntent,
        amount: 12_000,
        currency: 'usd',
        status: 'needs_response',
        livemode: false,
      });
    }
    expect(legacy.creditNote()).toHaveProperty('tax_amounts');
    expect(current.creditNote()).toHaveProperty('total_taxes');
    expect(current.creditNote()).not.toHaveProperty('tax_amounts');
    // Patient-identifying text, as Stripe sends it: records must drop it.
    const text = JSON.stringify([current.creditNote(), current.dispute()]);
    expect(PHI_STRINGS.some((phi) => text.includes(phi))).toBe(true);
  });

  it('derive a credit note from an invoice and a dispute from a charge', () => {
    const note = creditNoteForInvoice(current.invoice(), { id: 'cn_1A', amount: 700, created: NOW });
    expect(note).toMatchObject({
      id: 'cn_1A',
      invoice: ids.invoice,
      customer: ids.customer,
      amount: 700,
      total: 700,
      subtotal: 700,
      created: NOW,
      status: 'issued',
      number: 'FIXT0001-0001-CN-01',
      lines: { data: [{ amount: 700, invoice_line_item: ids.invoiceLine }] },
    });
    const charge = current.charge({ amount: 4_900, amount_refunded: 900 });
    expect(disputeOfCharge(charge, { id: 'du_1A', created: NOW })).toMatchObject({
      charge: ids.charge,
      payment_intent: ids.paymentIntent,
      amount: 4_000,
      status: 'needs_response',
      evidence_details: { due_by: NOW + 7 * DAY, has_evidence: false },
    });
    expect(disputeOfCharge(charge, { id: 'du_1B', created: NOW, status: 'lost' })).toMatchObject({
      status: 'lost',
      evidence_details: { due_by: null, has_evidence: true },
    });
  });
});

describe('the emulator’s credit note and dispute events', () => {
  const types: EmulatorEventName[] = [
    'credit_note.created',
    'credit_note.voided',
    'charge.dispute.created',
    'charge.dispute.closed',
  ];

  it('are offered with a label and a description, before the revocation', () => {
    const offered = EMULATOR_EVENT_TYPES.map((entry) => entry.type);
    for (const type of types) {
      const entry = EMULATOR_EVENT_TYPES.find((e) => e.type === type);
      expect(entry?.label).toBeTruthy();
      expect(entry?.description).toMatch(/\.$/);
    }
    expect(offered.at(-1)).toBe('account.application.deauthorized');
  });

  it('refuse with NothingToChangeError when the account has nothing to act on', () => {
    const data = fake.accountData(ACCOUNT);
    data.seed({
      invoices: [current.invoice({ id: 'in_Open', status: 'open', amount_paid: 0, created: NOW - DAY })],
      charges: [
        current.charge({ id: 'ch_Failed', status: 'failed', amount_refunded: 0, created: NOW - DAY }),
      ],
      creditNotes: [current.creditNote({ status: 'void', voided_at: NOW - DAY, created: NOW - 2 * DAY })],
      disputes: [current.dispute({ status: 'won', created: NOW - DAY })],
    });
    for (const type of types) {
      expect(() => happenAtStripe(fake, ACCOUNT, type), type).toThrow(NothingToChangeError);
    }
    expect(fake.recordedEvents(ACCOUNT)).toHaveLength(0);
  });

  it('change the account’s data and record their events in the Events API', async () => {
    const invoice = current.invoice({
      id: 'in_Paid',
      created: NOW - 2 * DAY,
      total: 10_000,
      amount_paid: 10_000,
    });
    fake.seed(ACCOUNT, {
      invoices: [invoice],
      charges: [
        current.charge({
          id: 'ch_Paid',
          payment_intent: 'pi_Paid',
          amount: 8_000,
          amount_refunded: 500,
          refunded: false,
          created: NOW - DAY,
        }),
      ],
    });
    const data = fake.accountData(ACCOUNT);
    const objectOf = (events: StripeObject[]) =>
      ((events.at(-1) as StripeObject).data as { object: StripeObject }).object;

    const created = happenAtStripe(fake, ACCOUNT, 'credit_note.created');
    expect(created.map((e) => e.type)).toEqual(['credit_note.created']);
    const note = objectOf(created);
    expect(note).toMatchObject({
      object: 'credit_note',
      invoice: 'in_Paid',
      status: 'issued',
      amount: 2_000,
    });
    expect(note.total).toBe(note.amount);
    expect(data.creditNotes.get(note.id as string)).toEqual(note);
    expect(data.invoices.get('in_Paid')?.post_payment_credit_notes_amount).toBe(2_000);

    const voided = happenAtStripe(fake, ACCOUNT, 'credit_note.voided', { now: NOW + 60 });
    expect(objectOf(voided)).toMatchObject({ id: note.id, status: 'void', voided_at: NOW + 60 });
    expect(data.creditNotes.get(note.id as string)?.status).toBe('void');
    expect(data.invoices.get('in_Paid')?.post_payment_credit_notes_amount).toBe(0);
    expect(() => happenAtStripe(fake, ACCOUNT, 'credit_note.voided')).toThrow(NothingToChangeError);

    const opened = happenAtStripe(fake, ACCOUNT, 'charge.dispute.created', { now: NOW + 120 });
    const dispute = objectOf(opened);
    expect(dispute).toMatchObject({
      object: 'dispute',
      charge: 'ch_Paid',
      payment_intent: 'pi_Paid',
      amount: 7_500,
      status: 'needs_response',
      created: NOW + 120,
    });
    expect(data.charges.get('ch_Paid')?.disputed).toBe(true);
    // One dispute per charge: there is none left to dispute.
    expect(() => happenAtStripe(fake, ACCOUNT, 'charge.dispute.created')).toThrow(NothingToChangeError);

    const closed = happenAtStripe(fake, ACCOUNT, 'charge.dispute.closed', { now: NOW + 180 });
    expect(closed.map((e) => e.type)).toEqual(['charge.dispute.closed']);
    expect(objectOf(closed)).toMatchObject({ id: dispute.id, status: 'lost', amount: 7_500 });
    expect(data.disputes.get(dispute.id as string)?.status).toBe('lost');
    expect(() => happenAtStripe(fake, ACCOUNT, 'charge.dispute.closed')).toThrow(NothingToChangeError);

    // The Events API lists all four, newest first, as Connect events of the account; the lists
    // show the objects as they are now.
    const stripe = sdk();
    const listed = await stripe.events.list({ limit: 100 }, asAccount(ACCOUNT));
    expect(listed.data.map((e) => e.type)).toEqual([
      'charge.dispute.closed',
      'charge.dispute.created',
      'credit_note.voided',
      'credit_note.created',
    ]);
    expect(listed.data.every((e) => e.account === ACCOUNT && e.api_version === CURRENT_API_VERSION)).toBe(
      true,
    );
    const wildcard = await stripe.events.list({ type: 'charge.dispute.*' }, asAccount(ACCOUNT));
    expect(wildcard.data).toHaveLength(2);
    expect((await stripe.creditNotes.retrieve(note.id as string, {}, asAccount(ACCOUNT))).status).toBe(
      'void',
    );
    expect(idsOf(await stripe.disputes.list({ charge: 'ch_Paid' }, asAccount(ACCOUNT)))).toEqual([
      dispute.id,
    ]);
  });

  describe('through the local emulator’s trigger (deliver: false)', () => {
    let emulator: StripeEmulator;

    beforeAll(async () => {
      emulator = await startStripeEmulator({ port: 0, consent: 'approve', accountId: 'acct_1CreditsDemo' });
      emulator.stripe.connectAccount(emulator.stripe.consentAccount);
      // A minute after the seed's newest objects, so that what it fires is the newest.
      const started = Math.floor(Date.now() / 1000) + 60;
      emulator.stripe.now = () => started;
    });
    afterAll(() => emulator?.stripe.stop());

    async function post(type: string): Promise<{ status: number; body: FireResult & { error?: string } }> {
      const response = await fetch(`${emulator.url}/_emulator/events`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ type, deliver: false }),
      });
      return { status: response.status, body: (await response.json()) as FireResult & { error?: string } };
    }

    it('fires each on the seeded demo clinic, and lists them in its Events API', async () => {
      const data = emulator.stripe.accountData(emulator.stripe.consentAccount);
      const fired: FireResult[] = [];
      for (const type of types) {
        const answer = await post(type);
        expect(answer.status, type).toBe(200);
        expect(answer.body.events.map((e) => e.type)).toEqual([type]);
        fired.push(answer.body);
      }
      const [created, voided, opened, closed] = fired.map((f) => f.events[0]?.objectId as string);
      // The newest issued credit note is the one just created.
      expect(voided).toBe(created);
      expect(data.creditNotes.get(created as string)?.status).toBe('void');
      expect(closed).toBe(opened);
      expect(data.disputes.get(opened as string)?.status).toBe('lost');

      const listed = await new Stripe(emulator.stripe.secretKey, {
        host: '127.0.0.1',
        port: Number(new URL(emulator.url).port),
        protocol: 'http',
        maxNetworkRetries: 0,
        telemetry: false,
      }).events.list({ limit: 4 }, asAccount(emulator.stripe.consentAccount));
      expect(listed.data.map((e) => e.id)).toEqual(fired.map((f) => f.events[0]?.eventId).reverse());
    });
  });
});

describe('the seeded clinic’s credit notes and disputes', () => {
  const small: SeedClinicOptions = {
    accountId: ACCOUNT,
    now: NOW,
    days: 365,
    customers: 120,
    subscriptions: 150,
    invoices: 900,
    oneTimePayments: 80,
    seed: 7,
  };
  const windowStart = NOW - 90 * DAY;
  const byId = (list: readonly StripeObject[]) => new Map(list.map((o) => [o.id as string, o]));

  it('are consistent with the invoices and charges they adjust', () => {
    const { objects } = seedClinic(small);
    const counts = countObjects(objects);
    expect(counts.creditNotes).toBeGreaterThan(4);
    expect(counts.disputes).toBeGreaterThan(4);
    const invoices = byId(objects.invoices);
    const charges = byId(objects.charges);
    const invoiceOfIntent = new Map(
      objects.invoicePayments.map((p) => [(p.payment as StripeObject).payment_intent as string, p.invoice]),
    );

    const credited = new Map<string, number>();
    for (const note of objects.creditNotes) {
      const invoice = invoices.get(note.invoice as string) as StripeObject;
      expect(invoice.status).toBe('paid');
      expect(note).toMatchObject({ object: 'credit_note', customer: invoice.customer, total: note.amount });
      expect(Number.isInteger(note.amount) && (note.amount as number) > 0).toBe(true);
      expect(note.created as number).toBeGreaterThanOrEqual(
        (invoice.status_transitions as StripeObject).paid_at as number,
      );
      expect(note.voided_at === null).toBe(note.status === 'issued');
      if (note.status === 'issued') {
        credited.set(
          note.invoice as string,
          (credited.get(note.invoice as string) ?? 0) + (note.amount as number),
        );
      }
    }
    for (const [invoiceId, amount] of credited) {
      const invoice = invoices.get(invoiceId) as StripeObject;
      expect(amount).toBeLessThanOrEqual(invoice.total as number);
      expect(invoice.post_payment_credit_notes_amount).toBe(amount);
    }
    const notesInWindow = objects.creditNotes.filter((n) => (n.created as number) >= windowStart);
    expect(notesInWindow.some((n) => n.status === 'void')).toBe(true);
    expect(notesInWindow.some((n) => n.status === 'issued')).toBe(true);
    expect(objects.creditNotes.some((n) => (n.created as number) < windowStart)).toBe(true);

    for (const dispute of objects.disputes) {
      const charge = charges.get(dispute.charge as string) as StripeObject;
      expect(charge.status).toBe('succeeded');
      expect(charge.disputed).toBe(true);
      expect(dispute.payment_intent).toBe(charge.payment_intent);
      expect(dispute.amount).toBe((charge.amount as number) - (charge.amount_refunded as number));
      expect(dispute.created as number).toBeGreaterThanOrEqual(charge.created as number);
    }
    expect(new Set(objects.disputes.map((d) => d.charge)).size).toBe(objects.disputes.length);
    const disputesInWindow = objects.disputes.filter((d) => (d.created as number) >= windowStart);
    const statuses = new Set(disputesInWindow.map((d) => d.status));
    expect(statuses).toContain('lost');
    expect(statuses.has('won') || statuses.has('needs_response')).toBe(true);
    const invoiced = disputesInWindow.filter((d) => invoiceOfIntent.has(d.payment_intent as string));
    expect(invoiced.length).toBeGreaterThan(0);
    expect(invoiced.length).toBeLessThan(disputesInWindow.length);
    expect(objects.disputes.some((d) => (d.created as number) < windowStart)).toBe(true);

    for (const object of [...objects.creditNotes, ...objects.disputes]) {
      const created = object.created as number;
      expect(created).toBeLessThanOrEqual(NOW);
      expect(created >= windowStart && created < windowStart + EDGE_GUARD_SECONDS).toBe(false);
    }
  });

  it('expect adjustments of imported orders only, with the counts of before', () => {
    const clinic = seedClinic(small);
    const { expected, objects } = clinic;
    const adjustments = Object.entries(expected.orderAdjustments);
    const invoiceOrders = new Set(
      objects.invoices
        .filter((i) => i.status !== 'draft' && (i.created as number) >= windowStart)
        .map((i) => i.id as string),
    );
    const intents = byId(objects.paymentIntents);
    expect(adjustments.length).toBeGreaterThan(4);
    for (const [orderId, adjustment] of adjustments) {
      const oneTime = intents.get(orderId);
      expect(
        invoiceOrders.has(orderId) ||
          (oneTime?.status === 'succeeded' && (oneTime.created as number) >= windowStart),
      ).toBe(true);
      expect(adjustment.amountLost).toBeLessThanOrEqual(adjustment.amountDisputed);
      expect(adjustment.disputeStatus === null).toBe(adjustment.amountDisputed === 0);
      if (oneTime) expect(adjustment.amountCredited).toBe(0);
    }
    const values = adjustments.map(([, a]) => a);
    expect(values.some((a) => a.amountCredited > 0 && a.amountDisputed > 0)).toBe(true);
    expect(values.some((a) => a.amountLost > 0)).toBe(true);
    // A void credit note leaves its order credited with nothing.
    expect(values.some((a) => a.amountCredited === 0 && a.disputeStatus === null)).toBe(true);
    expect(adjustments.some(([id, a]) => id.startsWith('pi_') && a.disputeStatus !== null)).toBe(true);
    expect(adjustments.some(([id, a]) => id.startsWith('in_') && a.disputeStatus !== null)).toBe(true);

    // Credit notes and disputes are no orders: the counts are those of the clinic without them.
    const without = expectedImports({ ...objects, creditNotes: [], disputes: [] }, { now: NOW });
    expect({ ...expected, orderAdjustments: {} }).toEqual(without);
    // A wider window also takes in those before the 90 days.
    const wide = expectedImports(objects, { now: NOW, windowDays: 400 });
    expect(Object.keys(wide.orderAdjustments).length).toBeGreaterThan(adjustments.length);
    expect(seedClinic(small)).toEqual(clinic);
  });
});
