import { isStripeObjectId } from '#shared/domain/stripe-ids.ts';
import { subscriptionHistoryPage } from '#shared/use-cases/metrics/subscription-history.ts';
import { createAwsDependencies } from './commons/aws-dependencies.ts';
import type { AppDependencies } from './commons/dependencies.ts';
import { json, jsonError, queryParams } from './commons/http.ts';
import { httpHandler, lazyHandler } from './commons/http-handler.ts';
import { parseCursor, parseLimit } from './commons/paging.ts';
import { authenticate } from './commons/session.ts';

type Deps = Pick<AppDependencies, 'metrics' | 'sessions'>;

/**
 * `GET /api/stripe/subscriptions/{id}/history?limit=1..100&cursor=…`: a subscription's states,
 * oldest first, as `{data, nextCursor}`.
 */
export function createSubscriptionHistoryHandler(deps: Deps) {
  return httpHandler(async (event) => {
    const tenant = await authenticate(event, deps.sessions);
    const id = event.pathParameters?.id;
    const query = queryParams(event);
    const limit = parseLimit(query.getAll('limit'));
    const cursor = parseCursor(query.getAll('cursor'));
    if (!isStripeObjectId(id)) return jsonError(404, 'not_found', 'No such subscription');
    const page = await subscriptionHistoryPage({ metrics: deps.metrics }, tenant.tenantId, id, limit, cursor);
    if (!page) return jsonError(404, 'not_found', 'No such subscription');
    return json(200, page);
  });
}

export const handler = lazyHandler(() => createSubscriptionHistoryHandler(createAwsDependencies()));

/** The route table's name for this module's factory (the local stack loads it by `entry`). */
export const createHandler = createSubscriptionHistoryHandler;
