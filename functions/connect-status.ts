import { getConnectionStatus } from '#shared/use-cases/get-connection-status.ts';
import { createAwsDependencies } from './commons/aws-dependencies.ts';
import type { AppDependencies } from './commons/dependencies.ts';
import { json } from './commons/http.ts';
import { httpHandler, lazyHandler } from './commons/http-handler.ts';
import { authenticate } from './commons/session.ts';

type Deps = Pick<
  AppDependencies,
  'integrations' | 'backfillStatus' | 'tenantData' | 'sessions' | 'oauthSettings'
>;

/** `GET /api/connect/stripe/status`: what the settings page shows. */
export function createConnectStatusHandler(deps: Deps) {
  return httpHandler(async (event) => {
    const tenant = await authenticate(event, deps.sessions);
    // Named, not spread: spreading the composition would build every adapter, and this function
    // has neither the settings nor the grants for most of them.
    const status = await getConnectionStatus(
      {
        integrations: deps.integrations,
        backfillStatus: deps.backfillStatus,
        tenantData: deps.tenantData,
        apiBaseUrl: deps.oauthSettings.apiBaseUrl,
      },
      tenant.tenantId,
    );
    return json(200, status);
  });
}

export const handler = lazyHandler(() => createConnectStatusHandler(createAwsDependencies()));

/** The route table's name for this module's factory (the local stack loads it by `entry`). */
export const createHandler = createConnectStatusHandler;
