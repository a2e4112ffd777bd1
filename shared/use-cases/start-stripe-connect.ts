import { newNonce, sha256 } from '../domain/nonce.ts';
import type { TenantIdentity } from '../domain/tenant.ts';
import { DisconnectInProgressError } from '../errors/disconnect-in-progress-error.ts';
import type { Clock } from '../ports/clock.ts';
import type { IntegrationRepository } from '../ports/integration-repository.ts';
import type { OAuthStateStore } from '../ports/oauth-state-store.ts';

/** The product document's 10-minute window for finishing the Stripe consent screen. */
export const OAUTH_STATE_TTL_SECONDS = 600;

export interface StartStripeConnectDeps {
  readonly states: OAuthStateStore;
  readonly integrations: IntegrationRepository;
  readonly clock: Clock;
  readonly clientId: string;
  readonly connectBaseUrl: URL;
  readonly redirectUri: string;
}

export interface StartedStripeConnect {
  readonly authorizeUrl: string;
  /** Goes into an HttpOnly cookie: the callback must come back to the browser that started. */
  readonly browserBinding: string;
  readonly maxAgeSeconds: number;
}

/**
 * Creates a single-use state for the tenant and the URL of Stripe's consent screen. The URL is
 * built by hand because the SDK's `authorizeUrl()` forces https and drops the port, which would
 * break local and emulated Stripe (README "How the OAuth flow is protected").
 */
export async function startStripeConnect(
  deps: StartStripeConnectDeps,
  tenant: TenantIdentity,
): Promise<StartedStripeConnect> {
  if ((await deps.integrations.getByTenant(tenant.tenantId))?.status === 'disconnecting') {
    throw new DisconnectInProgressError();
  }
  const state = newNonce();
  const browserBinding = newNonce();
  await deps.states.save({
    stateHash: sha256(state),
    browserBindingHash: sha256(browserBinding),
    tenantId: tenant.tenantId,
    tenantSlug: tenant.tenantSlug,
    userId: tenant.userId,
    expiresAt: Math.floor(deps.clock.now().getTime() / 1000) + OAUTH_STATE_TTL_SECONDS,
  });
  const base = deps.connectBaseUrl.toString().replace(/\/*$/, '/');
  const url = new URL('oauth/authorize', base);
  url.search = new URLSearchParams({
    response_type: 'code',
    client_id: deps.clientId,
    scope: 'read_write',
    state,
    redirect_uri: deps.redirectUri,
  }).toString();
  return { authorizeUrl: url.toString(), browserBinding, maxAgeSeconds: OAUTH_STATE_TTL_SECONDS };
}
