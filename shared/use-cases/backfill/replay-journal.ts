import type { ReplayProgress } from '../../ports/backfill-status-store.ts';
import type { ChangeJournal, JournalRead } from '../../ports/change-journal.ts';
import type { RecordStore } from '../../ports/record-store.ts';
import { isThrottled } from './throttling.ts';

/**
 * How far before a run's start its replay reaches back: an event journaled just before the run
 * began may still be applying when the run's first batch is read. Longer than a webhook
 * function can live (15 minutes at most), plus clock skew between functions.
 */
export const REPLAY_LOOKBACK_MS = 20 * 60_000;
/** Entries applied at once; also how many may still land after a disconnect (one group). */
const REPLAY_CONCURRENCY = 8;

export interface ReplayOptions {
  /** Where an earlier slice stopped (a checkpoint's `progress.replay`). */
  readonly resume?: ReplayProgress | undefined;
  /** Epoch ms from which no group of entries starts: the slice's hand-over time. */
  readonly handOverAt: number;
  readonly now: () => number;
  /**
   * Asked (strongly consistent) before every group is written: false once the run was replaced
   * or the tenant disconnected, and then nothing more is written.
   */
  readonly isCurrent: () => Promise<boolean>;
  /** After every group, with the position reached: what the caller checkpoints. */
  readonly onProgress?: (replay: ReplayProgress) => void;
  readonly signal?: AbortSignal | undefined;
}

export type ReplayEnd =
  /** Read through to the journal's end: `replay.done`. */
  | { readonly end: 'done'; readonly replay: ReplayProgress }
  /** Out of time (or asked to stop), or DynamoDB throttled past its retries: resume at `replay`. */
  | { readonly end: 'stopped' | 'throttled'; readonly replay: ReplayProgress }
  /** The run is no longer current (replaced, or the tenant disconnected): nothing more is written. */
  | { readonly end: 'lost'; readonly replay: ReplayProgress };

/**
 * Puts back on top every event journaled since `windowStart` (minus the lookback), through the
 * guarded single writes: an event a backfill batch overwrote wins again, one it did not changes
 * nothing. It must run after the run's last batch write has landed; reading through to the
 * journal's end then covers every event a batch could have overwritten (entries are appended
 * before their event's writes, so an entry appended after the read has its writes after the run's).
 *
 * Which entries exist: intake journals an event only while the tenant has a backfill queued or
 * running (it reads the status strongly consistent with the event), so there are no entries from
 * before the run was queued, nor after it ended. The replay assumes nothing about those: it reads
 * what is there from `windowStart` on. `windowStart` is the run's start, or the start of a run it
 * replaced (`replayFrom`): that run was queued or running all along, so its window was journaled
 * too. A failed run's replay (pending, or inherited) needs nothing journaled after it failed: a
 * run is marked failed once its batches have landed (a last attempt that hangs is the exception,
 * see `abandonBackfill`), so later writes are intake's own. An event whose intake read the status before the run was queued is not journaled: no
 * replay can put it back, so such an event's writes must land before the run's first batch
 * reads the records (a rule for intake and the run's start, not something the replay can mend).
 *
 * Resumable: it stops at `handOverAt` (before a group, never inside one) and reports the position
 * of the last entry of the last group applied; `resume` carries on after it. A group cut short
 * (throttled) is applied again whole: guarded writes are idempotent and commute.
 */
export async function replayJournal(
  deps: { readonly journal: ChangeJournal; readonly records: RecordStore },
  tenantId: string,
  windowStart: Date,
  options: ReplayOptions,
): Promise<ReplayEnd> {
  let replay: ReplayProgress = {
    after: options.resume?.after ?? null,
    entries: options.resume?.entries ?? 0,
  };
  if (options.resume?.done) return { end: 'done', replay: options.resume };
  const from = new Date(windowStart.getTime() - REPLAY_LOOKBACK_MS);
  let group: JournalRead[] = [];
  const applyGroup = async (): Promise<ReplayEnd | undefined> => {
    if (options.signal?.aborted || options.now() >= options.handOverAt) return { end: 'stopped', replay };
    if (!(await options.isCurrent())) return { end: 'lost', replay };
    // Guarded writes commute (the newest version wins whatever the order): a few at a time.
    const applied = await Promise.allSettled(
      group.map(async (entry) => {
        for (const change of entry.changes) await deps.records.apply(tenantId, change, entry.version);
      }),
    );
    const failed = applied.find((result) => result.status === 'rejected');
    if (failed) {
      if (isThrottled(failed.reason)) return { end: 'throttled', replay };
      throw failed.reason;
    }
    replay = { after: (group.at(-1) as JournalRead).position, entries: replay.entries + group.length };
    group = [];
    options.onProgress?.(replay);
    return undefined;
  };
  try {
    for await (const entry of deps.journal.since(tenantId, from, replay.after ?? undefined)) {
      group.push(entry);
      if (group.length < REPLAY_CONCURRENCY) continue;
      const end = await applyGroup();
      if (end) return end;
    }
    const end = group.length > 0 ? await applyGroup() : undefined;
    if (end) return end;
  } catch (error) {
    // The journal's own reads can be throttled too.
    if (isThrottled(error)) return { end: 'throttled', replay };
    throw error;
  }
  return { end: 'done', replay: { ...replay, done: true } };
}
