import type {
  BackfillPhase,
  ListPage,
  ListPageRequest,
  StripeBackfillSource,
} from '../../ports/stripe-backfill-source.ts';
import { createStripeClient } from './stripe-client.ts';
import { StripeSdkBackfillSource } from './stripe-sdk-backfill-source.ts';

/** Resolves the platform key on first use (and after a rotation), like LazyStripeOAuth. */
export class LazyBackfillSource implements StripeBackfillSource {
  private current: { key: string; source: StripeSdkBackfillSource } | undefined;

  constructor(
    private readonly secretKey: () => Promise<string>,
    private readonly apiBaseUrl: URL,
  ) {}

  async listPage(phase: BackfillPhase, request: ListPageRequest): Promise<ListPage> {
    const key = await this.secretKey();
    if (this.current?.key !== key) {
      // Timeouts sized for a worker, not an HTTP handler; retries belong to the rate-limited wrapper.
      const stripe = createStripeClient({
        secretKey: key,
        apiBaseUrl: this.apiBaseUrl,
        timeoutMs: 20_000,
        maxNetworkRetries: 0,
      });
      this.current = { key, source: new StripeSdkBackfillSource(stripe) };
    }
    return this.current.source.listPage(phase, request);
  }
}
