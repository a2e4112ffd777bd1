import { dashboardMetrics } from '#shared/use-cases/metrics/dashboard-metrics.ts';
import { createAwsDependencies } from './commons/aws-dependencies.ts';
import type { AppDependencies } from './commons/dependencies.ts';
import { json, queryParams } from './commons/http.ts';
import { httpHandler, lazyHandler } from './commons/http-handler.ts';
import { authenticate } from './commons/session.ts';

type Deps = Pick<AppDependencies, 'metrics' | 'sessions' | 'clock'>;

/** `GET /api/stripe/metrics?from=YYYY-MM&to=YYYY-MM&currency=usd`: the dashboards' numbers. */
export function createMetricsReadHandler(deps: Deps) {
  return httpHandler(async (event) => {
    const tenant = await authenticate(event, deps.sessions);
    const query = queryParams(event);
    const params: Record<string, string[]> = {};
    for (const name of ['from', 'to', 'currency']) {
      if (query.has(name)) params[name] = query.getAll(name);
    }
    const answer = await dashboardMetrics(
      { metrics: deps.metrics, clock: deps.clock },
      tenant.tenantId,
      params,
    );
    return json(200, answer);
  });
}

export const handler = lazyHandler(() => createMetricsReadHandler(createAwsDependencies()));

/** The route table's name for this module's factory (the local stack loads it by `entry`). */
export const createHandler = createMetricsReadHandler;
