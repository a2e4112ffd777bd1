import type { EventMapping, RecordChange, StoreChange, StripeEventEnvelope } from '../records.ts';
import { isStripeObjectId } from '../stripe-ids.ts';

/**
 * What the connector knows about one kind of Stripe object (README "Layout", "Stripe kinds"):
 * the events it maps and how, the lists a backfill walks for it, and the record it writes.
 * `registry.ts` derives everything kind-wide from these entries (the handled event types, the
 * sweep's types, event ranks, backfill phases and lanes); adding a kind is one module here and
 * its line in the registry.
 *
 * Pure: no I/O, no clock, no `stripe` package.
 *
 * @module
 */

/** How one event type is turned into record changes. */
export interface EventHandler {
  /**
   * The `object` word `data.object` must carry (a different one is `malformed_<object>`);
   * `undefined` when the payload is not read.
   */
  readonly object: string | undefined;
  /**
   * Order within one second (README "Webhooks", "Ordering"): a creation 1, a change 2, an end
   * (deletion, void) 3.
   */
  readonly rank: 1 | 2 | 3;
  /** May throw `MalformedPayloadError`, which the dispatcher turns into `malformed_<object>`. */
  readonly map: (event: StripeEventEnvelope) => EventMapping;
}

/** One Stripe list a backfill walks: a phase of one of the two lanes. */
export interface BackfillList {
  readonly phase: string;
  /**
   * Lists of a lane are walked one after the other, in registry order; the two lanes run at
   * once. A list that needs another's writes first (a payment intent needs the invoice payments
   * that claim it) goes after it in the same lane.
   */
  readonly lane: 0 | 1;
  /**
   * The stripe-node resource whose `list` reads it (`customers`, `invoicePayments`, …): the
   * Stripe adapter refuses a name the SDK does not have.
   */
  readonly resource: string;
  /** Whether Stripe can filter the list by `created` (then only the window is read). */
  readonly createdFilter: boolean;
  /** Extra list parameters (`status: 'all'`). */
  readonly params?: Readonly<Record<string, string>>;
  /** `expand[]`: related objects inline, so none costs a request of its own. */
  readonly expand?: readonly string[];
  /**
   * What one listed object contributes (README "Backfill", "What is imported"); `windowStartMs`
   * is where the window begins.
   */
  readonly changes: (object: Readonly<Record<string, unknown>>, windowStartMs: number) => StoreChange[];
}

export interface StripeKind {
  readonly name: string;
  readonly events: Readonly<Record<string, EventHandler>>;
  readonly backfill: readonly BackfillList[];
}

export function changes(...list: RecordChange[]): EventMapping {
  return { outcome: 'changes', changes: list };
}

export function ignored(reason: string): EventMapping {
  return { outcome: 'ignored', reason };
}

/**
 * The id of a listed object's reference, given as a string or as an expanded object; null unless
 * it can become a key, so a listed object with a hostile id is skipped like a webhook's would be.
 */
export function listedId(value: unknown): string | null {
  const id = typeof value === 'string' ? value : (value as { id?: unknown } | null)?.id;
  return isStripeObjectId(id) ? id : null;
}
