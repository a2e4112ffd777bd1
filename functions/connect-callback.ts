import { outcomeQuery } from '#shared/domain/connect-outcome.ts';
import { completeStripeConnect } from '#shared/use-cases/complete-stripe-connect.ts';
import { createAwsDependencies } from './commons/aws-dependencies.ts';
import type { AppDependencies } from './commons/dependencies.ts';
import { queryParams, readCookie, redirect, serializeCookie } from './commons/http.ts';
import { httpHandler, lazyHandler } from './commons/http-handler.ts';
import { oauthBindingCookie } from './commons/oauth-cookie.ts';
import { authenticate } from './commons/session.ts';

type Deps = Pick<
  AppDependencies,
  | 'states'
  | 'oauth'
  | 'integrations'
  | 'tokens'
  | 'webhookSecrets'
  | 'backfillQueue'
  | 'backfillStatus'
  | 'revocationQueue'
  | 'tenantData'
  | 'erasureQueue'
  | 'sessions'
  | 'oauthSettings'
  | 'clock'
  | 'log'
>;

/**
 * `GET /api/connect/stripe/callback`: Stripe sends the browser back here. No session is required
 * (the state carries the tenant); one that is present must belong to the state's tenant.
 * The answer is always a redirect to the settings page with one fixed query parameter.
 */
export function createConnectCallbackHandler(deps: Deps) {
  const settings = deps.oauthSettings;
  return httpHandler(async (event) => {
    const query = queryParams(event);
    const binding = oauthBindingCookie(settings.secureCookies);
    const sessionTenantId = await authenticate(event, deps.sessions).then(
      (identity) => identity.tenantId,
      () => undefined,
    );
    const outcome = await completeStripeConnect(deps, {
      states: query.getAll('state'),
      code: query.get('code') ?? undefined,
      error: query.get('error') ?? undefined,
      browserBinding: readCookie(event, binding.name),
      sessionTenantId,
    });
    const clearBinding = serializeCookie(binding.name, '', {
      maxAgeSeconds: 0,
      path: binding.path,
      secure: settings.secureCookies,
    });
    return redirect(`${settings.appBaseUrl}/settings/integrations?${outcomeQuery(outcome)}`, [clearBinding]);
  });
}

export const handler = lazyHandler(() => createConnectCallbackHandler(createAwsDependencies()));

/** The route table's name for this module's factory (the local stack loads it by `entry`). */
export const createHandler = createConnectCallbackHandler;
