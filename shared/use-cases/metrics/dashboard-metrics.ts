import {
  type MetricsAnswer,
  parseMetricsQuery,
  renderMetrics,
} from '../../domain/metrics/dashboard-metrics.ts';
import { tenantFacts } from '../../domain/metrics/metric-facts.ts';
import { timelinesOf } from '../../domain/metrics/subscription-history.ts';
import type { Clock } from '../../ports/clock.ts';
import type { MetricsSource } from '../../ports/metrics-source.ts';

export interface DashboardMetricsDeps {
  readonly metrics: MetricsSource;
  readonly clock: Clock;
}

/**
 * `GET /api/stripe/metrics` (README "Metrics"): the query is checked before anything is read, then
 * the tenant's metrics are computed from its subscriptions' history, its orders and customers.
 * A ValidationError (400) for a bad query or a currency the tenant does not use.
 */
export async function dashboardMetrics(
  deps: DashboardMetricsDeps,
  tenantId: string,
  params: Readonly<Record<string, readonly string[]>>,
): Promise<MetricsAnswer> {
  const now = Math.floor(deps.clock.now().getTime() / 1000);
  const query = parseMetricsQuery(params, now);
  const input = await deps.metrics.tenantInput(tenantId);
  const sheet = tenantFacts({
    timelines: timelinesOf(input.entries),
    orders: input.orders,
    customers: input.customers,
  });
  return renderMetrics(sheet, query, now);
}
