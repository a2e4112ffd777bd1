import Stripe from 'stripe';
import { describe, expect, it } from 'vitest';
import { disputeTarget, refundTarget, summariseAdjustments } from '#shared/domain/order-adjustments.ts';
import type { StripeEventEnvelope } from '#shared/domain/records.ts';
import { mapStripeEvent } from '#shared/domain/stripe-event-mapping.ts';
import {
  BACKFILL_LANES,
  BACKFILL_LIST_OF,
  BACKFILL_PHASES,
  backfillChanges,
  eventRank,
  HANDLED_STRIPE_EVENT_TYPES,
  STRIPE_KINDS,
  SWEPT_STRIPE_EVENT_TYPES,
} from '#shared/domain/stripe-kinds/registry.ts';

const T0 = 1_767_225_600;

function event(type: string, object: Record<string, unknown>): StripeEventEnvelope {
  return { id: 'evt_1', type, created: T0, livemode: false, account: null, apiVersion: null, object };
}

const creditNote = (overrides: Record<string, unknown> = {}) => ({
  id: 'cn_1',
  object: 'credit_note',
  invoice: 'in_1',
  customer: 'cus_1',
  amount: 1200,
  total: 1200,
  currency: 'usd',
  status: 'issued',
  created: T0,
  ...overrides,
});

const dispute = (overrides: Record<string, unknown> = {}) => ({
  id: 'dp_1',
  object: 'dispute',
  charge: 'ch_1',
  payment_intent: 'pi_1',
  amount: 4900,
  currency: 'usd',
  status: 'needs_response',
  created: T0,
  ...overrides,
});

describe('the registry of Stripe kinds', () => {
  it('names each event type once, and each backfill list once', () => {
    const types = STRIPE_KINDS.flatMap((kind) => Object.keys(kind.events));
    expect(new Set(types).size).toBe(types.length);
    expect([...HANDLED_STRIPE_EVENT_TYPES].sort()).toEqual([...types].sort());
    expect(new Set(BACKFILL_PHASES).size).toBe(BACKFILL_PHASES.length);
    expect(BACKFILL_LANES.flat().sort()).toEqual([...BACKFILL_PHASES].sort());
  });

  it('reads each list through a stripe-node resource that has a list', () => {
    const stripe = new Stripe('sk_test_registry') as unknown as Record<
      string,
      { list?: unknown } | undefined
    >;
    for (const phase of BACKFILL_PHASES) {
      const { resource } = BACKFILL_LIST_OF[phase];
      expect({ phase, list: typeof stripe[resource]?.list }).toEqual({ phase, list: 'function' });
    }
  });

  it('walks invoice payments before payment intents and disputes, in one lane', () => {
    const lane = BACKFILL_LANES.find((phases) => phases.includes('payment_intents')) ?? [];
    expect(lane.indexOf('invoice_payments')).toBeGreaterThanOrEqual(0);
    expect(lane.indexOf('invoice_payments')).toBeLessThan(lane.indexOf('payment_intents'));
    expect(lane.indexOf('invoice_payments')).toBeLessThan(lane.indexOf('disputes'));
    expect(BACKFILL_LANES).toHaveLength(2);
  });

  it('sweeps every handled type but the deauthorization', () => {
    expect(SWEPT_STRIPE_EVENT_TYPES).not.toContain('account.application.deauthorized');
    expect(SWEPT_STRIPE_EVENT_TYPES).toHaveLength(HANDLED_STRIPE_EVENT_TYPES.length - 1);
    expect(SWEPT_STRIPE_EVENT_TYPES).toEqual(
      expect.arrayContaining(['credit_note.voided', 'charge.dispute.closed']),
    );
  });

  it('ranks a creation first and an end last within a second, as each kind declares', () => {
    expect(eventRank('credit_note.created')).toBe(1);
    expect(eventRank('credit_note.updated')).toBe(2);
    expect(eventRank('credit_note.voided')).toBe(3);
    expect(eventRank('charge.dispute.created')).toBe(1);
    expect(eventRank('charge.dispute.funds_withdrawn')).toBe(2);
    expect(eventRank('charge.dispute.closed')).toBe(3);
    expect(eventRank('something.new')).toBe(2);
  });
});

