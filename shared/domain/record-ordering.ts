/**
 * The ordering rule of the records (README "Webhooks", "Ordering"): Stripe does not order
 * deliveries, so a record is only overwritten by data at least as new as what last wrote it.
 * One rule for every path: a webhook's or a sweep's conditional write (the DynamoDB adapter
 * states it as a condition expression) and a backfill batch's merge in memory.
 *
 * @module
 */

/**
 * Which Stripe event last wrote a record: `created` (epoch seconds), then `rank`, then the event
 * id, so late or replayed events never move a record backwards.
 */
export interface RecordVersion {
  readonly created: number;
  /**
   * Orders events of the same second by what they mean, since Stripe's event ids carry no time:
   * a backfill snapshot 0, a creation 1, other changes 2, an end (a deletion, a void) 3, as each
   * kind declares (`eventRank` in stripe-kinds/registry.ts): an end wins its second, and a
   * snapshot loses it to any event.
   */
  readonly rank: 0 | 1 | 2 | 3;
  readonly eventId: string;
}

/** What a stored record keeps of the version that wrote it. */
export interface StoredVersion {
  /** {@link versionOrder} of that version. */
  readonly order: number;
  readonly eventId: string;
}

/** One comparable number: the second, then the rank within it. */
export function versionOrder(version: RecordVersion): number {
  return version.created * 4 + version.rank;
}

/**
 * Whether `incoming` may overwrite a record `stored` wrote: data at least as new wins, and the
 * same event applied twice is allowed (it changes nothing). A record nothing versioned yet
 * (`undefined`) takes any write.
 */
export function mayOverwrite(stored: StoredVersion | undefined, incoming: RecordVersion): boolean {
  if (!stored) return true;
  const order = versionOrder(incoming);
  return stored.order < order || (stored.order === order && stored.eventId <= incoming.eventId);
}

/** What an order keeps of the refund that last set its refunded total. */
export interface StoredRefund {
  /** {@link versionOrder} of the event that carried it. */
  readonly order: number;
  readonly amount: number;
}

/**
 * Whether a charge's refunded total `amount`, from an event of order `order`, may replace the
 * stored one: a later event wins, and within one event order the larger total (a refunded total
 * only grows). No merge runs it in memory (a batch hands refunds to the store's conditional
 * write); it states the rule that the store's REFUND_NEWER_OR_SAME is checked against.
 */
export function refundMayOverwrite(stored: StoredRefund | undefined, incoming: StoredRefund): boolean {
  if (!stored) return true;
  return (
    stored.order < incoming.order || (stored.order === incoming.order && stored.amount <= incoming.amount)
  );
}
