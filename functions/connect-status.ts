import { getConnectionStatus } from '#shared/use-cases/get-connection-status.ts';
import { createAwsDependencies } from './commons/aws-dependencies.ts';
import type { AppDependencies } from './commons/dependencies.ts';
import { json } from './commons/http.ts';
import { httpHandler, lazyHandler } from './commons/http-handler.ts';
import { authenticate } from './commons/session.ts';

type Deps = Pick<AppDependencies, 'integrations' | 'backfillStatus' | 'sessions'>;

/** `GET /api/connect/stripe/status`: what the settings page shows. */
export function createConnectStatusHandler(deps: Deps) {
  return httpHandler(async (event) => {
    const tenant = await authenticate(event, deps.sessions);
    return json(200, await getConnectionStatus(deps, tenant.tenantId));
  });
}

export const handler = lazyHandler(() => createConnectStatusHandler(createAwsDependencies()));
