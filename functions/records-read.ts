import { RECORD_COLLECTIONS as COLLECTIONS, type RecordCollection } from '#shared/domain/records.ts';
import { createAwsDependencies } from './commons/aws-dependencies.ts';
import type { AppDependencies } from './commons/dependencies.ts';
import { json, jsonError, queryParams } from './commons/http.ts';
import { httpHandler, lazyHandler } from './commons/http-handler.ts';
import { parseCursor, parseLimit } from './commons/paging.ts';
import { authenticate } from './commons/session.ts';

type Deps = Pick<AppDependencies, 'records' | 'sessions'>;

/**
 * `GET /api/stripe/{customers,subscriptions,orders}?limit=1..100&cursor=…`: the session's
 * tenant's records for the dashboards, newest first, as `{data, nextCursor}`.
 */
export function createRecordsReadHandler(deps: Deps) {
  return httpHandler(async (event) => {
    const tenant = await authenticate(event, deps.sessions);
    const collection = event.pathParameters?.collection as RecordCollection | undefined;
    if (!collection || !COLLECTIONS.includes(collection)) return jsonError(404, 'not_found', 'No such route');
    const query = queryParams(event);
    const page = await deps.records.list(
      tenant.tenantId,
      collection,
      parseLimit(query.getAll('limit')),
      parseCursor(query.getAll('cursor')),
    );
    return json(200, page);
  });
}

export const handler = lazyHandler(() => createRecordsReadHandler(createAwsDependencies()));

/** The route table's name for this module's factory (the local stack loads it by `entry`). */
export const createHandler = createRecordsReadHandler;
