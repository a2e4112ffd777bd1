import { StripeReadError } from '../../errors/stripe-read-error.ts';

/**
 * Pacing and retries of Stripe reads on behalf of connected accounts, shared by the backfill
 * and the Events API sweep (both draw on the same per-account allowance).
 *
 * @module
 */

export interface RateLimitOptions {
  /**
   * Requests started per second for one tenant at most (Stripe allows 25 in test mode and 100 in
   * live mode per account). A 429 halves the pace, each success wins a little of it back.
   */
  readonly requestsPerSecond: number;
  /** Requests in flight at once for one tenant. */
  readonly maxConcurrent: number;
  /** Attempts per request before the read gives up (429, 5xx, network). */
  readonly maxAttempts: number;
  readonly baseDelayMs: number;
  readonly maxDelayMs: number;
  readonly sleep?: (ms: number) => Promise<void>;
  readonly random?: () => number;
  readonly now?: () => number;
}

export const DEFAULT_RATE_LIMIT: RateLimitOptions = {
  requestsPerSecond: 24,
  maxConcurrent: 2,
  maxAttempts: 8,
  baseDelayMs: 500,
  maxDelayMs: 20_000,
};

export interface SourceStats {
  requests: number;
  rateLimited: number;
  retries: number;
  /** The pace after the last request (requests per second). */
  pace: number;
  /** Requests allowed in flight at once (1 after a concurrency 429). */
  concurrency: number;
}

/** The pace never falls below this, however many 429s; retries back off on top of it. */
const MIN_REQUESTS_PER_SECOND = 1;
/** Requests per second won back per success after a 429 (from 12 back to 24 in ~24 requests). */
const PACE_RECOVERY = 0.5;
/** Successes in a row that win one more request in flight back after a concurrency 429. */
const CONCURRENCY_RECOVERY = 20;
/** The pace is halved at most once in this long. */
const HALVE_INTERVAL_MS = 1000;
/** Accounts whose pace a container remembers before it forgets idle ones. */
const MAX_PACERS = 1000;

/**
 * Paces one tenant's Stripe reads and retries what is worth retrying. Stripe's SDK does not
 * retry 429s, and a read that "succeeds" after swallowing one would report missing data as
 * done, so every 429, 5xx and network error is retried here with capped exponential backoff and
 * full jitter; anything else, or too many failures, throws `StripeReadError`.
 */
export class StripeReadPacer {
  readonly stats: SourceStats;
  /**
   * One pacer per Stripe account: Stripe limits each account, and the pacer lives as long as
   * the worker's container, so one tenant's 429s must not slow the next tenant's run.
   */
  private readonly pacers = new Map<string, AccountPacer>();
  private readonly sleep: (ms: number) => Promise<void>;
  private readonly random: () => number;
  private readonly now: () => number;

  constructor(private readonly options: RateLimitOptions = DEFAULT_RATE_LIMIT) {
    this.sleep = options.sleep ?? ((ms) => new Promise((resolve) => setTimeout(resolve, ms)));
    this.random = options.random ?? Math.random;
    this.now = options.now ?? Date.now;
    this.stats = {
      requests: 0,
      rateLimited: 0,
      retries: 0,
      pace: options.requestsPerSecond,
      concurrency: options.maxConcurrent,
    };
  }

  /**
   * Runs `request` (one Stripe call) paced for `stripeAccountId`, retried as above. Past
   * `retryBudgetMs` (from now) it gives up as out of time (`StripeReadError.outOfTime`), so the
   * invocation can still hand over before its deadline.
   */
  async read<T>(stripeAccountId: string, request: () => Promise<T>, retryBudgetMs?: number): Promise<T> {
    const pacer = this.pacerFor(stripeAccountId);
    const started = this.now();
    for (let attempt = 1; ; attempt++) {
      await pacer.acquire();
      try {
        await pacer.pace();
        this.stats.requests += 1;
        const result = await request();
        this.observe(pacer, 'success');
        return result;
      } catch (error) {
        const verdict = classify(error);
        if (verdict.kind === 'permanent') throw new StripeReadError(verdict.reason, false);
        if (verdict.kind === 'rate_limited') {
          this.stats.rateLimited += 1;
          this.observe(pacer, limitedReason(error));
        }
        if (attempt >= this.options.maxAttempts) {
          throw new StripeReadError(`${verdict.reason} after ${attempt} attempts`, true);
        }
        const delay = this.backoff(attempt);
        if (retryBudgetMs !== undefined && this.now() - started + delay > retryBudgetMs) {
          throw new StripeReadError(`${verdict.reason}, out of time for retries`, true, true);
        }
        this.stats.retries += 1;
        await this.sleep(delay);
      } finally {
        pacer.release();
      }
    }
  }

  private pacerFor(account: string): AccountPacer {
    let pacer = this.pacers.get(account);
    if (!pacer) {
      // Idle pacers of accounts long done are dropped, so a long-lived container stays small.
      if (this.pacers.size >= MAX_PACERS) {
        for (const [key, idle] of this.pacers) if (idle.idle()) this.pacers.delete(key);
      }
      pacer = new AccountPacer(this.options, this.now, this.sleep);
      this.pacers.set(account, pacer);
    }
    return pacer;
  }

  private observe(pacer: AccountPacer, outcome: 'success' | 'rate' | 'concurrency'): void {
    pacer.adapt(outcome);
    this.stats.pace = pacer.rate;
    this.stats.concurrency = pacer.concurrency;
  }

