import type { Clock } from '../ports/clock.ts';
import type { IntegrationRepository } from '../ports/integration-repository.ts';
import type { RevocationJob, RevocationQueue } from '../ports/job-queues.ts';
import type { Log } from '../ports/log.ts';
import type { StripeOAuth } from '../ports/stripe-oauth.ts';
import { reasonOf } from './reason-of.ts';
import { REVOCATION_GIVE_UP_AFTER_MS, revocationDelaySeconds } from './revocation-schedule.ts';

export interface RetryRevocationDeps {
  readonly integrations: IntegrationRepository;
  readonly oauth: StripeOAuth;
  readonly revocationQueue: RevocationQueue;
  readonly clock: Clock;
  readonly log: Log;
  readonly random?: () => number;
}

export type RetryOutcome = 'revoked' | 'already_revoked' | 'skipped_reconnected' | 'rescheduled';

/**
 * The worker holds the account's claim while it revokes, so a connect of the same account that is
 * in flight either finished first (and the revocation is skipped) or waits for it (and sees
 * `stripe_account_in_use` for that moment). Not a valid tenant id, so it never collides with one.
 */
export const REVOCATION_CLAIMANT = '~revocation-worker';

/** Thrown after 3 days of failures: the message goes to the DLQ, whose alarm calls a human. */
export class RevocationAbandonedError extends Error {
  override readonly name = 'RevocationAbandonedError';
}

export async function retryRevocation(deps: RetryRevocationDeps, job: RevocationJob): Promise<RetryOutcome> {
  // A tenant may have connected this account again since: revoking now would cut it off.
  const claim = await deps.integrations.claimAccount(
    job.stripeAccountId,
    REVOCATION_CLAIMANT,
    deps.clock.now(),
  );
  if (claim.outcome === 'held') {
    const holder = await deps.integrations.getByTenant(claim.tenantId);
    const stillOurs =
      claim.tenantId === REVOCATION_CLAIMANT ||
      (claim.tenantId === job.tenantId && holder?.status !== 'connected');
    if (!stillOurs) {
      deps.log.info('stripe_revocation_skipped_reconnected', { stripeAccountId: job.stripeAccountId });
      return 'skipped_reconnected';
    }
  }
  try {
    return await revoke(deps, job);
  } finally {
    if (claim.outcome === 'claimed')
      await deps.integrations.releaseAccount(job.stripeAccountId, REVOCATION_CLAIMANT);
  }
}

async function revoke(deps: RetryRevocationDeps, job: RevocationJob): Promise<RetryOutcome> {
  try {
    const result = await deps.oauth.deauthorize(job.stripeAccountId);
    deps.log.info('stripe_revocation_retried', {
      tenantId: job.tenantId,
      stripeAccountId: job.stripeAccountId,
      result,
    });
    return result;
  } catch (error) {
    const elapsed = deps.clock.now().getTime() - Date.parse(job.firstFailedAt);
    const reason = reasonOf(error);
    if (!(elapsed < REVOCATION_GIVE_UP_AFTER_MS)) {
      deps.log.error('stripe_revocation_abandoned', { ...jobLog(job), reason });
      throw new RevocationAbandonedError(`revocation of ${job.stripeAccountId} failed for 3 days: ${reason}`);
    }
    const attempt = job.attempt + 1;
    await deps.revocationQueue.enqueueRevocation(
      { ...job, attempt },
      revocationDelaySeconds(attempt, deps.random),
    );
    deps.log.warn('stripe_revocation_rescheduled', { ...jobLog(job), attempt, reason });
    return 'rescheduled';
  }
}

function jobLog(job: RevocationJob) {
  return { tenantId: job.tenantId, stripeAccountId: job.stripeAccountId, firstFailedAt: job.firstFailedAt };
}
