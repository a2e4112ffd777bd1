import { DeleteCommand, type DynamoDBDocumentClient, GetCommand, PutCommand } from '@aws-sdk/lib-dynamodb';
import type { BackfillStatus, BackfillStatusStore } from '../../ports/backfill-status-store.ts';

const key = (tenantId: string) => ({ pk: `TENANT#${tenantId}`, sk: 'BACKFILL#stripe' });

export class DynamoDbBackfillStatusStore implements BackfillStatusStore {
  constructor(
    private readonly db: DynamoDBDocumentClient,
    private readonly tableName: string,
  ) {}

  async get(tenantId: string): Promise<BackfillStatus | undefined> {
    const { Item } = await this.db.send(
      new GetCommand({ TableName: this.tableName, Key: key(tenantId), ConsistentRead: true }),
    );
    if (!Item) return undefined;
    return {
      status: Item.status,
      queuedAt: Item.queuedAt,
      startedAt: Item.startedAt ?? null,
      finishedAt: Item.finishedAt ?? null,
      error: Item.error ?? null,
      result: Item.result ?? null,
    };
  }

  async markQueued(tenantId: string, at: Date): Promise<void> {
    await this.db.send(
      new PutCommand({
        TableName: this.tableName,
        Item: { ...key(tenantId), tenantId, status: 'queued', queuedAt: at.toISOString() },
      }),
    );
  }

  async delete(tenantId: string): Promise<void> {
    await this.db.send(new DeleteCommand({ TableName: this.tableName, Key: key(tenantId) }));
  }
}
