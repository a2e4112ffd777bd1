import { ValidationError } from '../errors/validation-error.ts';

/** README "Routes" (`PUT /api/connect/stripe/webhook-secret`): `whsec_` followed by 16 to 256 characters of `[A-Za-z0-9+/=_-]`. */
const WEBHOOK_SECRET_PATTERN = /^whsec_[A-Za-z0-9+/=_-]{16,256}$/;

/**
 * Checks a webhook signing secret typed by a tenant admin. Whitespace around it (a copy from
 * Stripe's dashboard often brings a newline or a space) is dropped; inside it is refused. The
 * error never contains the value: a secret pasted into the wrong field must not end up in a log
 * or a response.
 */
export function parseWebhookSecret(raw: unknown): string {
  const input = typeof raw === 'string' && raw.length <= 1024 ? raw.trim() : raw;
  if (typeof input !== 'string' || input.length === 0) {
    throw new ValidationError('invalid_webhook_secret', 'secret is required and must be a string');
  }
  if (!WEBHOOK_SECRET_PATTERN.test(input)) {
    throw new ValidationError(
      'invalid_webhook_secret',
      'secret must be a Stripe signing secret: "whsec_" followed by 16 to 256 characters of A-Z, a-z, 0-9, +, /, =, _ or -',
    );
  }
  return input;
}
