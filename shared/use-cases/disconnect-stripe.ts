import { NotConnectedError } from '../errors/not-connected-error.ts';
import type { BackfillStatusStore } from '../ports/backfill-status-store.ts';
import type { Clock } from '../ports/clock.ts';
import type { IntegrationRepository } from '../ports/integration-repository.ts';
import type { ErasureQueue, RevocationQueue } from '../ports/job-queues.ts';
import type { Log } from '../ports/log.ts';
import type { StripeOAuth } from '../ports/stripe-oauth.ts';
import type { TenantDataStore } from '../ports/tenant-data-store.ts';
import type { TokenStore } from '../ports/token-store.ts';
import type { WebhookSecretStore } from '../ports/webhook-secret-store.ts';
import { DATA_RETENTION_MS, requestErasure } from './data/erase-tenant-data.ts';
import { reasonOf } from './reason-of.ts';
import { REVOCATION_FIRST_DELAY_SECONDS } from './revocation-schedule.ts';

export interface DisconnectStripeDeps {
  readonly integrations: IntegrationRepository;
  readonly tokens: TokenStore;
  readonly webhookSecrets: WebhookSecretStore;
  readonly backfillStatus: BackfillStatusStore;
  readonly oauth: StripeOAuth;
  readonly revocationQueue: RevocationQueue;
  /** The account's data is kept 30 days after the disconnect (or erased at once on request). */
  readonly tenantData: TenantDataStore;
  readonly erasureQueue: ErasureQueue;
  readonly clock: Clock;
  readonly log: Log;
}

export type Revocation = 'revoked' | 'already_revoked' | 'scheduled' | 'skipped';

export interface DisconnectOptions {
  readonly revokeAtStripe: boolean;
  /** Erase the account's data now instead of keeping it 30 days. */
  readonly eraseNow?: boolean;
}

/**
 * Revokes at Stripe, then removes every local trace of the connection.
 *
 * Order matters for crash safety:
 * - the row is marked `disconnecting` first, so the tenant stops looking connected;
 * - the revocation job is queued before Stripe is called, so a function cut off mid-call (Stripe
 *   hanging, a timeout) still gets the token revoked; when Stripe confirms inline, the queued job
 *   later finds it already revoked;
 * - an account another tenant holds by now (a repeated DELETE after this one released it) is
 *   never revoked: that would cut the other tenant off;
 * - the data is marked kept (or erasing) before the row goes, so it is never left unaccounted;
 * - the row goes last, so a failure at any step leaves a row the next DELETE resumes from.
 * Every step is idempotent.
 */
export async function disconnectStripe(
  deps: DisconnectStripeDeps,
  tenantId: string,
  options: DisconnectOptions = { revokeAtStripe: true },
): Promise<Revocation> {
  const integration = await deps.integrations.getByTenant(tenantId);
  if (!integration) throw new NotConnectedError();
  const accountId = integration.stripeAccountId;
  await deps.integrations.markDisconnecting(tenantId, accountId);

  let revocation: Revocation = 'skipped';
  const holder = await deps.integrations.accountHolder(accountId);
  if (!options.revokeAtStripe) {
    revocation = 'already_revoked';
  } else if (holder !== undefined && holder !== tenantId) {
    deps.log.warn('stripe_revocation_skipped_account_reassigned', { tenantId, stripeAccountId: accountId });
  } else {
    await deps.revocationQueue.enqueueRevocation(
      { tenantId, stripeAccountId: accountId, firstFailedAt: deps.clock.now().toISOString(), attempt: 1 },
      REVOCATION_FIRST_DELAY_SECONDS,
    );
    try {
      revocation = await deps.oauth.deauthorize(accountId);
    } catch (error) {
      deps.log.warn('stripe_revocation_scheduled', {
        tenantId,
        stripeAccountId: accountId,
        reason: reasonOf(error),
      });
      revocation = 'scheduled';
    }
  }

  await deps.tokens.delete(tenantId);
  await deps.webhookSecrets.delete(tenantId);
  await deps.backfillStatus.delete(tenantId);
  await deps.tenantData.keep(tenantId, accountId, new Date(deps.clock.now().getTime() + DATA_RETENTION_MS));
  if (options.eraseNow) await requestErasure(deps, tenantId, accountId);
  await deps.integrations.releaseAccount(accountId, tenantId);
  await deps.integrations.delete(tenantId, accountId);
  deps.log.info('stripe_disconnected', { tenantId, stripeAccountId: accountId, revocation });
  return revocation;
}

/**
 * `DELETE …?erase=now` after the connection is already gone: the data kept from it is erased now.
 * Throws `NotConnectedError` when there is no kept data either.
 */
export async function eraseKeptData(
  deps: Pick<DisconnectStripeDeps, 'tenantData' | 'erasureQueue' | 'clock' | 'log'>,
  tenantId: string,
): Promise<void> {
  const data = await deps.tenantData.get(tenantId);
  if (!data || (data.state !== 'kept' && data.state !== 'erasing')) throw new NotConnectedError();
  await requestErasure(deps, tenantId, data.stripeAccountId);
  deps.log.info('stripe_data_erasure_requested', { tenantId, stripeAccountId: data.stripeAccountId });
}
