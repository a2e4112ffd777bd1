import type { APIGatewayProxyEventV2 } from 'aws-lambda';
import type { HttpResponse } from '../../functions/commons/http.ts';
import { createConnectCallbackHandler } from '../../functions/connect-callback.ts';
import { createConnectStartHandler } from '../../functions/connect-start.ts';
import { createConnectStatusHandler } from '../../functions/connect-status.ts';
import { createDisconnectHandler } from '../../functions/disconnect.ts';
import { createRecordsReadHandler } from '../../functions/records-read.ts';
import { createConnectWebhookHandler } from '../../functions/webhook-connect.ts';
import { createWebhookSecretHandler } from '../../functions/webhook-secret.ts';
import { createTenantWebhookHandler } from '../../functions/webhook-tenant.ts';
import { type EventOptions, httpEvent, lambdaContext, type TestApp } from './harness.ts';

export interface CalledResponse extends HttpResponse {
  readonly statusCode: number;
  readonly headers: Record<string, string>;
  readonly cookies: string[];
  readonly body: string;
  json<T = Record<string, unknown>>(): T;
}

/** Calls the real handler factories with the test app's dependencies. */
export function handlersFor(app: TestApp) {
  const wrap =
    (
      handler: (event: APIGatewayProxyEventV2, context: typeof lambdaContext) => Promise<HttpResponse>,
      method: string,
      path: string,
    ) =>
    async (options: EventOptions = {}): Promise<CalledResponse> => {
      const response = await handler(httpEvent(method, path, options), lambdaContext);
      return {
        ...response,
        statusCode: response.statusCode ?? 200,
        headers: (response.headers ?? {}) as Record<string, string>,
        cookies: response.cookies ?? [],
        body: response.body ?? '',
        json: () => JSON.parse(response.body ?? ''),
      };
    };
  return {
    start: wrap(createConnectStartHandler(app.deps), 'GET', '/api/connect/stripe'),
    callback: wrap(createConnectCallbackHandler(app.deps), 'GET', '/api/connect/stripe/callback'),
    status: wrap(createConnectStatusHandler(app.deps), 'GET', '/api/connect/stripe/status'),
    webhookSecret: wrap(createWebhookSecretHandler(app.deps), 'PUT', '/api/connect/stripe/webhook-secret'),
    disconnect: wrap(createDisconnectHandler(app.deps), 'DELETE', '/api/connect/stripe'),
    tenantWebhook: (slug: string, options: EventOptions = {}) =>
      wrap(
        createTenantWebhookHandler(app.deps),
        'POST',
        `/api/webhooks/stripe/${slug}`,
      )({
        ...options,
        pathParameters: { slug },
      }),
    connectWebhook: wrap(createConnectWebhookHandler(app.deps), 'POST', '/api/webhooks/stripe-connect'),
    records: (collection: string, options: EventOptions = {}) =>
      wrap(
        createRecordsReadHandler(app.deps),
        'GET',
        `/api/stripe/${collection}`,
      )({
        ...options,
        pathParameters: { collection },
      }),
  };
}

export type Handlers = ReturnType<typeof handlersFor>;

/** The cookie a browser would send back: `name=value` from a Set-Cookie line. */
export function cookiePair(setCookie: string): string {
  return setCookie.split(';')[0] ?? '';
}

export const bearer = (token: string) => ({ authorization: `Bearer ${token}` });

/** Runs start for a tenant and returns what the browser holds: the state and the binding cookie. */
export async function beginConnect(handlers: Handlers, token: string) {
  const response = await handlers.start({ headers: bearer(token) });
  const location = new URL(response.headers.location ?? '');
  return {
    response,
    location,
    state: location.searchParams.get('state') ?? '',
    cookie: cookiePair(response.cookies[0] ?? ''),
  };
}

export function callbackQuery(params: Record<string, string>): string {
  return new URLSearchParams(params).toString();
}
