import type { ConnectOutcome } from '../domain/connect-outcome.ts';
import { STRIPE_ACCOUNT_ID_PATTERN, type StripeToken } from '../domain/integration.ts';
import { constantTimeEqual, NONCE_PATTERN, sha256 } from '../domain/nonce.ts';
import { StripeExchangeError } from '../errors/stripe-exchange-error.ts';
import type { BackfillStatusStore } from '../ports/backfill-status-store.ts';
import type { Clock } from '../ports/clock.ts';
import type { CredentialStore } from '../ports/credential-store.ts';
import type { IntegrationRepository } from '../ports/integration-repository.ts';
import type { BackfillQueue, RevocationQueue } from '../ports/job-queues.ts';
import type { Log } from '../ports/log.ts';
import type { OAuthStateStore, PendingOAuthState } from '../ports/oauth-state-store.ts';
import type { StripeOAuth } from '../ports/stripe-oauth.ts';

export const BACKFILL_DAYS = 90;

export interface CompleteStripeConnectDeps {
  readonly states: OAuthStateStore;
  readonly oauth: StripeOAuth;
  readonly integrations: IntegrationRepository;
  readonly credentials: CredentialStore;
  readonly backfillQueue: BackfillQueue;
  readonly backfillStatus: BackfillStatusStore;
  readonly revocationQueue: RevocationQueue;
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
 * (design §3), and nothing from the query string is ever echoed: the result is one of five words.
 */
export async function completeStripeConnect(
  deps: CompleteStripeConnectDeps,
  input: CallbackInput,
): Promise<ConnectOutcome> {
  const wellFormed = input.states.filter((s) => NONCE_PATTERN.test(s)).slice(0, MAX_STATES_CONSUMED);
  const consumed = await Promise.all(wellFormed.map((s) => deps.states.consume(sha256(s))));

  if (input.error !== undefined) {
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

  const accountId = token.stripe_user_id;
  const claim = await deps.integrations.claimAccount(accountId, tenantId, deps.clock.now());
  if (claim.outcome === 'held') {
    // Never deauthorize here: revocation would cut the link the other tenant relies on.
    deps.log.warn('stripe_connect_account_in_use', {
      tenantId,
      stripeAccountId: accountId,
      heldBy: claim.tenantId,
    });
    return 'stripe_account_in_use';
  }

  const previous = await deps.integrations.getByTenant(tenantId);
  try {
    await deps.credentials.saveToken(tenantId, token);
    await deps.integrations.save({
      tenantId,
      tenantSlug: pending.tenantSlug,
      stripeAccountId: accountId,
      livemode: token.livemode === true,
      scope: token.scope,
      connectedAt: deps.clock.now().toISOString(),
      status: 'connected',
      // A replaced token keeps the webhook secret the tenant already configured.
      webhookSecretConfigured: previous?.stripeAccountId === accountId && previous.webhookSecretConfigured,
    });
  } catch (error) {
    // The code is spent, so the tenant must start again; leave no claim that blocks that.
    deps.log.error('stripe_connect_persist_failed', { tenantId, reason: reasonOf(error) });
    // A reconnect of the account the tenant already holds keeps its claim (and connection).
    if (previous?.stripeAccountId !== accountId) {
      await deps.integrations.releaseAccount(accountId, tenantId).catch(() => undefined);
    }
    return 'stripe_exchange_failed';
  }

  if (previous && previous.stripeAccountId !== accountId) {
    await replacePreviousAccount(deps, tenantId, previous.stripeAccountId);
  }
  await enqueueBackfill(deps, tenantId);
  deps.log.info('stripe_connected', { tenantId, stripeAccountId: accountId, livemode: token.livemode });
  return 'connected';
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

/** The tenant switched Stripe accounts: free the old one and revoke it (the worker retries). */
async function replacePreviousAccount(
  deps: CompleteStripeConnectDeps,
  tenantId: string,
  oldAccountId: string,
) {
  try {
    await deps.integrations.releaseAccount(oldAccountId, tenantId);
    await deps.revocationQueue.enqueueRevocation(
      { tenantId, stripeAccountId: oldAccountId, firstFailedAt: deps.clock.now().toISOString(), attempt: 0 },
      0,
    );
  } catch (error) {
    deps.log.error('stripe_connect_old_account_release_failed', {
      tenantId,
      stripeAccountId: oldAccountId,
      reason: reasonOf(error),
    });
  }
}

/**
 * The connection stands even when the queue is briefly unavailable (the code cannot be reused);
 * the status then shows no queued backfill and the tenant can ask for a re-sync.
 */
async function enqueueBackfill(deps: CompleteStripeConnectDeps, tenantId: string) {
  try {
    await deps.backfillQueue.enqueueBackfill({ tenantId, days: BACKFILL_DAYS });
    await deps.backfillStatus.markQueued(tenantId, deps.clock.now());
  } catch (error) {
    deps.log.error('stripe_connect_backfill_enqueue_failed', { tenantId, reason: reasonOf(error) });
  }
}

/** Error names and Stripe reasons only: messages can quote codes or tokens. */
export function reasonOf(error: unknown): string {
  if (error && typeof error === 'object') {
    const reason = (error as { reason?: unknown }).reason;
    if (typeof reason === 'string') return reason;
    const name = (error as { name?: unknown }).name;
    if (typeof name === 'string') return name;
  }
  return 'unknown';
}
