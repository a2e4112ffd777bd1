import type { OrderFactsInput } from '../domain/metrics/metric-facts.ts';
import type { HistoryEntry } from '../domain/metrics/subscription-history.ts';

/** What the metrics are computed from: every subscription's history, the orders, the customers. */
export interface TenantMetricsInput {
  readonly entries: readonly HistoryEntry[];
  readonly orders: readonly OrderFactsInput[];
  readonly customers: readonly { readonly created: string | null }[];
}

/** Reads the subscription history the record store writes (README "Metrics"). */
export interface MetricsSource {
  /** The entries of one subscription, any order; undefined when the tenant has no such subscription. */
  subscriptionHistory(tenantId: string, subscriptionId: string): Promise<HistoryEntry[] | undefined>;
  tenantInput(tenantId: string): Promise<TenantMetricsInput>;
}
