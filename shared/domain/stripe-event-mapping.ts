import type { EventMapping, StripeEventEnvelope } from './records.ts';
import { EVENT_HANDLERS, type HandledStripeEventType } from './stripe-kinds/registry.ts';
import { ignored } from './stripe-kinds/stripe-kind.ts';
import { MalformedPayloadError } from './stripe-payload-readers.ts';

export {
  EVENT_HANDLERS,
  HANDLED_STRIPE_EVENT_TYPES,
  type HandledStripeEventType,
} from './stripe-kinds/registry.ts';

/**
 * Stripe event → record changes (README "Webhooks", "Records"). Each kind's module under
 * `stripe-kinds/` maps its own events; this dispatches to it. The envelope is checked first
 * (stripe-event-envelope.ts).
 *
 * Pure: no I/O, no clock, no `stripe` package. Payloads arrive rendered in the API version of the
 * endpoint that received them, which is not necessarily the SDK's (`2026-10-28.endive`), so every
 * field is read defensively and both shapes are understood:
 * - older versions (up to `2025-02-24.acacia`): `current_period_end` on the subscription;
 *   `subscription`, `payment_intent`, `charge` and `paid` on the invoice; `invoice` on charges and
 *   payment intents;
 * - `2025-03-31.basil` and later: billing periods on the subscription items; the invoice's
 *   subscription under `parent.subscription_details.subscription`; no invoice on charges or
 *   payment intents, and the invoice ↔ payment link is the InvoicePayment object
 *   (`invoice_payment.paid`).
 *
 * Records keep ids, statuses, amounts, currency, price/product/interval and timestamps only:
 * never names, emails, phone numbers, addresses or card details (README "Records": patients' data is PHI).
 *
 * A payload that does not have the shape of its event type is ignored with a
 * `malformed_<object>` reason instead of throwing: processing would otherwise fail, and Stripe would
 * redeliver the same bad payload for three days.
 *
 * @module
 */

/**
 * Why {@link mapStripeEvent} ignored an event; stored in the event ledger as the outcome.
 * `unhandled_type` (no kind maps it), `malformed_<object>` (`data.object` lacks a field the event
 * needs, or has one of the wrong type), or a kind's own reason: `draft_invoice`,
 * `invoice_payment_without_payment_intent`, `refund_without_payment`,
 * `dispute_without_payment_intent`.
 */
export type IgnoredReason = string;

/**
 * Turns one Stripe event into the record changes it asks for. Never throws on a bad payload:
 * unhandled types and malformed objects come back as `{outcome: 'ignored', reason}`.
 */
export function mapStripeEvent(event: StripeEventEnvelope): EventMapping {
  if (!Object.hasOwn(EVENT_HANDLERS, event.type)) {
    return ignored('unhandled_type');
  }
  const handler = EVENT_HANDLERS[event.type as HandledStripeEventType];
  if (handler.object === undefined) {
    return handler.map(event);
  }
  try {
    if (event.object.object !== undefined && event.object.object !== handler.object) {
      throw new MalformedPayloadError('object');
    }
    return handler.map(event);
  } catch (error) {
    if (error instanceof MalformedPayloadError) {
      return ignored(`malformed_${handler.object}`);
    }
    throw error;
  }
}
