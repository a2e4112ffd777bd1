import type { APIGatewayProxyEventV2, Context } from 'aws-lambda';
import type { WebhookReceipt, WebhookRequest } from '#shared/use-cases/receive-stripe-webhook.ts';
import { type HttpResponse, json } from './http.ts';
import { HttpError } from './http-errors.ts';

/**
 * Stripe events are kilobytes; 2 MiB leaves room for the largest objects while refusing floods
 * long before API Gateway's 10 MB limit (HTTP APIs have no smaller limit of their own).
 */
export const MAX_WEBHOOK_BODY_BYTES = 2 * 1024 * 1024;

/** The raw bytes Stripe signed: base64-decoded when API Gateway encoded them, never re-serialised. */
export function webhookRequest(event: APIGatewayProxyEventV2, context: Context): WebhookRequest {
  const body = event.body ?? '';
  const rawBody = event.isBase64Encoded ? Buffer.from(body, 'base64') : Buffer.from(body, 'utf8');
  if (rawBody.length > MAX_WEBHOOK_BODY_BYTES) {
    throw new HttpError(
      413,
      'payload_too_large',
      `Webhook bodies are limited to ${MAX_WEBHOOK_BODY_BYTES} bytes`,
    );
  }
  return { rawBody, signature: event.headers?.['stripe-signature'], invocation: context };
}

/** Stripe needs a 2xx for processed, duplicate and ignored events alike. */
export function webhookResponse(receipt: WebhookReceipt): HttpResponse {
  return json(200, { received: true, ...receipt });
}
