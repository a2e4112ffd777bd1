import type { CustomerRecord, StoreChange, StripeEventEnvelope } from '../records.ts';
import { readId, readTimestamp, whenWellFormed } from '../stripe-payload-readers.ts';
import type { CustomerPayload } from '../stripe-payload-types.ts';
import { changes, type StripeKind } from './stripe-kind.ts';

/**
 * Customers (patients): `{id, created, deleted}` only, never a name or an email. A deleted
 * customer stays as a tombstone. Every other kind's list expands its customer inline, so the
 * customers a backfill imports are those of the window and those an imported object refers to.
 */
export const customerKind = {
  name: 'customer',
  events: {
    'customer.created': { object: 'customer', rank: 1, map: (event) => customerChange(event, false) },
    'customer.updated': { object: 'customer', rank: 2, map: (event) => customerChange(event, false) },
    'customer.deleted': { object: 'customer', rank: 3, map: (event) => customerChange(event, true) },
  },
  backfill: [
    {
      phase: 'customers',
      lane: 0,
      resource: 'customers',
      createdFilter: true,
      changes: (object) => {
        const record = mapCustomerObject(object);
        return record ? [{ kind: 'customer', record }] : [];
      },
    },
  ],
} as const satisfies StripeKind;

/** A Customer as a {@link CustomerRecord}, or `undefined` when it has no usable id. */
export function mapCustomerObject(object: unknown, deleted = false): CustomerRecord | undefined {
  return whenWellFormed(object, (customer) => toCustomerRecord(customer, deleted));
}

/** The customer a listed object carries expanded (`expand[]=data.customer`), if any. */
export function expandedCustomer(customer: unknown): StoreChange[] {
  if (!customer || typeof customer !== 'object') return [];
  const record = mapCustomerObject(customer, (customer as { deleted?: unknown }).deleted === true);
  return record ? [{ kind: 'customer', record }] : [];
}

function customerChange(event: StripeEventEnvelope, deleted: boolean) {
  return changes({ kind: 'customer', record: toCustomerRecord(event.object, deleted) });
}

function toCustomerRecord(customer: CustomerPayload, deleted: boolean): CustomerRecord {
  return { id: readId(customer.id), created: readTimestamp(customer.created), deleted };
}
