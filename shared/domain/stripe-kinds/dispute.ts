import type { StoreChange, StripeEventEnvelope } from '../records.ts';
import {
  MalformedPayloadError,
  readAmount,
  readId,
  readOptionalString,
  readReference,
  whenWellFormed,
} from '../stripe-payload-readers.ts';
import { changes, ignored, type StripeKind } from './stripe-kind.ts';

/**
 * Disputes: a cardholder contests a charge; a lost dispute takes the money back. Each is kept
 * under its own id on the order its payment is (the invoice's when an invoice claimed the payment
 * intent), which shows the disputed and lost totals and the latest dispute's status.
 */
export const disputeKind = {
  name: 'dispute',
  events: {
    'charge.dispute.created': { object: 'dispute', rank: 1, map: disputeChange },
    'charge.dispute.updated': { object: 'dispute', rank: 2, map: disputeChange },
    'charge.dispute.funds_withdrawn': { object: 'dispute', rank: 2, map: disputeChange },
    'charge.dispute.funds_reinstated': { object: 'dispute', rank: 2, map: disputeChange },
    'charge.dispute.closed': { object: 'dispute', rank: 3, map: disputeChange },
  },
  backfill: [
    {
      // After the invoice payments in their lane: a dispute of an invoice's payment then finds
      // the link that sends it to the invoice.
      phase: 'disputes',
      lane: 1,
      resource: 'disputes',
      createdFilter: true,
      changes: (object): StoreChange[] => {
        const change = whenWellFormed(object, toDisputeChange);
        return change ? [change] : [];
      },
    },
  ],
} as const satisfies StripeKind;

function disputeChange(event: StripeEventEnvelope) {
  const change = toDisputeChange(event.object);
  // A charge made without a payment intent (the legacy Charges API) is no order of ours.
  return change ? changes(change) : ignored('dispute_without_payment_intent');
}

function toDisputeChange(dispute: DisputePayload) {
  const disputeId = readId(dispute.id);
  readReference(dispute.charge);
  const status = readOptionalString(dispute.status);
  if (status === null || status.length === 0) {
    throw new MalformedPayloadError('status');
  }
  const amount = readAmount(dispute.amount);
  if (typeof dispute.created !== 'number' || !Number.isSafeInteger(dispute.created)) {
    throw new MalformedPayloadError('created');
  }
  const paymentIntentId = readReference(dispute.payment_intent);
  if (paymentIntentId === null) return undefined;
  return { kind: 'dispute', disputeId, paymentIntentId, amount, status, openedAt: dispute.created } as const;
}

/** The payload fields read (see stripe-payload-types.ts for the other kinds'). */
/** A Dispute. */
interface DisputePayload {
  readonly id?: unknown;
  readonly charge?: unknown;
  /** `null` for a charge made without a payment intent. */
  readonly payment_intent?: unknown;
  readonly amount?: unknown;
  readonly status?: unknown;
  readonly created?: unknown;
}
