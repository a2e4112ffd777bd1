import type { ConnectOutcome } from '../domain/connect-outcome.ts';
import {
  STRIPE_ACCOUNT_ID_PATTERN,
  type StripeIntegration,
  type StripeToken,
  tokenToStore,
} from '../domain/integration.ts';
import { constantTimeEqual, NONCE_PATTERN, sha256 } from '../domain/nonce.ts';
import { StripeExchangeError } from '../errors/stripe-exchange-error.ts';
import type { BackfillStatusStore } from '../ports/backfill-status-store.ts';
import type { Clock } from '../ports/clock.ts';
import type { IntegrationRepository } from '../ports/integration-repository.ts';
import type { BackfillQueue, ErasureQueue, RevocationQueue } from '../ports/job-queues.ts';
import type { Log } from '../ports/log.ts';
import type { OAuthStateStore, PendingOAuthState } from '../ports/oauth-state-store.ts';
import type { StripeOAuth } from '../ports/stripe-oauth.ts';
import type { TenantDataStore } from '../ports/tenant-data-store.ts';
import type { TokenStore } from '../ports/token-store.ts';
import type { WebhookSecretStore } from '../ports/webhook-secret-store.ts';
import { DEFAULT_BACKFILL_DAYS, requestBackfill } from './backfill/request-backfill.ts';
import { reasonOf } from './reason-of.ts';
import { REVOCATION_FIRST_DELAY_SECONDS } from './revocation-schedule.ts';

export interface CompleteStripeConnectDeps {
  readonly states: OAuthStateStore;
  readonly oauth: StripeOAuth;
  readonly integrations: IntegrationRepository;
  readonly tokens: TokenStore;
  readonly webhookSecrets: WebhookSecretStore;
  readonly backfillQueue: BackfillQueue;
  readonly backfillStatus: BackfillStatusStore;
  readonly revocationQueue: RevocationQueue;
  /** Records belong to one account: another account's data is erased before this one's arrive. */
  readonly tenantData: TenantDataStore;
  readonly erasureQueue: ErasureQueue;
  readonly clock: Clock;
  readonly log: Log;
}

export interface CallbackInput {
  /** Every `state` value in the query string: more than one is an attack or a bug. */
  readonly states: readonly string[];
  readonly code: string | undefined;
  /** Stripe's `error` parameter (e.g. `access_denied` when the tenant pressed Cancel). */
  readonly error: string | undefined;
  /** The browser-binding cookie set by the start route. */
  readonly browserBinding: string | undefined;
  /** The tenant of a valid session sent along, if any: it must be the state's tenant. */
  readonly sessionTenantId: string | undefined;
}

const CODE_PATTERN = /^ac_[A-Za-z0-9_-]{1,255}$/;
/** Enough to consume a duplicated pair; more values are not worth database calls. */
const MAX_STATES_CONSUMED = 3;

/**
 * Finishes the OAuth flow. Any callback that presents a state uses it up, whatever its outcome
 * (README "How the OAuth flow is protected"), and nothing from the query string is ever echoed: the result is one of five words.
 */
