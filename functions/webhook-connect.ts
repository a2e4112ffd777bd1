import { createAwsDependencies } from './commons/aws-dependencies.ts';
import type { AppDependencies } from './commons/dependencies.ts';
import { httpHandler, lazyHandler } from './commons/http-handler.ts';
import { webhookRequest, webhookResponse } from './commons/webhook-request.ts';

type Deps = Pick<AppDependencies, 'webhooks'>;

/** `POST /api/webhooks/stripe-connect`: the platform's Connect endpoint, routed by `event.account`. */
export function createConnectWebhookHandler(deps: Deps) {
  const { webhooks } = deps;
  return httpHandler(async (event, context) =>
    webhookResponse(await webhooks.receiveConnectEvent(webhookRequest(event, context))),
  );
}

export const handler = lazyHandler(() => createConnectWebhookHandler(createAwsDependencies()));

/** The route table's name for this module's factory (the local stack loads it by `entry`). */
export const createHandler = createConnectWebhookHandler;
