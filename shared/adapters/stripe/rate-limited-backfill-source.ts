import type {
  BackfillPhase,
  ListPage,
  ListPageRequest,
  StripeBackfillSource,
} from '../../ports/stripe-backfill-source.ts';
import {
  DEFAULT_RATE_LIMIT,
  type RateLimitOptions,
  type SourceStats,
  StripeReadPacer,
} from './stripe-read-pacer.ts';

export { DEFAULT_RATE_LIMIT, type RateLimitOptions, type SourceStats } from './stripe-read-pacer.ts';

/** A backfill source whose reads are paced per account and retried ({@link StripeReadPacer}). */
export class RateLimitedBackfillSource implements StripeBackfillSource {
  private readonly pacer: StripeReadPacer;

  constructor(
    private readonly source: StripeBackfillSource,
    options: RateLimitOptions = DEFAULT_RATE_LIMIT,
  ) {
    this.pacer = new StripeReadPacer(options);
  }

  get stats(): SourceStats {
    return this.pacer.stats;
  }

  listPage(phase: BackfillPhase, request: ListPageRequest): Promise<ListPage> {
    return this.pacer.read(
      request.stripeAccountId,
      () => this.source.listPage(phase, request),
      request.retryBudgetMs,
    );
  }
}
