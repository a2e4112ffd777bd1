import type { OrderAdjustments, RecordChange } from './records.ts';

/**
 * Refunds, credit notes and disputes adjust an order after it was paid (README "Records").
 * Where each lands, and what the order shows of them, is decided here; the record store only
 * keeps them (each under its own guard) and reads them back.
 *
 * @module
 */

type Refund = Extract<RecordChange, { kind: 'refund' }>;
type Dispute = Extract<RecordChange, { kind: 'dispute' }>;

/**
 * Which order a payment's adjustment lands on: a known order id, or the order its payment
 * intent is, which takes the store's link (an invoice that claimed the payment intent wins).
 */
export type PaymentTarget =
  | { readonly kind: 'order'; readonly orderId: string }
  | { readonly kind: 'payment_intent'; readonly paymentIntentId: string };

/**
 * A refund goes to the invoice when the payload names it, to the payment intent's own order when
 * the payload says no invoice owns it (older API versions carry the `invoice` key), and
 * otherwise wherever the payment intent's link leads. Null: nothing to adjust.
 */
export function refundTarget(refund: Refund): PaymentTarget | null {
  const known = refund.invoiceId ?? (refund.invoiceKnown ? refund.paymentIntentId : null);
  if (known) return { kind: 'order', orderId: known };
  return refund.paymentIntentId ? { kind: 'payment_intent', paymentIntentId: refund.paymentIntentId } : null;
}

/** A dispute names its payment intent, never the invoice: the link decides. */
export function disputeTarget(dispute: Dispute): PaymentTarget {
  return { kind: 'payment_intent', paymentIntentId: dispute.paymentIntentId };
}

/** What an order keeps of one credit note, under the credit note's id. */
export interface CreditEntry {
  readonly amount: number;
  readonly voided: boolean;
}

/** What an order keeps of one dispute, under the dispute's id. */
export interface DisputeEntry {
  readonly amount: number;
  readonly status: string;
  readonly openedAt: number;
}

export const creditEntry = (change: Extract<RecordChange, { kind: 'credit_note' }>): CreditEntry => ({
  amount: change.amount,
  voided: change.voided,
});

export const disputeEntry = (change: Dispute): DisputeEntry => ({
  amount: change.amount,
  status: change.status,
  openedAt: change.openedAt,
});

/**
 * The order's adjusted amounts: credit notes not voided, all disputes, lost disputes, and the
 * status of the latest dispute (by when it was opened, then by id).
 */
export function summariseAdjustments(
  amountRefunded: number,
  credits: ReadonlyMap<string, CreditEntry>,
  disputes: ReadonlyMap<string, DisputeEntry>,
): OrderAdjustments {
  let amountCredited = 0;
  for (const credit of credits.values()) if (!credit.voided) amountCredited += credit.amount;
  let amountDisputed = 0;
  let amountLost = 0;
  let latest: { id: string; entry: DisputeEntry } | undefined;
  for (const [id, entry] of disputes) {
    amountDisputed += entry.amount;
    if (entry.status === 'lost') amountLost += entry.amount;
    if (
      !latest ||
      entry.openedAt > latest.entry.openedAt ||
      (entry.openedAt === latest.entry.openedAt && id > latest.id)
    ) {
      latest = { id, entry };
    }
  }
  return {
    amountRefunded,
    amountCredited,
    amountDisputed,
    disputeStatus: latest?.entry.status ?? null,
    amountLost,
  };
}
