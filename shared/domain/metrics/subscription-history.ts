import { subscriptionMrr } from '../mrr.ts';
import type { RecordVersion } from '../record-ordering.ts';
import type { SubscriptionItemRecord, SubscriptionRecord } from '../records.ts';

/**
 * A subscription's history (README "Metrics"): every event and every backfill snapshot of it is an
 * entry, and the state at an instant is the newest entry at or before it. The past before the
 * first entry is reconstructed from that entry's object, always from the earliest entry held (a
 * late event may move it).
 *
 * @module
 */

/** One observation of a subscription: what an event carried, or what a backfill fetched. */
export interface HistoryEntry {
  /** Epoch seconds: the event's `created`, or when the backfill fetched the snapshot. */
  readonly effectiveAt: number;
  /** Orders entries of one second: snapshot 0, created 1, updated 2, deleted 3 (record-ordering.ts). */
  readonly rank: RecordVersion['rank'];
  /** The event's id; a backfill's is its run's snapshot id. */
  readonly eventId: string;
  readonly source: 'event' | 'backfill';
  readonly record: SubscriptionRecord;
}

/** What the metrics read of a subscription at an instant. */
export interface SubscriptionState {
  readonly status: string;
  readonly items: readonly SubscriptionItemRecord[];
  readonly cancelAtPeriodEnd: boolean;
  readonly currency: string | null;
  /** Epoch seconds; null while it has not ended. MRR is 0 from then on, whatever the status. */
  readonly endedAt: number | null;
}

/** From `from` (epoch seconds) until the next segment's `from`, the subscription was `state`. */
export interface HistorySegment {
  readonly from: number;
  readonly source: 'event' | 'backfill' | 'reconstructed';
  readonly state: SubscriptionState;
}

/** A subscription's whole known life, oldest first; before the first segment it did not exist. */
export interface SubscriptionTimeline {
  readonly subscriptionId: string;
  /** The customer of its newest entry (a subscription never changes customer at Stripe). */
  readonly customerId: string | null;
  readonly segments: readonly HistorySegment[];
}

/** The entry order of design §3: effective time, then rank (created < updated < deleted), then id. */
export function compareEntries(a: HistoryEntry, b: HistoryEntry): number {
  if (a.effectiveAt !== b.effectiveAt) return a.effectiveAt - b.effectiveAt;
  if (a.rank !== b.rank) return a.rank - b.rank;
  return a.eventId < b.eventId ? -1 : a.eventId > b.eventId ? 1 : 0;
}

const seconds = (iso: string | null): number | null => {
  if (iso === null) return null;
  const ms = Date.parse(iso);
  return Number.isNaN(ms) ? null : Math.floor(ms / 1000);
};

function stateOf(record: SubscriptionRecord, status = record.status): SubscriptionState {
  return {
    status,
    items: record.items,
    cancelAtPeriodEnd: record.cancelAtPeriodEnd,
    currency: record.currency,
    endedAt: seconds(record.endedAt),
  };
}

/**
 * The past before an entry, from its object alone: nothing before `start_date` (or `created`);
 * `trialing` over [start, trial_end) when the trial ends after the start; then the entry's own
 * status until `ended_at` (the entry's time when not ended), or, for an ended one, `active` if it
 * ended `canceled` and `incomplete` if it ended `incomplete_expired` (it never paid); `canceled`
 * from `ended_at`. Each piece is cut at the entry's time; items are the entry's throughout.
 */
export function reconstructedPast(entry: HistoryEntry): HistorySegment[] {
  const { record } = entry;
  const start = seconds(record.startDate) ?? seconds(record.created);
  if (start === null || start >= entry.effectiveAt) return [];
  const trialEnd = seconds(record.trialEnd);
  const endedAt = seconds(record.endedAt);
  const ended = endedAt !== null;
  const afterTrial = !ended
    ? record.status
    : record.status === 'canceled'
      ? 'active'
      : record.status === 'incomplete_expired'
        ? 'incomplete'
        : record.status;
  const notEnded = { ...stateOf(record), endedAt: null };
  const pieces: { from: number; state: SubscriptionState }[] = [];
  if (trialEnd !== null && trialEnd > start)
    pieces.push({ from: start, state: { ...notEnded, status: 'trialing' } });
  pieces.push({
    from: trialEnd !== null && trialEnd > start ? trialEnd : start,
    state: { ...notEnded, status: afterTrial },
  });
  if (ended) pieces.push({ from: endedAt, state: { ...stateOf(record), status: 'canceled' } });
  // A piece starts where the previous one ends; the ended piece also cuts the trial short.
  const segments: HistorySegment[] = [];
  for (let i = 0; i < pieces.length; i += 1) {
    const piece = pieces[i] as (typeof pieces)[number];
    const from = Math.max(piece.from, start);
    const until = Math.min(entry.effectiveAt, ...pieces.slice(i + 1).map((next) => next.from));
    if (from < until) segments.push({ from, source: 'reconstructed', state: piece.state });
  }
  return segments;
}

/**
 * The timeline of one subscription's entries, in any order, duplicates allowed: the same entries
 * give the same timeline whatever order or how often they arrived.
 */
export function subscriptionTimeline(entries: readonly HistoryEntry[]): SubscriptionTimeline | undefined {
  const sorted = [...entries].sort(compareEntries);
  const first = sorted[0];
  const last = sorted.at(-1);
  if (!first || !last) return undefined;
  const segments = reconstructedPast(first);
  let previous: HistoryEntry | undefined;
  for (const entry of sorted) {
    if (previous && compareEntries(previous, entry) === 0) continue;
    previous = entry;
    const segment: HistorySegment = {
      from: entry.effectiveAt,
      source: entry.source,
      state: stateOf(entry.record),
    };
    // Several entries of one second: the last in order holds the second.
    if (segments.at(-1)?.from === entry.effectiveAt) segments[segments.length - 1] = segment;
    else segments.push(segment);
  }
  return { subscriptionId: last.record.id, customerId: last.record.customerId, segments };
}

/** The segment in force at `t` (epoch seconds), or undefined before the subscription existed. */
export function stateAt(timeline: SubscriptionTimeline, t: number): SubscriptionState | undefined {
  const { segments } = timeline;
  let low = 0;
  let high = segments.length - 1;
  let found: HistorySegment | undefined;
  while (low <= high) {
    const middle = (low + high) >> 1;
    const segment = segments[middle] as HistorySegment;
    if (segment.from <= t) {
      found = segment;
      low = middle + 1;
    } else {
      high = middle - 1;
    }
  }
  return found?.state;
}

/**
 * MRR of a state at `t` (design §3 item 3): 0 once it has ended, else the list-price run rate of
 * its items while `active` or `past_due` (`cancel_at_period_end` keeps it until the end).
 */
export function stateMrr(state: SubscriptionState | undefined, t: number): number {
  if (!state) return 0;
  if (state.endedAt !== null && state.endedAt <= t) return 0;
  return subscriptionMrr(state.status, state.items);
}

/** The timelines of a tenant's entries, one per subscription, whatever their order. */
export function timelinesOf(entries: readonly HistoryEntry[]): SubscriptionTimeline[] {
  const bySubscription = new Map<string, HistoryEntry[]>();
  for (const entry of entries) {
    const list = bySubscription.get(entry.record.id);
    if (list) list.push(entry);
    else bySubscription.set(entry.record.id, [entry]);
  }
  return [...bySubscription.values()].flatMap((list) => subscriptionTimeline(list) ?? []);
}
