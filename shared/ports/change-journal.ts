import type { StoreChange } from '../domain/records.ts';
import type { RecordVersion } from './record-store.ts';

/** One event's record changes, as the webhook receiver was about to apply them. */
export interface JournalEntry {
  readonly eventId: string;
  readonly version: RecordVersion;
  readonly changes: readonly StoreChange[];
}

/**
 * Per-tenant, time-ordered log of the record changes webhooks apply. A backfill writes in bulk
 * (read, merge, write back), which can overwrite an event applied in between; replaying the
 * entries appended since the run began puts those events back. Entries are appended *before*
 * the changes are applied, so an event either is in the journal when the replay reads it, or
 * its own write comes after every write of the run.
 */
export interface ChangeJournal {
  append(tenantId: string, entry: JournalEntry, at: Date): Promise<void>;
  /**
   * Entries appended at or after `from`, oldest first, each with its `position`; with `after`
   * (a position read before), only those after it: how a replay cut off mid-way resumes.
   */
  since(tenantId: string, from: Date, after?: string): AsyncIterable<JournalRead>;
}

/** A journal entry as read back: `position` orders the journal and names the entry in it. */
export interface JournalRead extends JournalEntry {
  readonly position: string;
}
