import { stateMrr, subscriptionTimeline } from '../../domain/metrics/subscription-history.ts';
import type { SubscriptionItemRecord } from '../../domain/records.ts';
import { ValidationError } from '../../errors/validation-error.ts';
import type { MetricsSource } from '../../ports/metrics-source.ts';

/** One line of a subscription's history, as the dashboards read it (design §3 item 9). */
export interface HistoryLine {
  readonly effectiveAt: string;
  readonly source: 'event' | 'backfill' | 'reconstructed';
  readonly status: string;
  /** The MRR from this line on, minor units of `currency`. */
  readonly mrr: number;
  readonly currency: string | null;
  readonly cancelAtPeriodEnd: boolean;
  readonly items: readonly SubscriptionItemRecord[];
}

export interface HistoryPage {
  readonly data: readonly HistoryLine[];
  /** Opaque; null on the last page. */
  readonly nextCursor: string | null;
}

const CURSOR_PREFIX = 'h1:';
const encodeCursor = (from: number) => Buffer.from(`${CURSOR_PREFIX}${from}`).toString('base64url');

function decodeCursor(cursor: string): number {
  const text = Buffer.from(cursor, 'base64url').toString('utf8');
  const from = Number(text.slice(CURSOR_PREFIX.length));
  if (
    !text.startsWith(CURSOR_PREFIX) ||
    !/^\d{1,12}$/.test(text.slice(CURSOR_PREFIX.length)) ||
    !Number.isSafeInteger(from)
  ) {
    throw new ValidationError('invalid_cursor', 'cursor is malformed or belongs to another listing');
  }
  return from;
}

/**
 * `GET /api/stripe/subscriptions/{id}/history`: the subscription's states oldest first, the
 * reconstructed past before its first entry included, `limit` at a time. Undefined when the
 * tenant has no such subscription. The cursor names the last line's time, so entries that
 * arrive between pages do not shift the next one.
 */
export async function subscriptionHistoryPage(
  deps: { readonly metrics: MetricsSource },
  tenantId: string,
  subscriptionId: string,
  limit: number,
  cursor: string | undefined,
): Promise<HistoryPage | undefined> {
  const after = cursor === undefined ? undefined : decodeCursor(cursor);
  const entries = await deps.metrics.subscriptionHistory(tenantId, subscriptionId);
  if (entries === undefined) return undefined;
  const segments = (subscriptionTimeline(entries)?.segments ?? []).filter(
    (s) => after === undefined || s.from > after,
  );
  const page = segments.slice(0, limit);
  const last = page.at(-1);
  return {
    data: page.map((segment) => ({
      effectiveAt: new Date(segment.from * 1000).toISOString(),
      source: segment.source,
      status: segment.state.status,
      mrr: stateMrr(segment.state, segment.from),
      currency: segment.state.currency,
      cancelAtPeriodEnd: segment.state.cancelAtPeriodEnd,
      items: segment.state.items,
    })),
    nextCursor: segments.length > limit && last ? encodeCursor(last.from) : null,
  };
}
