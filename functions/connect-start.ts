import { startStripeConnect } from '#shared/use-cases/start-stripe-connect.ts';
import { createAwsDependencies } from './commons/aws-dependencies.ts';
import type { AppDependencies } from './commons/dependencies.ts';
import { redirect, serializeCookie } from './commons/http.ts';
import { httpHandler, lazyHandler } from './commons/http-handler.ts';
import { oauthBindingCookie } from './commons/oauth-cookie.ts';
import { authenticate } from './commons/session.ts';

type Deps = Pick<AppDependencies, 'states' | 'integrations' | 'sessions' | 'oauthSettings' | 'clock'>;

/** `GET /api/connect/stripe`: sends the tenant admin to Stripe's consent screen. */
export function createConnectStartHandler(deps: Deps) {
  const { states, integrations, sessions, oauthSettings: settings, clock } = deps;
  return httpHandler(async (event) => {
    const tenant = await authenticate(event, sessions);
    const started = await startStripeConnect(
      {
        states,
        integrations,
        clock,
        clientId: settings.clientId,
        connectBaseUrl: settings.connectBaseUrl,
        redirectUri: settings.redirectUri,
      },
      tenant,
    );
    const binding = oauthBindingCookie(settings.secureCookies);
    const cookie = serializeCookie(binding.name, started.browserBinding, {
      maxAgeSeconds: started.maxAgeSeconds,
      path: binding.path,
      secure: settings.secureCookies,
    });
    return redirect(started.authorizeUrl, [cookie]);
  });
}

export const handler = lazyHandler(() => createConnectStartHandler(createAwsDependencies()));

/** The route table's name for this module's factory (the local stack loads it by `entry`). */
export const createHandler = createConnectStartHandler;
