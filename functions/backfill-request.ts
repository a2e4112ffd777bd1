import { NotConnectedError } from '#shared/errors/not-connected-error.ts';
import { requestBackfill } from '#shared/use-cases/backfill/request-backfill.ts';
import { createAwsDependencies } from './commons/aws-dependencies.ts';
import type { AppDependencies } from './commons/dependencies.ts';
import { json } from './commons/http.ts';
import { httpHandler, lazyHandler } from './commons/http-handler.ts';
import { authenticate } from './commons/session.ts';

type Deps = Pick<AppDependencies, 'integrations' | 'backfillStatus' | 'backfillQueue' | 'sessions' | 'clock'>;

/** `POST /api/connect/stripe/backfill`: a tenant's re-sync of the last 90 days (one at a time). */
export function createBackfillRequestHandler(deps: Deps) {
  return httpHandler(async (event) => {
    const tenant = await authenticate(event, deps.sessions);
    if ((await deps.integrations.getByTenant(tenant.tenantId))?.status !== 'connected')
      throw new NotConnectedError();
    const runId = await requestBackfill(deps, tenant.tenantId);
    return json(202, { status: 'queued', runId });
  });
}

export const handler = lazyHandler(() => createBackfillRequestHandler(createAwsDependencies()));
