/**
 * Events created up to this long before the newest one a sweep saw are read again by the next
 * sweep: Stripe's list can show an event a moment after a later one of the same second was
 * listed. The ledger drops what was already applied, at one conditional write each.
 */
export const SWEEP_OVERLAP_SECONDS = 300;

/**
 * Where the first sweep of a connection starts (Stripe lists `created > cursor`): a little before
 * the connection, so an event of the connection's own second, created after the backfill read its
 * lists, still comes. The backfill covers everything older; the ledger drops the repeats.
 */
export function firstSweepCursor(connectedAt: Date): number {
  return Math.floor(connectedAt.getTime() / 1000) - SWEEP_OVERLAP_SECONDS;
}
