import type { BackfillPhase } from '../../domain/stripe-kinds/registry.ts';
import { StripeReadError } from '../../errors/stripe-read-error.ts';
import type { ListPage } from '../../ports/stripe-backfill-source.ts';
import { ReadAhead } from '../../support/read-ahead.ts';
import { beforeTime, settle, TIME_UP } from './time-limits.ts';

/** Pages read ahead of the writes, per lane: a few hundred objects, a few MB at most. */
const READ_AHEAD_PAGES = 3;
/** Pages of a lane being written at once: one's reads overlap another's writes. */
const WRITES_IN_FLIGHT = 2;

/** Where a lane reads next: a list and the id its next page starts after. */
export type Position = { readonly phase: BackfillPhase; readonly cursor: string | null };

/** A page as read, with the second its request started (the snapshot's version). */
export type FetchedPage = ListPage & { readonly fetchedAt: number };

/** A page of the lane: where it was read, and where the lane reads after it (null: the end). */
export type LanePage = FetchedPage & { readonly at: Position; readonly next: Position | null };

export type LaneEnd =
  | { readonly end: 'done' | 'stopped' }
  | { readonly end: 'stripe_error'; readonly error: StripeReadError };

/** What a lane needs of its run. */
export interface LaneRun {
  /** The lane's lists, in the order they are walked. */
  readonly phases: readonly BackfillPhase[];
  /** Where the lane resumes; undefined when it has nothing left. */
  readonly start: Position | undefined;
  readonly deadline: number;
  /** No page is read past `deadline - margin`. */
  readonly margin: number;
  /** No page is written past it: the invocation hands over. */
  readonly handOverAt: number;
  readonly now: () => number;
  /** The run must end early (the other lane stopped, the run was lost, an abort). */
  readonly halted: () => boolean;
  readonly fetch: (at: Position) => Promise<FetchedPage>;
  /** Writes a page's records; false when the run is no longer ours (nothing written). */
  readonly write: (page: LanePage) => Promise<boolean>;
  /** A page and every page before it landed: strictly in page order. */
  readonly landed: (page: LanePage) => void;
  /** Whether the lane still has a position, once it ends (it stopped before its last page). */
  readonly unfinished: () => boolean;
}

/**
 * Walks one lane of lists page by page: Stripe is read ahead of the writes (the latency of one
 * and the cost of the other overlap), pages are written a few at once, and each is reported
 * landed strictly in order, so a checkpoint never gets ahead of a page that has not landed. A
 * page settles only once its own write has, even after an earlier one failed: nothing of the lane
 * is still writing when it returns. A write that fails (DynamoDB throttling past its back-off)
 * rejects the lane.
 */
export async function walkLane(run: LaneRun): Promise<LaneEnd> {
  let readAt = run.start;
  // Reading stops at the safety margin; what was read by then is still written.
  const pages = new ReadAhead<LanePage>(async () => {
    const at = readAt;
    if (!at || run.halted() || run.deadline - run.now() < run.margin) return undefined;
    const page = await run.fetch(at);
    const last = page.data.at(-1)?.id;
    const phaseAfter = run.phases[run.phases.indexOf(at.phase) + 1];
    const next: Position | null =
      page.hasMore && typeof last === 'string'
        ? { phase: at.phase, cursor: last }
        : phaseAfter
          ? { phase: phaseAfter, cursor: null }
          : null;
    readAt = next ?? undefined;
    return { ...page, at, next };
  }, READ_AHEAD_PAGES);
  let landed: Promise<void> = Promise.resolve();
  const inFlight: Promise<void>[] = [];
  try {
    for (;;) {
      // Writes held up past half the margin, or the other lane stopped: hand over now.
      if (run.halted() || run.now() >= run.handOverAt) return { end: 'stopped' };
      let page: LanePage | undefined;
      try {
        // A read that hangs (Stripe slow, retries backing off) must not carry the invocation
        // past its deadline: at half the margin the lane gives up waiting and hands over.
        const taken = await beforeTime(pages.take(), run.handOverAt - run.now());
        if (taken === TIME_UP) return { end: 'stopped' };
        page = taken;
      } catch (error) {
        if (error instanceof StripeReadError) {
          return error.outOfTime ? { end: 'stopped' } : { end: 'stripe_error', error };
        }
        throw error;
      }
      if (!page) {
        await landed;
        return { end: run.unfinished() ? 'stopped' : 'done' };
      }
      const current = page;
      const written = settle(run.write(current));
      const previous = landed;
      landed = settle(
        (async () => {
          const [before, own] = await Promise.allSettled([previous, written]);
          if (before.status === 'rejected') throw before.reason;
          if (own.status === 'rejected') throw own.reason;
          if (own.value) run.landed(current);
        })(),
      );
      inFlight.push(landed);
      if (inFlight.length >= WRITES_IN_FLIGHT) await inFlight.shift();
    }
  } finally {
    pages.stop();
    // Whatever way the lane ends, its pages in flight land (or fail) before it reports.
    await landed;
  }
}