export async function completeStripeConnect(
  deps: CompleteStripeConnectDeps,
  input: CallbackInput,
): Promise<ConnectOutcome> {
  const wellFormed = input.states.filter((s) => NONCE_PATTERN.test(s)).slice(0, MAX_STATES_CONSUMED);
  const consumed = await Promise.all(wellFormed.map((s) => deps.states.consume(sha256(s))));

  if (input.error !== undefined && input.states.length <= 1) {
    deps.log.info('stripe_connect_denied', { stateFound: consumed.some(Boolean) });
    return 'stripe_denied';
  }
  const pending = input.states.length === 1 ? consumed[0] : undefined;
  const invalidReason = checkState(deps, pending, input);
  if (invalidReason || !pending) {
    deps.log.warn('stripe_connect_state_invalid', { reason: invalidReason ?? 'missing_or_unknown' });
    return 'stripe_state_invalid';
  }

  const { tenantId } = pending;
  let token: StripeToken;
  try {
    if (input.code === undefined || !CODE_PATTERN.test(input.code))
      throw new StripeExchangeError('malformed_code');
    token = await deps.oauth.exchangeCode(input.code);
    if (!STRIPE_ACCOUNT_ID_PATTERN.test(token.stripe_user_id) || typeof token.access_token !== 'string') {
      throw new StripeExchangeError('malformed_token_response');
    }
  } catch (error) {
    deps.log.warn('stripe_connect_exchange_failed', { tenantId, reason: reasonOf(error) });
    return 'stripe_exchange_failed';
  }

  // From here Stripe has granted access: every path ends with it stored or on its way to revocation.
  const accountId = token.stripe_user_id;
  let previous: StripeIntegration | undefined;
  let claimed = false;
  let eraseFirst = false;
  try {
    previous = await deps.integrations.getByTenant(tenantId);
    if (previous?.status === 'disconnecting') throw new StripeExchangeError('disconnect_in_progress');
    const claim = await deps.integrations.claimAccount(accountId, tenantId, deps.clock.now());
    if (claim.outcome === 'held') {
      // Never revoke here: revocation would cut the link the other tenant relies on.
      deps.log.warn('stripe_connect_account_in_use', {
        tenantId,
        stripeAccountId: accountId,
        heldBy: claim.tenantId,
      });
      return 'stripe_account_in_use';
    }
    claimed = true;
    const switching = previous !== undefined && previous.stripeAccountId !== accountId;
    if (switching && previous) {
      // Queued before the old token is overwritten, so the old account's revocation is never lost;
      // the worker skips it if the tenant still holds that account when it runs.
      await deps.revocationQueue.enqueueRevocation(
        {
          tenantId,
          stripeAccountId: previous.stripeAccountId,
          firstFailedAt: deps.clock.now().toISOString(),
          attempt: 1,
        },
        REVOCATION_FIRST_DELAY_SECONDS,
      );
    }
    // Another account's events are signed with another secret: the old one must stop verifying.
    if (switching) await deps.webhookSecrets.delete(tenantId);
    // Before the row exists no event of this account is applied, so the data state is settled
    // first: another account's data held (connected or kept) is erased before anything is written.
    const data = await deps.tenantData.beginConnection(tenantId, accountId, deps.clock.now());
    if (data.outcome === 'erase_first') {
      eraseFirst = true;
      // A run of the previous account stops at its next checkpoint: its status is gone.
      await deps.backfillStatus.delete(tenantId);
      await deps.erasureQueue.enqueueErasure({ tenantId, stripeAccountId: data.previousStripeAccountId });
      deps.log.info('stripe_previous_account_data_erasing', {
        tenantId,
        previousStripeAccountId: data.previousStripeAccountId,
      });
    }
    await deps.tokens.save(tenantId, tokenToStore(token));
    await deps.integrations.save({
      tenantId,
      tenantSlug: pending.tenantSlug,
      stripeAccountId: accountId,
      livemode: token.livemode === true,
      scope: token.scope,
      connectedAt: deps.clock.now().toISOString(),
      status: 'connected',
      // A replaced token keeps the webhook secret of the same account, never of another one.
      webhookSecretConfigured: !switching && previous?.webhookSecretConfigured === true,
    });
    if (switching && previous) await deps.integrations.releaseAccount(previous.stripeAccountId, tenantId);
  } catch (error) {
    deps.log.error('stripe_connect_persist_failed', {
      tenantId,
      stripeAccountId: accountId,
      reason: reasonOf(error),
    });
    await abandonAccess(deps, tenantId, accountId, claimed && previous?.stripeAccountId !== accountId);
    return 'stripe_exchange_failed';
  }

  // After an erasure, its job queues the backfill: nothing of this account is written before.
  if (!eraseFirst) await enqueueBackfill(deps, tenantId);
  deps.log.info('stripe_connected', { tenantId, stripeAccountId: accountId, livemode: token.livemode });
  return 'connected';
}

/**
 * The code is spent and Stripe granted access we could not record: free the claim we took and
 * queue the revocation (the worker skips it if the tenant connected the account after all).
 * An account the tenant already held stays as it was.
 */
async function abandonAccess(
  deps: CompleteStripeConnectDeps,
  tenantId: string,
  accountId: string,
  release: boolean,
) {
  try {
    if (release) await deps.integrations.releaseAccount(accountId, tenantId);
    const current = await deps.integrations.getByTenant(tenantId);
    if (current?.stripeAccountId === accountId && current.status === 'connected') return;
    await deps.revocationQueue.enqueueRevocation(
      { tenantId, stripeAccountId: accountId, firstFailedAt: deps.clock.now().toISOString(), attempt: 1 },
      0,
    );
  } catch (error) {
    deps.log.error('stripe_connect_abandon_failed', {
      tenantId,
      stripeAccountId: accountId,
      reason: reasonOf(error),
    });
  }
}

function checkState(
  deps: CompleteStripeConnectDeps,
  pending: PendingOAuthState | undefined,
  input: CallbackInput,
): string | undefined {
  if (input.states.length === 0) return 'missing';
  if (input.states.length > 1) return 'duplicated';
  if (!pending) return 'unknown_or_reused';
  if (pending.expiresAt * 1000 <= deps.clock.now().getTime()) return 'expired';
  if (!input.browserBinding || !constantTimeEqual(sha256(input.browserBinding), pending.browserBindingHash)) {
    return 'other_browser';
  }
  if (input.sessionTenantId !== undefined && input.sessionTenantId !== pending.tenantId)
    return 'other_tenant';
  return undefined;
}

/**
 * The connection stands even when the queue is briefly unavailable (the code cannot be reused);
 * the status then shows no queued backfill and the tenant can ask for a re-sync.
 */
async function enqueueBackfill(deps: CompleteStripeConnectDeps, tenantId: string) {
  try {
    await requestBackfill(deps, tenantId, DEFAULT_BACKFILL_DAYS);
  } catch (error) {
    deps.log.error('stripe_connect_backfill_enqueue_failed', { tenantId, reason: reasonOf(error) });
  }
}
