import type { APIGatewayProxyEventV2 } from 'aws-lambda';
import type { AppDependencies } from '../../functions/commons/dependencies.ts';
import type { HttpResponse } from '../../functions/commons/http.ts';
import { createConnectCallbackHandler } from '../../functions/connect-callback.ts';
import { createConnectStartHandler } from '../../functions/connect-start.ts';
import { createConnectStatusHandler } from '../../functions/connect-status.ts';
import { createDisconnectHandler } from '../../functions/disconnect.ts';
import { createMetricsReadHandler } from '../../functions/metrics-read.ts';
import { createRecordsReadHandler } from '../../functions/records-read.ts';
import { httpRoutes } from '../../functions/routes.ts';
import { createSubscriptionHistoryHandler } from '../../functions/subscription-history-read.ts';
import { createConnectWebhookHandler } from '../../functions/webhook-connect.ts';
import { createWebhookSecretHandler } from '../../functions/webhook-secret.ts';
import { createTenantWebhookHandler } from '../../functions/webhook-tenant.ts';
import { type EventOptions, httpEvent, lambdaContext, type TestApp } from './harness.ts';
import { asFunction } from './iam/iam-enforcement.ts';

export interface CalledResponse extends HttpResponse {
  readonly statusCode: number;
  readonly headers: Record<string, string>;
  readonly cookies: string[];
  readonly body: string;
  json<T = Record<string, unknown>>(): T;
}

/** The route of functions/routes.ts that API Gateway would send this request to. */
function routeNamed(method: string, path: string): string {
  // As API Gateway: a literal segment outranks a `{parameter}` (`/api/stripe/metrics`).
  const parameters = (routePath: string) =>
    routePath.split('/').filter((part) => part.startsWith('{')).length;
  const route = httpRoutes
    .filter((r) => r.method === method && new RegExp(`^${r.path.replace(/\{[^}]+\}/g, '[^/]+')}$`).test(path))
    .sort((a, b) => parameters(a.path) - parameters(b.path))[0];
  if (!route) throw new Error(`No route answers ${method} ${path}`);
  return route.name;
}

/** Calls the real handler factories with the test app's dependencies. */
export function handlersFor(app: TestApp) {
  const wrap = (
    factory: (
      deps: AppDependencies,
    ) => (event: APIGatewayProxyEventV2, context: typeof lambdaContext) => Promise<HttpResponse>,
    method: string,
    path: string,
  ) => {
    // As the deployed function: its own container, and every AWS call checked against its role.
    const name = routeNamed(method, path);
    let handler: ReturnType<typeof factory> | undefined;
    return async (options: EventOptions = {}): Promise<CalledResponse> => {
      handler ??= factory(app.depsFor(name));
      const call = handler;
      const response = await asFunction(name, () =>
        call(httpEvent(method, path, options), { ...lambdaContext, functionName: name }),
      );
      return {
        ...response,
        statusCode: response.statusCode ?? 200,
        headers: (response.headers ?? {}) as Record<string, string>,
        cookies: response.cookies ?? [],
        body: response.body ?? '',
        json: () => JSON.parse(response.body ?? ''),
      };
    };
  };
  return {
    start: wrap(createConnectStartHandler, 'GET', '/api/connect/stripe'),
    callback: wrap(createConnectCallbackHandler, 'GET', '/api/connect/stripe/callback'),
    status: wrap(createConnectStatusHandler, 'GET', '/api/connect/stripe/status'),
    webhookSecret: wrap(createWebhookSecretHandler, 'PUT', '/api/connect/stripe/webhook-secret'),
    disconnect: wrap(createDisconnectHandler, 'DELETE', '/api/connect/stripe'),
    tenantWebhook: (slug: string, options: EventOptions = {}) =>
      wrap(
        createTenantWebhookHandler,
        'POST',
        `/api/webhooks/stripe/${slug}`,
      )({
        ...options,
        pathParameters: { slug },
      }),
    connectWebhook: wrap(createConnectWebhookHandler, 'POST', '/api/webhooks/stripe-connect'),
    records: (collection: string, options: EventOptions = {}) =>
      wrap(
        createRecordsReadHandler,
        'GET',
        `/api/stripe/${collection}`,
      )({
        ...options,
        pathParameters: { collection },
      }),
    metrics: wrap(createMetricsReadHandler, 'GET', '/api/stripe/metrics'),
    history: (id: string, options: EventOptions = {}) =>
      wrap(
        createSubscriptionHistoryHandler,
        'GET',
        `/api/stripe/subscriptions/${id}/history`,
      )({
        ...options,
        pathParameters: { id },
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
  if (response.statusCode !== 302 || !response.headers.location) {
    throw new Error(`connect start answered ${response.statusCode}: ${response.body}`);
  }
  const location = new URL(response.headers.location);
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
