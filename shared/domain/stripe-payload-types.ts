/**
 * The Stripe payload shapes the mapping reads (stripe-event-mapping.ts). Every field is
 * `unknown`: these document what is read (and in which API versions it appears); the readers
 * (stripe-payload-readers.ts) check it.
 *
 * @module
 */

/** A Customer. `created` is absent from some `customer.deleted` payloads. */
export interface CustomerPayload {
  readonly id?: unknown;
  readonly created?: unknown;
}

/** A Subscription. */
export interface SubscriptionPayload {
  readonly id?: unknown;
  readonly status?: unknown;
  readonly currency?: unknown;
  /** A customer id, or the Customer when expanded. */
  readonly customer?: unknown;
  /** `{object: 'list', data: SubscriptionItem[]}`. */
  readonly items?: unknown;
  readonly cancel_at_period_end?: unknown;
  readonly canceled_at?: unknown;
  readonly ended_at?: unknown;
  readonly trial_end?: unknown;
  /** When the subscription began (its `created` unless backdated). */
  readonly start_date?: unknown;
  readonly created?: unknown;
  /** Up to `2025-02-24.acacia`; from basil on, each item has its own. */
  readonly current_period_end?: unknown;
}

/** A SubscriptionItem. */
export interface SubscriptionItemPayload {
  /** The Price; absent only from very old payloads, which carry `plan` alone. */
  readonly price?: unknown;
  /** The legacy Plan (`amount`, `interval`, `interval_count`, `product`). */
  readonly plan?: unknown;
  /** Absent for metered prices: counts as 1. */
  readonly quantity?: unknown;
  /** `2025-03-31.basil` and later. */
  readonly current_period_end?: unknown;
}

/** A Price (or, with the `amount*` and top-level interval fields, a legacy Plan). */
export interface PricePayload {
  readonly id?: unknown;
  readonly currency?: unknown;
  /** A product id, or the Product when expanded. */
  readonly product?: unknown;
  /** `null` for tiered prices. */
  readonly unit_amount?: unknown;
  /** A decimal string (or a stripe-node `Decimal`), for sub-cent prices. */
  readonly unit_amount_decimal?: unknown;
  /** `{interval, interval_count}`; `null` for one-time prices. */
  readonly recurring?: unknown;
}

export interface PlanPayload {
  readonly id?: unknown;
  readonly currency?: unknown;
  readonly product?: unknown;
  readonly amount?: unknown;
  readonly amount_decimal?: unknown;
  readonly interval?: unknown;
  readonly interval_count?: unknown;
}

/** An Invoice. */
export interface InvoicePayload {
  readonly id?: unknown;
  readonly status?: unknown;
  readonly total?: unknown;
  readonly amount_due?: unknown;
  readonly amount_paid?: unknown;
  readonly currency?: unknown;
  readonly customer?: unknown;
  /** Up to `2025-02-24.acacia`. */
  readonly subscription?: unknown;
  /** `2025-03-31.basil` and later: `{subscription_details: {subscription}}`. */
  readonly parent?: unknown;
  /** Up to `2025-02-24.acacia`. */
  readonly payment_intent?: unknown;
  readonly created?: unknown;
  /** `{paid_at, finalized_at, voided_at, marked_uncollectible_at}`. */
  readonly status_transitions?: unknown;
}

/** An InvoicePayment (`2025-03-31.basil` and later). */
export interface InvoicePaymentPayload {
  readonly id?: unknown;
  readonly invoice?: unknown;
  /** `{type: 'payment_intent' | 'charge' | 'payment_record' | …, payment_intent?}`. */
  readonly payment?: unknown;
}

/** A PaymentIntent. */
export interface PaymentIntentPayload {
  readonly id?: unknown;
  readonly status?: unknown;
  readonly amount?: unknown;
  readonly amount_received?: unknown;
  readonly currency?: unknown;
  readonly customer?: unknown;
  /** Up to `2025-02-24.acacia`: the invoice id, or `null` for a payment of no invoice. */
  readonly invoice?: unknown;
  readonly created?: unknown;
}

/** A Charge. */
export interface ChargePayload {
  readonly id?: unknown;
  readonly amount_refunded?: unknown;
  /** Up to `2025-02-24.acacia`. */
  readonly invoice?: unknown;
  readonly payment_intent?: unknown;
}
