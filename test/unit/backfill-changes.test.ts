import { describe, expect, it } from 'vitest';
import { backfillChanges } from '#shared/domain/stripe-kinds/registry.ts';

const T = 1_760_000_000;
const longId = `pi_${'x'.repeat(300)}`;

function intent(overrides: Record<string, unknown> = {}) {
  return {
    id: 'pi_1Good',
    object: 'payment_intent',
    status: 'succeeded',
    amount: 5000,
    amount_received: 5000,
    currency: 'usd',
    customer: 'cus_1Good',
    created: T,
    latest_charge: { id: 'ch_1Good', created: T + 5, amount_refunded: 0 },
    ...overrides,
  };
}

describe('backfill changes of listed objects with ids that cannot become keys', () => {
  it('takes a well-formed payment intent, its customer given as an id or as an object', () => {
    const [candidate] = backfillChanges('payment_intents', intent(), 0);
    expect(candidate).toMatchObject({ kind: 'one_time_candidate', paymentIntentId: 'pi_1Good' });
    expect(candidate?.kind === 'one_time_candidate' && candidate.record.customerId).toBe('cus_1Good');
    const expanded = backfillChanges('payment_intents', intent({ customer: { id: 'cus_1Good' } }), 0);
    const last = expanded.at(-1);
    expect(last?.kind === 'one_time_candidate' && last.record.customerId).toBe('cus_1Good');
  });

  it.each([
    ['longer than 255 characters', longId],
    ['with a quote', 'pi_1"quoted'],
    ['with a backslash', 'pi_1\\slash'],
    ['with a control character', 'pi_1\nnewline'],
    ['empty', ''],
  ])('skips a payment intent whose id is %s', (_, id) => {
    expect(backfillChanges('payment_intents', intent({ id }), 0)).toEqual([]);
  });

  it('keeps the payment but drops a customer reference that cannot be a key', () => {
    const changes = backfillChanges('payment_intents', intent({ customer: 'cus_1"bad' }), 0);
    expect(changes).toHaveLength(1);
    const [candidate] = changes;
    expect(candidate?.kind === 'one_time_candidate' && candidate.record.customerId).toBeNull();
  });

  it('links an invoice payment only when both ids can become keys', () => {
    const payment = (invoice: unknown, paymentIntent: unknown) => ({
      id: 'inpay_1',
      object: 'invoice_payment',
      invoice,
      payment: { type: 'payment_intent', payment_intent: paymentIntent },
    });
    expect(backfillChanges('invoice_payments', payment('in_1Good', 'pi_1Good'), 0)).toEqual([
      { kind: 'payment_link', paymentIntentId: 'pi_1Good', invoiceId: 'in_1Good' },
    ]);
    expect(backfillChanges('invoice_payments', payment({ id: 'in_1Good' }, { id: 'pi_1Good' }), 0)).toEqual([
      { kind: 'payment_link', paymentIntentId: 'pi_1Good', invoiceId: 'in_1Good' },
    ]);
    expect(backfillChanges('invoice_payments', payment(`in_${'y'.repeat(300)}`, 'pi_1Good'), 0)).toEqual([]);
    expect(backfillChanges('invoice_payments', payment('in_1Good', { id: 'pi_1\u0000' }), 0)).toEqual([]);
  });
});
