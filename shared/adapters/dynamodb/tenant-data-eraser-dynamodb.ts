import { BatchWriteCommand, type DynamoDBDocumentClient, QueryCommand } from '@aws-sdk/lib-dynamodb';
import { RECORD_COLLECTIONS } from '../../domain/records.ts';
import type { ErasureStep, TenantDataEraser } from '../../ports/tenant-data-eraser.ts';
import { historyPartition } from './subscription-history-dynamodb.ts';

/** Every collection the record store keeps (`REC#{tenant}#{collection}`). */
const COLLECTIONS = RECORD_COLLECTIONS;

/** The partitions holding a tenant's Stripe-derived data, erased in this order. */
export function tenantDataPartitions(tenantId: string): readonly string[] {
  return [
    ...COLLECTIONS.map((collection) => `REC#${tenantId}#${collection}`),
    historyPartition(tenantId),
    `JOURNAL#${tenantId}`,
    `LEDGER#${tenantId}`,
  ];
}

export interface EraserPacing {
  /**
   * Deletes per second at most. One partition takes 1,000 write units a second; half of that
   * leaves room for the tenant's other traffic (and an on-demand table's other tenants).
   */
  readonly itemsPerSecond: number;
  /** Time kept back before `stopAt` for the caller's checkpoint and hand-over. */
  readonly marginMs: number;
  readonly now?: () => number;
  readonly sleep?: (ms: number) => Promise<void>;
}

export const DEFAULT_ERASER_PACING: EraserPacing = { itemsPerSecond: 500, marginMs: 5_000 };

/** DynamoDB's limit per BatchWriteItem, and a Query page that fills four of them. */
const WRITE_LIMIT = 25;
const PAGE = 100;
const BASE_DELAY_MS = 50;
const MAX_DELAY_MS = 5_000;
const THROTTLED = new Set([
  'ProvisionedThroughputExceededException',
  'ThrottlingException',
  'RequestLimitExceeded',
]);

const defaultSleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/**
 * Queries a page of keys (strongly consistent, keys only), deletes them in batches of 25, and
 * moves to the next partition when a page comes back empty. Unprocessed items and throttling
 * back off and are sent again until the deadline; then the step ends with what it did, and the
 * next call, from the same partition, finds what is left.
 */
export class DynamoDbTenantDataEraser implements TenantDataEraser {
  private readonly now: () => number;
  private readonly sleep: (ms: number) => Promise<void>;

  constructor(
    private readonly db: DynamoDBDocumentClient,
    private readonly tableName: string,
    private readonly pacing: EraserPacing = DEFAULT_ERASER_PACING,
  ) {
    this.now = pacing.now ?? Date.now;
    this.sleep = pacing.sleep ?? defaultSleep;
  }

  async eraseSome(tenantId: string, fromPartition: number, stopAt: number): Promise<ErasureStep> {
    const partitions = tenantDataPartitions(tenantId);
    const started = this.now();
    const deadline = stopAt - this.pacing.marginMs;
    let partition = Math.max(0, fromPartition);
    let deleted = 0;
    while (partition < partitions.length) {
      if (this.now() >= deadline) return { partition, deleted, done: false };
      const keys = await this.page(partitions[partition] as string, deadline);
      if (keys === undefined) return { partition, deleted, done: false };
      if (keys.length === 0) {
        partition += 1;
        continue;
      }
      const complete = await this.deleteAll(keys, deadline);
      deleted += complete;
      if (complete < keys.length) return { partition, deleted, done: false };
      // Paced: never faster than `itemsPerSecond` over the whole step.
      const due = started + (deleted / this.pacing.itemsPerSecond) * 1000;
      const wait = due - this.now();
      if (wait > 0) await this.sleep(Math.min(wait, Math.max(0, deadline - this.now())));
    }
    return { partition, deleted, done: true };
  }

  /** Undefined when throttling outlasted the deadline. */
  private async page(pk: string, deadline: number): Promise<{ pk: string; sk: string }[] | undefined> {
    for (let attempt = 1; ; attempt += 1) {
      try {
        const { Items = [] } = await this.db.send(
          new QueryCommand({
            TableName: this.tableName,
            KeyConditionExpression: 'pk = :pk',
            ExpressionAttributeValues: { ':pk': pk },
            ProjectionExpression: 'pk, sk',
            ConsistentRead: true,
            Limit: PAGE,
          }),
        );
        return Items.map((item) => ({ pk: String(item.pk), sk: String(item.sk) }));
      } catch (error) {
        if (!isThrottled(error)) throw error;
        if (!(await this.backoff(attempt, deadline))) return undefined;
      }
    }
  }

  /** How many of `keys` are certainly deleted when it returns. */
  private async deleteAll(keys: readonly { pk: string; sk: string }[], deadline: number): Promise<number> {
    const chunks: { pk: string; sk: string }[][] = [];
    for (let start = 0; start < keys.length; start += WRITE_LIMIT)
      chunks.push(keys.slice(start, start + WRITE_LIMIT));
    const done = await Promise.all(chunks.map((chunk) => this.deleteChunk(chunk, deadline)));
    return done.reduce((sum, n) => sum + n, 0);
  }

  private async deleteChunk(chunk: readonly { pk: string; sk: string }[], deadline: number): Promise<number> {
    let pending = chunk.map((Key) => ({ DeleteRequest: { Key } }));
    for (let attempt = 1; pending.length > 0; attempt += 1) {
      if (attempt > 1 && (this.now() >= deadline || !(await this.backoff(attempt, deadline)))) break;
      try {
        const result = await this.db.send(
          new BatchWriteCommand({ RequestItems: { [this.tableName]: pending } }),
        );
        pending = (result.UnprocessedItems?.[this.tableName] ?? []) as typeof pending;
      } catch (error) {
        if (!isThrottled(error)) throw error;
      }
    }
    return chunk.length - pending.length;
  }

  /** False when the wait would pass the deadline. */
  private async backoff(attempt: number, deadline: number): Promise<boolean> {
    const ceiling = Math.min(MAX_DELAY_MS, BASE_DELAY_MS * 2 ** Math.min(attempt - 1, 16));
    const wait = ceiling / 2 + (Math.random() * ceiling) / 2;
    if (this.now() + wait >= deadline) return false;
    await this.sleep(wait);
    return true;
  }
}

function isThrottled(error: unknown): boolean {
  return THROTTLED.has(String((error as { name?: unknown } | null)?.name));
}
