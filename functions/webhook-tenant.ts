import { createAwsDependencies } from './commons/aws-dependencies.ts';
import type { AppDependencies } from './commons/dependencies.ts';
import { httpHandler, lazyHandler } from './commons/http-handler.ts';
import { webhookRequest, webhookResponse } from './commons/webhook-request.ts';

type Deps = Pick<AppDependencies, 'webhooks'>;

/** `POST /api/webhooks/stripe/{slug}`: events from the endpoint a tenant added in its Stripe dashboard. */
export function createTenantWebhookHandler(deps: Deps) {
  const { webhooks } = deps;
  return httpHandler(async (event, context) => {
    const slug = event.pathParameters?.slug ?? '';
    return webhookResponse(await webhooks.receiveTenantEvent(slug, webhookRequest(event, context)));
  });
}

export const handler = lazyHandler(() => createTenantWebhookHandler(createAwsDependencies()));

/** The route table's name for this module's factory (the local stack loads it by `entry`). */
export const createHandler = createTenantWebhookHandler;
