import Stripe from 'stripe';

export interface StripeClientOptions {
  readonly secretKey: string;
  /** Every SDK call goes here, OAuth included (README "Configuration"), so tests and local runs can use a fake. */
  readonly apiBaseUrl: URL;
  /** Per-request timeout; HTTP handlers keep it well inside API Gateway's 30 s. */
  readonly timeoutMs?: number;
  readonly maxNetworkRetries?: number;
}

export function createStripeClient(options: StripeClientOptions): Stripe {
  const url = options.apiBaseUrl;
  const protocol = url.protocol === 'http:' ? 'http' : 'https';
  return new Stripe(options.secretKey, {
    host: url.hostname,
    port: url.port ? Number(url.port) : protocol === 'http' ? 80 : 443,
    protocol,
    timeout: options.timeoutMs ?? 8000,
    maxNetworkRetries: options.maxNetworkRetries ?? 1,
    telemetry: false,
    appInfo: { name: 'compass-stripe-connect' },
  });
}