  /** Full jitter: spreads retries of concurrent requests instead of stampeding together. */
  private backoff(attempt: number): number {
    const cap = Math.min(this.options.maxDelayMs, this.options.baseDelayMs * 2 ** (attempt - 1));
    return Math.round(cap / 2 + this.random() * (cap / 2));
  }
}

/** One account's pace and requests in flight. */
class AccountPacer {
  rate: number;
  /** Lowered to 1 when Stripe says the limit hit was on concurrent requests. */
  concurrency: number;
  private successes = 0;
  private halvedAt = Number.NEGATIVE_INFINITY;
  private inFlight = 0;
  private readonly waiting: (() => void)[] = [];
  private nextSlotAt = 0;

  constructor(
    private readonly options: RateLimitOptions,
    private readonly now: () => number,
    private readonly sleep: (ms: number) => Promise<void>,
  ) {
    this.rate = options.requestsPerSecond;
    this.concurrency = options.maxConcurrent;
  }

  idle(): boolean {
    return this.inFlight === 0 && this.waiting.length === 0;
  }

  /**
   * Additive increase, multiplicative decrease: the tenant's own traffic shares its account's
   * limit, so the pace settles under whatever is left instead of hammering at a fixed rate.
   */
  adapt(outcome: 'success' | 'rate' | 'concurrency'): void {
    if (outcome === 'success') {
      this.rate = Math.min(this.options.requestsPerSecond, this.rate + PACE_RECOVERY);
      // A run of successes wins the second request in flight back.
      this.successes += 1;
      if (this.successes >= CONCURRENCY_RECOVERY && this.concurrency < this.options.maxConcurrent) {
        this.concurrency += 1;
        this.successes = 0;
        this.waiting.shift()?.();
      }
      return;
    }
    this.successes = 0;
    const now = this.now();
    if (outcome === 'concurrency') {
      this.concurrency = 1;
    } else if (now - this.halvedAt >= HALVE_INTERVAL_MS) {
      // 429s of one burst (two requests in flight) are one signal, not two.
      this.halvedAt = now;
      this.rate = Math.max(MIN_REQUESTS_PER_SECOND, this.rate / 2);
    }
  }

  async pace(): Promise<void> {
    const interval = 1000 / this.rate;
    const now = this.now();
    const slot = Math.max(now, this.nextSlotAt);
    this.nextSlotAt = slot + interval;
    if (slot > now) await this.sleep(slot - now);
  }

  async acquire(): Promise<void> {
    while (this.inFlight >= this.concurrency) {
      await new Promise<void>((resolve) => this.waiting.push(resolve));
    }
    this.inFlight += 1;
  }

  release(): void {
    this.inFlight -= 1;
    if (this.inFlight < this.concurrency) this.waiting.shift()?.();
  }
}

type Verdict = { kind: 'rate_limited' | 'transient' | 'permanent'; reason: string };

/** `Stripe-Rate-Limited-Reason`: too many requests at once, or too many per second. */
function limitedReason(error: unknown): 'rate' | 'concurrency' {
  const headers = (error as { headers?: Record<string, unknown> } | null)?.headers;
  const reason = headers?.['stripe-rate-limited-reason'];
  return typeof reason === 'string' && reason.endsWith('-concurrency') ? 'concurrency' : 'rate';
}

function classify(error: unknown): Verdict {
  const e = error as { statusCode?: unknown; rawType?: unknown; type?: unknown; code?: unknown } | null;
  const status = typeof e?.statusCode === 'number' ? e.statusCode : undefined;
  const type =
    typeof e?.rawType === 'string' ? e.rawType : typeof e?.type === 'string' ? e.type : 'unknown_error';
  if (status === 429 || e?.type === 'StripeRateLimitError' || e?.code === 'rate_limit') {
    return { kind: 'rate_limited', reason: 'Stripe rate limit (429)' };
  }
  // 409 is Stripe's lock_timeout (a concurrent request held the object): worth another try.
  if (status !== undefined && (status >= 500 || status === 409))
    return { kind: 'transient', reason: `Stripe ${status}` };
  if (status === undefined) {
    // No answer from Stripe: the connection (the SDK's StripeConnectionError, a socket error) or
    // an AWS call on the way (the platform key from Secrets Manager) failed; anything else is a bug.
    const e2 = error as { $metadata?: unknown; name?: unknown } | null;
    const network =
      type === 'StripeConnectionError' ||
      e?.type === 'StripeConnectionError' ||
      fromAws(error) ||
      ['ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'EPIPE', 'ENOTFOUND', 'EAI_AGAIN'].includes(
        String(e?.code),
      );
    return network
      ? { kind: 'transient', reason: `network error (${type})` }
      : { kind: 'permanent', reason: `internal error (${String(e2?.name ?? 'unknown')})` };
  }
  return { kind: 'permanent', reason: `Stripe ${status} ${type}` };
}

/**
 * An AWS SDK error (it carries `$metadata`), or one wrapped around it: Powertools' parameter
 * providers rethrow a Secrets Manager failure as `GetParameterError` with the SDK's error as its
 * `cause`, and an outage while reading the platform key must be retried like a dropped
 * connection, not fail the run for good.
 */
function fromAws(error: unknown): boolean {
  let current = error as { $metadata?: unknown; cause?: unknown } | null | undefined;
  for (let depth = 0; current && depth < 4; depth++) {
    if (current.$metadata !== undefined) return true;
    current = current.cause as typeof current;
  }
  return false;
}
