import { setWebhookSecret } from '#shared/use-cases/set-webhook-secret.ts';
import { createAwsDependencies } from './commons/aws-dependencies.ts';
import type { AppDependencies } from './commons/dependencies.ts';
import { bodyByteLength, bodyText, noContent } from './commons/http.ts';
import { HttpError } from './commons/http-errors.ts';
import { httpHandler, lazyHandler } from './commons/http-handler.ts';
import { authenticate } from './commons/session.ts';

type Deps = Pick<AppDependencies, 'integrations' | 'webhookSecrets' | 'sessions' | 'log'>;

/** A signing secret is under 300 bytes; anything far larger is a mistake or an attack. */
export const MAX_WEBHOOK_SECRET_BODY_BYTES = 4096;

/** `PUT /api/connect/stripe/webhook-secret` with `{"secret":"whsec_…"}`; answers 204, never the value. */
export function createWebhookSecretHandler(deps: Deps) {
  return httpHandler(async (event) => {
    const tenant = await authenticate(event, deps.sessions);
    if (bodyByteLength(event) > MAX_WEBHOOK_SECRET_BODY_BYTES) {
      throw new HttpError(
        413,
        'payload_too_large',
        `Body must be at most ${MAX_WEBHOOK_SECRET_BODY_BYTES} bytes`,
      );
    }
    let body: unknown;
    try {
      body = JSON.parse(bodyText(event));
    } catch {
      throw new HttpError(400, 'invalid_json', 'Body must be JSON: {"secret": "whsec_…"}');
    }
    const secret =
      body !== null && typeof body === 'object' ? (body as { secret?: unknown }).secret : undefined;
    await setWebhookSecret(deps, tenant.tenantId, secret);
    return noContent();
  });
}

export const handler = lazyHandler(() => createWebhookSecretHandler(createAwsDependencies()));

/** The route table's name for this module's factory (the local stack loads it by `entry`). */
export const createHandler = createWebhookSecretHandler;
