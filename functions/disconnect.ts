import { NotConnectedError } from '#shared/errors/not-connected-error.ts';
import { ValidationError } from '#shared/errors/validation-error.ts';
import { disconnectStripe, eraseKeptData, type Revocation } from '#shared/use-cases/disconnect-stripe.ts';
import { createAwsDependencies } from './commons/aws-dependencies.ts';
import type { AppDependencies } from './commons/dependencies.ts';
import { json, queryParams } from './commons/http.ts';
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
  | 'tenantData'
  | 'erasureQueue'
  | 'sessions'
  | 'clock'
  | 'log'
>;

/**
 * `DELETE /api/connect/stripe[?erase=now]`: revokes at Stripe and deletes the connection.
 * `revocation` tells whether Stripe confirmed it now or a retry is scheduled; either way the
 * tenant is disconnected. The data is kept 30 days (`data.eraseAfter`), or erased at once with
 * `erase=now`, which also erases data kept from an earlier connection.
 */
export function createDisconnectHandler(deps: Deps) {
  return httpHandler(async (event) => {
    const tenant = await authenticate(event, deps.sessions);
    const eraseNow = parseErase(queryParams(event));
    let revocation: Revocation | null;
    try {
      revocation = await disconnectStripe(deps, tenant.tenantId, { revokeAtStripe: true, eraseNow });
    } catch (error) {
      if (!(error instanceof NotConnectedError) || !eraseNow) throw error;
      await eraseKeptData(deps, tenant.tenantId);
      revocation = null;
    }
    const data = await deps.tenantData.get(tenant.tenantId);
    return json(200, {
      disconnected: true,
      revocation,
      data: {
        state: data && data.state !== 'active' ? data.state : null,
        eraseAfter: data?.state === 'kept' ? data.eraseAfter : null,
      },
    });
  });
}

/** Only `erase=now` (once) is understood: anything else is refused before any change. */
function parseErase(params: URLSearchParams): boolean {
  const values = params.getAll('erase');
  if (values.length === 0) return false;
  if (values.length === 1 && values[0] === 'now') return true;
  throw new ValidationError('invalid_erase', 'erase must be "now" when given');
}

export const handler = lazyHandler(() => createDisconnectHandler(createAwsDependencies()));

/** The route table's name for this module's factory (the local stack loads it by `entry`). */
export const createHandler = createDisconnectHandler;
