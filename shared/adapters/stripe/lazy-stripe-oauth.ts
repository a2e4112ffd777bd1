import type { StripeConfig } from '../../config/config.ts';
import type { RevocationResult, StripeOAuth } from '../../ports/stripe-oauth.ts';
import { createStripeClient } from './stripe-client.ts';
import { StripeSdkOAuth } from './stripe-sdk-oauth.ts';

/**
 * Resolves the platform key on first use and whenever it may have rotated, so a cold start costs
 * no Secrets Manager call until a Stripe call is actually needed.
 */
export class LazyStripeOAuth implements StripeOAuth {
  private current: { key: string; oauth: StripeSdkOAuth } | undefined;

  constructor(
    private readonly secretKey: () => Promise<string>,
    private readonly stripe: StripeConfig,
  ) {}

  async exchangeCode(code: string) {
    return (await this.client()).exchangeCode(code);
  }

  async deauthorize(stripeAccountId: string): Promise<RevocationResult> {
    return (await this.client()).deauthorize(stripeAccountId);
  }

  private async client(): Promise<StripeSdkOAuth> {
    const key = await this.secretKey();
    if (this.current?.key !== key) {
      const sdk = createStripeClient({ secretKey: key, apiBaseUrl: this.stripe.apiBaseUrl });
      this.current = { key, oauth: new StripeSdkOAuth(sdk, this.stripe.clientId) };
    }
    return this.current.oauth;
  }
}
