import type { StoreChange } from '../records.ts';
import { accountKind } from './account.ts';
import { creditNoteKind } from './credit-note.ts';
import { customerKind } from './customer.ts';
import { disputeKind } from './dispute.ts';
import { invoiceOrderKind } from './invoice-order.ts';
import { oneTimeOrderKind } from './one-time-order.ts';
import type { BackfillList, EventHandler, StripeKind } from './stripe-kind.ts';
import { subscriptionKind } from './subscription.ts';

/**
 * Every Stripe object kind the connector copies (README "Layout", "Stripe kinds"). The order
 * is the order of the backfill's lists within each lane; customers come last, as most of them
 * arrive expanded inside the other lists first.
 */
export const STRIPE_KINDS = [
  subscriptionKind,
  invoiceOrderKind,
  oneTimeOrderKind,
  creditNoteKind,
  disputeKind,
  customerKind,
  accountKind,
] as const satisfies readonly StripeKind[];

type Kind = (typeof STRIPE_KINDS)[number];

/** The event types the connector maps; any other is ignored (`unhandled_type`). */
export type HandledStripeEventType = EventsOf<Kind> & string;
type EventsOf<K> = K extends { readonly events: infer E } ? keyof E : never;

/** The backfill's lists. */
export type BackfillPhase = Kind['backfill'][number]['phase'];

export const EVENT_HANDLERS: Readonly<Record<HandledStripeEventType, EventHandler>> = Object.assign(
  {},
  ...STRIPE_KINDS.map((kind) => kind.events),
);

export const HANDLED_STRIPE_EVENT_TYPES = Object.keys(EVENT_HANDLERS) as readonly HandledStripeEventType[];

/**
 * What the Events API sweep asks for: every handled type but the deauthorization, which reaches
 * the platform's Connect endpoint only (an account's events cannot be read after it).
 */
export const SWEPT_STRIPE_EVENT_TYPES: readonly HandledStripeEventType[] = HANDLED_STRIPE_EVENT_TYPES.filter(
  (type) => !accountKind.events[type as keyof typeof accountKind.events],
);

const BACKFILL_LISTS = STRIPE_KINDS.flatMap((kind): readonly BackfillList[] => kind.backfill);

/** Every backfill list by its phase. */
export const BACKFILL_LIST_OF: Readonly<Record<BackfillPhase, BackfillList>> = Object.fromEntries(
  BACKFILL_LISTS.map((list) => [list.phase, list]),
) as Record<BackfillPhase, BackfillList>;

/** The lists a backfill walks, in registry order. */
export const BACKFILL_PHASES = BACKFILL_LISTS.map((list) => list.phase as BackfillPhase);

/** Each lane's lists in the order they are walked; the lanes run at once. */
export const BACKFILL_LANES: readonly (readonly BackfillPhase[])[] = [0, 1].map((lane) =>
  BACKFILL_LISTS.filter((list) => list.lane === lane).map((list) => list.phase as BackfillPhase),
);

export function isBackfillPhase(value: unknown): value is BackfillPhase {
  return typeof value === 'string' && Object.hasOwn(BACKFILL_LIST_OF, value);
}

/**
 * Within one second a creation comes first and an end (a deletion, a void, a closed dispute)
 * last: Stripe's event ids carry no time (README "Webhooks", "Ordering"). Unknown types rank as
 * changes.
 */
export function eventRank(type: string): 1 | 2 | 3 {
  return Object.hasOwn(EVENT_HANDLERS, type) ? EVENT_HANDLERS[type as HandledStripeEventType].rank : 2;
}

/** What one object of a backfill list contributes (see each kind's `backfill`). */
export function backfillChanges(
  phase: BackfillPhase,
  object: Readonly<Record<string, unknown>>,
  windowStartMs: number,
): StoreChange[] {
  return BACKFILL_LIST_OF[phase].changes(object, windowStartMs);
}
