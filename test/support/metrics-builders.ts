import { renderMetrics } from '#shared/domain/metrics/dashboard-metrics.ts';
import { type OrderFactsInput, tenantFacts } from '#shared/domain/metrics/metric-facts.ts';
import { type HistoryEntry, subscriptionTimeline } from '#shared/domain/metrics/subscription-history.ts';
import type { BillingInterval, SubscriptionItemRecord, SubscriptionRecord } from '#shared/domain/records.ts';

/** Epoch seconds of a UTC date-time written `2026-03-15` or `2026-03-15T10:00:00`. */
export const at = (when: string) => Date.parse(when.includes('T') ? `${when}Z` : `${when}T00:00:00Z`) / 1000;
const isoAt = (seconds: number | null) => (seconds === null ? null : new Date(seconds * 1000).toISOString());

export function price(
  unitAmount: number | null,
  interval: BillingInterval = 'month',
  quantity = 1,
  intervalCount = 1,
) {
  return {
    priceId: 'price_x',
    productId: 'prod_x',
    unitAmount,
    quantity,
    interval,
    intervalCount,
  } satisfies SubscriptionItemRecord;
}

export interface SnapshotOptions {
  readonly customer?: string | null;
  readonly status?: string;
  readonly items?: readonly SubscriptionItemRecord[];
  readonly currency?: string;
  readonly cancelAtPeriodEnd?: boolean;
  /** Epoch seconds. */
  readonly start?: number;
  readonly trialEnd?: number | null;
  readonly endedAt?: number | null;
}

export function subscriptionRecord(id: string, options: SnapshotOptions = {}): SubscriptionRecord {
  return {
    id,
    customerId: options.customer === undefined ? 'cus_1' : options.customer,
    status: options.status ?? 'active',
    currency: options.currency ?? 'usd',
    items: options.items ?? [price(1_000)],
    mrr: 0,
    cancelAtPeriodEnd: options.cancelAtPeriodEnd ?? false,
    canceledAt: null,
    endedAt: isoAt(options.endedAt ?? null),
    trialEnd: isoAt(options.trialEnd ?? null),
    currentPeriodEnd: null,
    startDate: isoAt(options.start ?? null),
    created: isoAt(options.start ?? null),
  };
}

let sequence = 0;

/** An entry of subscription `id` effective at `effectiveAt` (epoch seconds). */
export function entry(
  id: string,
  effectiveAt: number,
  options: SnapshotOptions & {
    readonly source?: 'event' | 'backfill';
    readonly rank?: 0 | 1 | 2 | 3;
    readonly eventId?: string;
  } = {},
): HistoryEntry {
  sequence += 1;
  return {
    effectiveAt,
    rank: options.rank ?? (options.source === 'backfill' ? 0 : 2),
    eventId: options.eventId ?? `evt_${String(sequence).padStart(8, '0')}`,
    source: options.source ?? 'event',
    record: subscriptionRecord(id, options),
  };
}

export interface TenantData {
  readonly entries: readonly HistoryEntry[];
  readonly orders?: readonly OrderFactsInput[];
  readonly customers?: readonly { readonly created: string | null }[];
}

/** The metrics of `data` from scratch: entries grouped by subscription, any order. */
export function metricsOf(
  data: TenantData,
  query: { from: string; to: string; currency?: string },
  now: number,
) {
  const bySubscription = new Map<string, HistoryEntry[]>();
  for (const e of data.entries)
    bySubscription.set(e.record.id, [...(bySubscription.get(e.record.id) ?? []), e]);
  const timelines = [...bySubscription.values()].flatMap((entries) => subscriptionTimeline(entries) ?? []);
  const sheet = tenantFacts({ timelines, orders: data.orders ?? [], customers: data.customers ?? [] });
  return renderMetrics(sheet, { from: query.from, to: query.to, currency: query.currency }, now);
}

/** One month of an answer by its name. */
export function monthOf(answer: ReturnType<typeof metricsOf>, month: string) {
  const found = answer.months.find((m) => m.month === month);
  if (!found) throw new Error(`no month ${month} in the answer`);
  return found;
}
