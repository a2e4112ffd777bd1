import { Logger } from '@aws-lambda-powertools/logger';

/**
 * Keys whose values never reach a log line, whatever object they sit in. Powertools has no
 * built-in redaction, so a JSON replacer does it (README "Data": logs never contain tokens, codes, states, secrets or cookies).
 */
const SECRET_KEYS = new Set([
  'accesstoken',
  'refreshtoken',
  'code',
  'state',
  'secret',
  'webhooksecret',
  'secretkey',
  'clientsecret',
  'authorization',
  'cookie',
  'cookies',
  'setcookie',
  'stripepublishablekey',
  'body',
  'password',
]);

/** Compares keys without case, `_` or `-`, so `access_token`, `accessToken` and `Access-Token` match. */
export function redactSecrets(key: string, value: unknown): unknown {
  return SECRET_KEYS.has(key.toLowerCase().replace(/[-_]/g, '')) ? '[redacted]' : value;
}

export const logger = new Logger({
  serviceName: process.env.POWERTOOLS_SERVICE_NAME ?? 'compass-stripe-connect',
  jsonReplacerFn: redactSecrets,
});
