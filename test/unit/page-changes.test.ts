import { describe, expect, it } from 'vitest';
import { PageChanges } from '#shared/use-cases/backfill/page-changes.ts';
import { current, ids, T0 } from '../../scripts/stripe-emulator/stripe-objects.ts';

describe("PageChanges: what an invocation's pages write", () => {
  it('writes each customer once, however many pages name it', () => {
    const pages = new PageChanges(0);
    const first = pages.of('invoices', [current.invoice({ customer: current.customer() })]);
    const second = pages.of('invoices', [current.invoice({ id: 'in_2', customer: current.customer() })]);
    expect(first.map((c) => c.kind)).toEqual(['order', 'customer']);
    expect(second.map((c) => c.kind)).toEqual(['order']);
  });

  it("sends a claimed payment intent's refund to its invoice, and not its one-time order", () => {
    const pages = new PageChanges(0);
    expect(pages.of('invoice_payments', [current.invoicePayment()])).toEqual([
      { kind: 'payment_link', paymentIntentId: ids.paymentIntent, invoiceId: ids.invoice },
    ]);
    const refunded = current.paymentIntent({
      status: 'succeeded',
      latest_charge: current.charge({ amount_refunded: 700, created: T0 }),
    });
    expect(pages.of('payment_intents', [refunded])).toEqual([
      {
        kind: 'refund',
        invoiceId: ids.invoice,
        paymentIntentId: ids.paymentIntent,
        amountRefunded: 700,
        invoiceKnown: false,
      },
    ]);
  });

  it('leaves an unclaimed payment a one-time candidate', () => {
    const pages = new PageChanges(0);
    const changes = pages.of('payment_intents', [current.oneTimePaymentIntent({ status: 'succeeded' })]);
    expect(changes.map((c) => c.kind)).toContain('one_time_candidate');
  });
});
