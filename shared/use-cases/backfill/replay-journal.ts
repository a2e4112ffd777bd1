import type { ChangeJournal, JournalEntry } from '../../ports/change-journal.ts';
import type { RecordStore } from '../../ports/record-store.ts';

/**
 * How far before a run's start its replay reaches back: an event journaled just before the run
 * began may still be applying when the run's first batch is read. Longer than a webhook
 * function can live (15 minutes at most), plus clock skew between functions.
 */
export const REPLAY_LOOKBACK_MS = 20 * 60_000;
const REPLAY_CONCURRENCY = 8;

/**
 * Puts back on top every event journaled since `runStartedAt` (minus the lookback), through the
 * guarded single writes: an event a backfill batch overwrote wins again, one it did not changes
 * nothing. Returns how many journal entries were replayed.
 */
export async function replayJournal(
  deps: { readonly journal: ChangeJournal; readonly records: RecordStore },
  tenantId: string,
  runStartedAt: Date,
): Promise<number> {
  let replayed = 0;
  const from = new Date(runStartedAt.getTime() - REPLAY_LOOKBACK_MS);
  // Guarded writes commute (the newest version wins whatever the order), so entries are
  // replayed a few at a time; a busy tenant's journal must not eat the invocation.
  let batch: JournalEntry[] = [];
  const flush = async () => {
    await Promise.all(
      batch.map(async (entry) => {
        for (const change of entry.changes) await deps.records.apply(tenantId, change, entry.version);
      }),
    );
    replayed += batch.length;
    batch = [];
  };
  for await (const entry of deps.journal.since(tenantId, from)) {
    batch.push(entry);
    if (batch.length >= REPLAY_CONCURRENCY) await flush();
  }
  await flush();
  return replayed;
}
