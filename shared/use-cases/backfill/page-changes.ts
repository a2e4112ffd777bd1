import type { StoreChange } from '../../domain/records.ts';
import { type BackfillPhase, backfillChanges } from '../../domain/stripe-kinds/registry.ts';

/**
 * What the pages of one backfill invocation ask of the record store, page by page: each listed
 * object's contribution (its kind's `backfill.changes`), less what would be written twice or
 * only be refused.
 *
 * - A customer is written once, however many objects of the invocation name it.
 * - A payment an InvoicePayment claimed (in an earlier page of this invocation) is the
 *   invoice's: nothing of its object but its refund is sent (its one-time candidate would only be
 *   refused by the store, which still refuses it after a resume), and the refund goes straight to
 *   the invoice.
 */
export class PageChanges {
  private readonly seenCustomers = new Set<string>();
  private readonly linkedIntents = new Map<string, string>();

  constructor(private readonly windowStartMs: number) {}

  of(phase: BackfillPhase, objects: readonly Readonly<Record<string, unknown>>[]): StoreChange[] {
    return objects
      .flatMap((object) => {
        const changes = backfillChanges(phase, object, this.windowStartMs);
        const claimed = changes.find((change) => change.kind === 'one_time_candidate');
        const invoiceId = claimed ? this.linkedIntents.get(claimed.paymentIntentId) : undefined;
        if (!invoiceId) return changes;
        return changes.flatMap((change) => (change.kind === 'refund' ? [{ ...change, invoiceId }] : []));
      })
      .filter((change) => {
        if (change.kind === 'payment_link') this.linkedIntents.set(change.paymentIntentId, change.invoiceId);
        if (change.kind !== 'customer') return true;
        if (this.seenCustomers.has(change.record.id)) return false;
        this.seenCustomers.add(change.record.id);
        return true;
      });
  }
}
