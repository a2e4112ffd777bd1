import { NotConnectedError } from '#shared/errors/not-connected-error.ts';
import { RetryLaterError } from '#shared/errors/retry-later-error.ts';
import { ERASING_RETRY_AFTER_SECONDS } from '#shared/use-cases/apply-stripe-event.ts';
import { requestBackfill } from '#shared/use-cases/backfill/request-backfill.ts';
import { createAwsDependencies } from './commons/aws-dependencies.ts';
import type { AppDependencies } from './commons/dependencies.ts';
import { json } from './commons/http.ts';
import { httpHandler, lazyHandler } from './commons/http-handler.ts';
import { authenticate } from './commons/session.ts';

type Deps = Pick<
  AppDependencies,
  'integrations' | 'backfillStatus' | 'backfillQueue' | 'tenantData' | 'sessions' | 'clock'
>;

/** `POST /api/connect/stripe/backfill`: a tenant's re-sync of the last 90 days (one at a time). */
export function createBackfillRequestHandler(deps: Deps) {
  return httpHandler(async (event) => {
    const tenant = await authenticate(event, deps.sessions);
    if ((await deps.integrations.getByTenant(tenant.tenantId))?.status !== 'connected')
      throw new NotConnectedError();
    // The previous account's data is still being erased; its end starts this account's backfill.
    if ((await deps.tenantData.get(tenant.tenantId))?.state === 'erasing') {
      throw new RetryLaterError(
        409,
        'previous_account_data_erasing',
        "The previous Stripe account's data is being erased; the import starts when that is done",
        ERASING_RETRY_AFTER_SECONDS,
      );
    }
    const runId = await requestBackfill(deps, tenant.tenantId);
    return json(202, { status: 'queued', runId });
  });
}

export const handler = lazyHandler(() => createBackfillRequestHandler(createAwsDependencies()));

/** The route table's name for this module's factory (the local stack loads it by `entry`). */
export const createHandler = createBackfillRequestHandler;
