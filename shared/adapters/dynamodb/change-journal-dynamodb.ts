import { type DynamoDBDocumentClient, PutCommand, paginateQuery } from '@aws-sdk/lib-dynamodb';
import type { StoreChange } from '../../domain/records.ts';
import type { ChangeJournal, JournalEntry, JournalRead } from '../../ports/change-journal.ts';
import type { Clock } from '../../ports/clock.ts';
import type { RecordVersion } from '../../ports/record-store.ts';

/**
 * Longer than any backfill run takes (minutes for a large clinic, a few hours when Stripe keeps
 * throttling it): a run replays the entries appended since it began.
 */
export const JOURNAL_RETENTION_SECONDS = 3 * 24 * 60 * 60;

/**
 * The change journal in the single table: `JOURNAL#{tenant}` / `{ISO time}#{event id}`, expiring
 * by TTL. A retried event appends a second entry; replaying both is harmless (the guard).
 */
export class DynamoDbChangeJournal implements ChangeJournal {
  constructor(
    private readonly db: DynamoDBDocumentClient,
    private readonly tableName: string,
    private readonly clock: Clock,
  ) {}

  async append(tenantId: string, entry: JournalEntry, at: Date): Promise<void> {
    await this.db.send(
      new PutCommand({
        TableName: this.tableName,
        Item: {
          pk: partition(tenantId),
          sk: `${at.toISOString()}#${entry.eventId}`,
          eventId: entry.eventId,
          version: entry.version,
          changes: entry.changes,
          expiresAt: Math.floor(at.getTime() / 1000) + JOURNAL_RETENTION_SECONDS,
        },
      }),
    );
  }

  /** Positions are sort keys (`{ISO time}#{event id}`): they order the journal as they compare. */
  async *since(tenantId: string, from: Date, after?: string): AsyncIterable<JournalRead> {
    const start = from.toISOString();
    const resume = after !== undefined && after >= start;
    const pages = paginateQuery(
      { client: this.db, pageSize: 100 },
      {
        TableName: this.tableName,
        KeyConditionExpression: resume ? 'pk = :pk AND sk > :after' : 'pk = :pk AND sk >= :from',
        ExpressionAttributeValues: resume
          ? { ':pk': partition(tenantId), ':after': after }
          : { ':pk': partition(tenantId), ':from': start },
        ConsistentRead: true,
      },
    );
    for await (const page of pages) {
      // DynamoDB deletes expired items lazily (up to ~48 h late): an expired entry is gone.
      const now = Math.floor(this.clock.now().getTime() / 1000);
      for (const item of page.Items ?? []) {
        if (typeof item.expiresAt === 'number' && item.expiresAt <= now) continue;
        yield {
          position: item.sk as string,
          eventId: item.eventId as string,
          version: item.version as RecordVersion,
          changes: item.changes as StoreChange[],
        };
      }
    }
  }
}

const partition = (tenantId: string) => `JOURNAL#${tenantId}`;
