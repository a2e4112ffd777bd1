import type { StripeEventEnvelope } from '../records.ts';
import {
  MalformedPayloadError,
  readAmount,
  readId,
  readOptionalAmount,
  readOptionalString,
  readReference,
  whenWellFormed,
} from '../stripe-payload-readers.ts';
import { changes, type StripeKind } from './stripe-kind.ts';

/**
 * Credit notes: an invoice credited after it was finalized was not fully earned. Each credit
 * note is kept on its invoice's order under its own id, so the order's `amountCredited` is the
 * sum of those not voided, whatever order the events arrive in.
 */
export const creditNoteKind = {
  name: 'credit note',
  events: {
    'credit_note.created': {
      object: 'credit_note',
      rank: 1,
      map: (event) => creditNoteChange(event, 'issued'),
    },
    'credit_note.updated': {
      object: 'credit_note',
      rank: 2,
      map: (event) => creditNoteChange(event, 'issued'),
    },
    'credit_note.voided': { object: 'credit_note', rank: 3, map: (event) => creditNoteChange(event, 'void') },
  },
  backfill: [
    {
      phase: 'credit_notes',
      lane: 0,
      resource: 'creditNotes',
      createdFilter: true,
      changes: (object) => {
        const change = whenWellFormed(object, (creditNote) => toCreditNoteChange(creditNote, undefined));
        return change ? [change] : [];
      },
    },
  ],
} as const satisfies StripeKind;

function creditNoteChange(event: StripeEventEnvelope, fallbackStatus: string) {
  return changes(toCreditNoteChange(event.object, fallbackStatus));
}

/** `fallbackStatus` stands in for a missing `status` (from the event type); API reads always have one. */
function toCreditNoteChange(creditNote: CreditNotePayload, fallbackStatus: string | undefined) {
  const creditNoteId = readId(creditNote.id);
  const invoiceId = readReference(creditNote.invoice);
  if (invoiceId === null) {
    throw new MalformedPayloadError('invoice');
  }
  const status = readOptionalString(creditNote.status) ?? fallbackStatus;
  if (status === undefined) {
    throw new MalformedPayloadError('status');
  }
  // `total` includes tax, like the invoice's `total` the order's `amount` comes from.
  const amount = readOptionalAmount(creditNote.total) ?? readAmount(creditNote.amount);
  return { kind: 'credit_note', creditNoteId, invoiceId, amount, voided: status === 'void' } as const;
}

/** The payload fields read (see stripe-payload-types.ts for the other kinds'). */
/** A CreditNote. */
interface CreditNotePayload {
  readonly id?: unknown;
  /** The invoice id (or the Invoice when expanded). */
  readonly invoice?: unknown;
  /** `issued` or `void`. */
  readonly status?: unknown;
  /** Including tax; `amount` is the same total in every API version. */
  readonly total?: unknown;
  readonly amount?: unknown;
}
