/**
 * The dashboard records (README "Records"): PHI-minimal copies of Stripe objects.
 * Amounts are integers in minor units, timestamps ISO-8601 UTC strings.
 */
export interface CustomerRecord {
  readonly id: string;
  readonly created: string | null;
  readonly deleted: boolean;
}

export type BillingInterval = 'day' | 'week' | 'month' | 'year';

export interface SubscriptionItemRecord {
  readonly priceId: string | null;
  readonly productId: string | null;
  /** Per-unit amount in minor units; null for tiered or metered prices without one. */
  readonly unitAmount: number | null;
  readonly quantity: number;
  readonly interval: BillingInterval | null;
  readonly intervalCount: number;
}

export interface SubscriptionRecord {
  readonly id: string;
  readonly customerId: string | null;
  /** Stripe's own status word (active, past_due, trialing, canceled, …). */
  readonly status: string;
  readonly currency: string | null;
  readonly items: readonly SubscriptionItemRecord[];
  /** Monthly recurring revenue in minor units (0 unless the subscription is billing). */
  readonly mrr: number;
  readonly cancelAtPeriodEnd: boolean;
  readonly canceledAt: string | null;
  readonly endedAt: string | null;
  readonly trialEnd: string | null;
  /** From the subscription (older API versions) or its items (2025-03-31.basil and later). */
  readonly currentPeriodEnd: string | null;
  /** When it began billing or trialing: Stripe's `start_date` (a backdated one too). */
  readonly startDate: string | null;
  readonly created: string | null;
}

export interface OrderRecord {
  readonly id: string;
  readonly kind: 'invoice' | 'one_time';
  readonly status: string;
  readonly amount: number;
  readonly amountPaid: number;
  readonly currency: string | null;
  readonly customerId: string | null;
  readonly subscriptionId: string | null;
  readonly created: string | null;
  readonly paidAt: string | null;
}

/**
 * What an order gains from the objects that adjust it after the fact (README "Records").
 * Refunds, credit notes and disputes each keep their own guard, so none overwrites another.
 */
export interface OrderAdjustments {
  /** The charge's refunded total. */
  readonly amountRefunded: number;
  /** Credit notes issued against the invoice and not voided. */
  readonly amountCredited: number;
  /** Every dispute opened against the order's payment, whatever its outcome. */
  readonly amountDisputed: number;
  /** The status of the latest dispute; null when there is none. */
  readonly disputeStatus: string | null;
  /** Disputes lost: money the clinic gave back. */
  readonly amountLost: number;
}

/** The record collections, one per kind of dashboard record. */
export const RECORD_COLLECTIONS = ['customers', 'subscriptions', 'orders'] as const;
export type RecordCollection = (typeof RECORD_COLLECTIONS)[number];

/**
 * What one Stripe event asks of the record store. Mapping (pure) produces these; applying them
 * (with the ordering guard) is the record store's job.
 */
export type RecordChange =
  | { readonly kind: 'customer'; readonly record: CustomerRecord }
  | { readonly kind: 'subscription'; readonly record: SubscriptionRecord }
  | { readonly kind: 'order'; readonly record: OrderRecord }
  /**
   * A payment intent that may be a one-time payment: payloads of 2025-03-31.basil and later do
   * not say whether an invoice owns it, so the store checks for a known invoice link first.
   */
  | { readonly kind: 'one_time_candidate'; readonly paymentIntentId: string; readonly record: OrderRecord }
  /** An invoice paid by a payment intent (InvoicePayment, or older payloads' `payment_intent`). */
  | { readonly kind: 'payment_link'; readonly paymentIntentId: string; readonly invoiceId: string }
  /**
   * A charge's refunded total (absolute, so replays are harmless). `invoiceId` when the payload
   * names the invoice (older API versions); otherwise the store resolves the payment intent.
   */
  | {
      readonly kind: 'refund';
      readonly invoiceId: string | null;
      readonly paymentIntentId: string | null;
      readonly amountRefunded: number;
      /**
       * True when the payload carried the `invoice` key (older API versions), so a null
       * `invoiceId` is a fact (a one-time payment) and the store need not look the link up.
       */
      readonly invoiceKnown: boolean;
    }
  /**
   * A credit note issued against an invoice (or voided: it then credits nothing). Each is kept
   * under its own id on the invoice's order, so the credited total is the sum of the live ones.
   */
  | {
      readonly kind: 'credit_note';
      readonly creditNoteId: string;
      readonly invoiceId: string;
      readonly amount: number;
      readonly voided: boolean;
    }
  /**
   * A dispute of the charge a payment intent made: it lands, like a refund, on the order that
   * payment is (the invoice's when an invoice claimed it, else the one-time payment's).
   */
  | {
      readonly kind: 'dispute';
      readonly disputeId: string;
      readonly paymentIntentId: string;
      readonly amount: number;
      /** Stripe's word: `needs_response`, `under_review`, `won`, `lost`, `warning_*`, … */
      readonly status: string;
      /** When the dispute was opened (epoch seconds): the latest one gives the order its status. */
      readonly openedAt: number;
    }
  | { readonly kind: 'deauthorized' };

/** What the record store applies: every change but the deauthorization (a connection matter). */
export type StoreChange = Exclude<RecordChange, { readonly kind: 'deauthorized' }>;

/** A Stripe event reduced to what processing needs; `object` is `data.object`. */
export interface StripeEventEnvelope {
  readonly id: string;
  readonly type: string;
  readonly created: number;
  readonly livemode: boolean;
  readonly account: string | null;
  readonly apiVersion: string | null;
  readonly object: Record<string, unknown>;
}

export type EventMapping =
  | { readonly outcome: 'changes'; readonly changes: readonly RecordChange[] }
  | { readonly outcome: 'ignored'; readonly reason: string };