describe('credit notes', () => {
  it('map to the credited amount on their invoice; a voided one credits nothing', () => {
    expect(mapStripeEvent(event('credit_note.created', creditNote()))).toEqual({
      outcome: 'changes',
      changes: [
        { kind: 'credit_note', creditNoteId: 'cn_1', invoiceId: 'in_1', amount: 1200, voided: false },
      ],
    });
    expect(mapStripeEvent(event('credit_note.voided', creditNote({ status: 'void' })))).toMatchObject({
      changes: [{ kind: 'credit_note', voided: true }],
    });
    // A payload without a status takes the one its event type implies.
    const { status: _status, ...statusless } = creditNote();
    expect(mapStripeEvent(event('credit_note.voided', statusless))).toMatchObject({
      changes: [{ voided: true }],
    });
  });

  it('read `total` (tax included), and `amount` where an old payload has no total', () => {
    expect(mapStripeEvent(event('credit_note.created', creditNote({ total: 1320 })))).toMatchObject({
      changes: [{ amount: 1320 }],
    });
    const { total: _total, ...old } = creditNote({ amount: 800 });
    expect(mapStripeEvent(event('credit_note.created', old))).toMatchObject({ changes: [{ amount: 800 }] });
  });

  it('without an invoice, an amount, or of another object, are malformed and ignored', () => {
    for (const object of [
      creditNote({ invoice: null }),
      creditNote({ total: null, amount: 'x' }),
      creditNote({ object: 'invoice' }),
      creditNote({ id: 'cn_\u0000' }),
    ]) {
      expect(mapStripeEvent(event('credit_note.created', object))).toEqual({
        outcome: 'ignored',
        reason: 'malformed_credit_note',
      });
    }
  });

  it('come from the backfill list as the same change; junk is skipped', () => {
    expect(backfillChanges('credit_notes', creditNote({ status: 'void' }), 0)).toEqual([
      { kind: 'credit_note', creditNoteId: 'cn_1', invoiceId: 'in_1', amount: 1200, voided: true },
    ]);
    expect(backfillChanges('credit_notes', { id: 'cn_2', status: 'issued' }, 0)).toEqual([]);
  });
});

describe('disputes', () => {
  it('map to a dispute of the payment intent, with status and when it was opened', () => {
    expect(mapStripeEvent(event('charge.dispute.closed', dispute({ status: 'lost' })))).toEqual({
      outcome: 'changes',
      changes: [
        {
          kind: 'dispute',
          disputeId: 'dp_1',
          paymentIntentId: 'pi_1',
          amount: 4900,
          status: 'lost',
          openedAt: T0,
        },
      ],
    });
  });

  it('of a charge without a payment intent are ignored; malformed ones too', () => {
    expect(mapStripeEvent(event('charge.dispute.created', dispute({ payment_intent: null })))).toEqual({
      outcome: 'ignored',
      reason: 'dispute_without_payment_intent',
    });
    for (const object of [dispute({ status: null }), dispute({ amount: 1.5 }), dispute({ created: 'x' })]) {
      expect(mapStripeEvent(event('charge.dispute.updated', object))).toEqual({
        outcome: 'ignored',
        reason: 'malformed_dispute',
      });
    }
  });

  it("land where the payment intent's link leads; refunds name their invoice when the payload does", () => {
    expect(
      disputeTarget({
        kind: 'dispute',
        disputeId: 'dp_1',
        paymentIntentId: 'pi_1',
        amount: 1,
        status: 'lost',
        openedAt: 0,
      }),
    ).toEqual({
      kind: 'payment_intent',
      paymentIntentId: 'pi_1',
    });
    const refund = { kind: 'refund', amountRefunded: 5 } as const;
    expect(
      refundTarget({ ...refund, invoiceId: 'in_1', paymentIntentId: 'pi_1', invoiceKnown: true }),
    ).toEqual({
      kind: 'order',
      orderId: 'in_1',
    });
    expect(refundTarget({ ...refund, invoiceId: null, paymentIntentId: 'pi_1', invoiceKnown: true })).toEqual(
      {
        kind: 'order',
        orderId: 'pi_1',
      },
    );
    expect(
      refundTarget({ ...refund, invoiceId: null, paymentIntentId: 'pi_1', invoiceKnown: false }),
    ).toEqual({
      kind: 'payment_intent',
      paymentIntentId: 'pi_1',
    });
    expect(
      refundTarget({ ...refund, invoiceId: null, paymentIntentId: null, invoiceKnown: false }),
    ).toBeNull();
  });
});

describe("an order's adjustments", () => {
  it('sum live credit notes, all disputes and lost ones, and take the latest dispute status', () => {
    const credits = new Map([
      ['cn_1', { amount: 1000, voided: false }],
      ['cn_2', { amount: 300, voided: true }],
      ['cn_3', { amount: 200, voided: false }],
    ]);
    const disputes = new Map([
      ['dp_b', { amount: 4900, status: 'lost', openedAt: T0 }],
      ['dp_a', { amount: 2500, status: 'won', openedAt: T0 + 10 }],
      ['dp_c', { amount: 100, status: 'under_review', openedAt: T0 + 10 }],
    ]);
    expect(summariseAdjustments(700, credits, disputes)).toEqual({
      amountRefunded: 700,
      amountCredited: 1200,
      amountDisputed: 7500,
      amountLost: 4900,
      disputeStatus: 'under_review',
    });
  });

  it('are zero, and no dispute status, when nothing adjusted the order', () => {
    expect(summariseAdjustments(0, new Map(), new Map())).toEqual({
      amountRefunded: 0,
      amountCredited: 0,
      amountDisputed: 0,
      amountLost: 0,
      disputeStatus: null,
    });
  });
});
