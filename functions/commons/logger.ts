import { Logger } from '@aws-lambda-powertools/logger';

/**
 * Keys whose values never reach a log line, whatever object they sit in. Powertools has no
 * built-in redaction, so a JSON replacer does it (design §7).
 */
const SECRET_KEYS = new Set([
  'access_token',
  'refresh_token',
  'accesstoken',
  'refreshtoken',
  'code',
  'state',
  'secret',
  'webhooksecret',
  'secretkey',
  'authorization',
  'cookie',
  'cookies',
  'set-cookie',
  'stripe_publishable_key',
  'body',
  'password',
]);

export function redactSecrets(key: string, value: unknown): unknown {
  return SECRET_KEYS.has(key.toLowerCase()) ? '[redacted]' : value;
}

export const logger = new Logger({
  serviceName: process.env.POWERTOOLS_SERVICE_NAME ?? 'compass-stripe-connect',
  jsonReplacerFn: redactSecrets,
});
