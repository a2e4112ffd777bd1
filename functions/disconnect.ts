import { disconnectStripe } from '#shared/use-cases/disconnect-stripe.ts';
import { createAwsDependencies } from './commons/aws-dependencies.ts';
import type { AppDependencies } from './commons/dependencies.ts';
import { json } from './commons/http.ts';
import { httpHandler, lazyHandler } from './commons/http-handler.ts';
import { authenticate } from './commons/session.ts';

type Deps = Pick<
  AppDependencies,
  | 'integrations'
  | 'tokens'
  | 'webhookSecrets'
  | 'backfillStatus'
  | 'oauth'
  | 'revocationQueue'
  | 'sessions'
  | 'clock'
  | 'log'
>;

/**
 * `DELETE /api/connect/stripe`: revokes at Stripe and deletes the connection. `revocation` tells
 * whether Stripe confirmed it now or a retry is scheduled; either way the tenant is disconnected.
 */
export function createDisconnectHandler(deps: Deps) {
  return httpHandler(async (event) => {
    const tenant = await authenticate(event, deps.sessions);
    const revocation = await disconnectStripe(deps, tenant.tenantId);
    return json(200, { disconnected: true, revocation });
  });
}

export const handler = lazyHandler(() => createDisconnectHandler(createAwsDependencies()));
