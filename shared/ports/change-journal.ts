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
  /** Entries appended at or after `from`, oldest first. */
  since(tenantId: string, from: Date): AsyncIterable<JournalEntry>;
}
