import { startStripeConnect } from '#shared/use-cases/start-stripe-connect.ts';
import { createAwsDependencies } from './commons/aws-dependencies.ts';
import type { AppDependencies } from './commons/dependencies.ts';
import { redirect, serializeCookie } from './commons/http.ts';
import { httpHandler, lazyHandler } from './commons/http-handler.ts';
import { OAUTH_BINDING_COOKIE, OAUTH_BINDING_COOKIE_PATH } from './commons/oauth-cookie.ts';
import { authenticate } from './commons/session.ts';

type Deps = Pick<AppDependencies, 'states' | 'sessions' | 'oauthSettings' | 'clock'>;

/** `GET /api/connect/stripe`: sends the tenant admin to Stripe's consent screen. */
export function createConnectStartHandler(deps: Deps) {
  const { states, sessions, oauthSettings: settings, clock } = deps;
  return httpHandler(async (event) => {
    const tenant = await authenticate(event, sessions);
    const started = await startStripeConnect(
      {
        states,
        clock,
        clientId: settings.clientId,
        connectBaseUrl: settings.connectBaseUrl,
        redirectUri: settings.redirectUri,
      },
      tenant,
    );
    const cookie = serializeCookie(OAUTH_BINDING_COOKIE, started.browserBinding, {
      maxAgeSeconds: started.maxAgeSeconds,
      path: OAUTH_BINDING_COOKIE_PATH,
      secure: settings.secureCookies,
    });
    return redirect(started.authorizeUrl, [cookie]);
  });
}

export const handler = lazyHandler(() => createConnectStartHandler(createAwsDependencies()));
