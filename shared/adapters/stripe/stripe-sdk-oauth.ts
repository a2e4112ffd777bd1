import type Stripe from 'stripe';
import type { StripeToken } from '../../domain/integration.ts';
import { RevocationFailedError } from '../../errors/revocation-failed-error.ts';
import { StripeExchangeError } from '../../errors/stripe-exchange-error.ts';
import type { RevocationResult, StripeOAuth } from '../../ports/stripe-oauth.ts';

/**
 * Both calls run inside HTTP handlers with a 10 s budget. They never retry in-process: a code must
 * not be presented twice, and a revocation that does not finish quickly is already queued for the
 * worker, whose retries (SQS) outlive any single invocation.
 */
const EXCHANGE_TIMEOUT_MS = 4000;
const DEAUTHORIZE_TIMEOUT_MS = 3000;

/** Stripe's answer to revoking an account that is not (or no longer) connected to the platform. */
const NOT_CONNECTED = /not connected/i;

export class StripeSdkOAuth implements StripeOAuth {
  constructor(
    private readonly stripe: Stripe,
    private readonly clientId: string,
  ) {}

  async exchangeCode(code: string): Promise<StripeToken> {
    try {
      // No retries at all: a code presented twice makes Stripe revoke the tokens it issued.
      const response = await this.stripe.oauth.token(
        { grant_type: 'authorization_code', code },
        { maxNetworkRetries: 0, timeout: EXCHANGE_TIMEOUT_MS },
      );
      return response as unknown as StripeToken;
    } catch (error) {
      throw new StripeExchangeError(stripeReason(error));
    }
  }

  async deauthorize(stripeAccountId: string): Promise<RevocationResult> {
    try {
      await this.stripe.oauth.deauthorize(
        { client_id: this.clientId, stripe_user_id: stripeAccountId },
        { maxNetworkRetries: 0, timeout: DEAUTHORIZE_TIMEOUT_MS },
      );
      return 'revoked';
    } catch (error) {
      const message = (error as { message?: unknown } | null)?.message;
      if (errorType(error) === 'invalid_client' && NOT_CONNECTED.test(String(message)))
        return 'already_revoked';
      throw new RevocationFailedError(stripeReason(error));
    }
  }
}

/** Type and status only: Stripe's messages can quote the authorization code. */
function stripeReason(error: unknown): string {
  const status = (error as { statusCode?: unknown } | null)?.statusCode;
  const type = errorType(error);
  return typeof status === 'number' ? `${type} (HTTP ${status})` : type;
}

/** Stripe's own error word (`invalid_grant`, `api_error`, …); the SDK keeps it in `rawType`. */
function errorType(error: unknown): string {
  const e = error as { rawType?: unknown; type?: unknown; code?: unknown } | null;
  for (const value of [e?.rawType, e?.type, e?.code]) if (typeof value === 'string' && value) return value;
  return 'unknown_error';
}
