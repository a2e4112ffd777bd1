import {
  type DynamoDBDocumentClient,
  GetCommand,
  QueryCommand,
  type QueryCommandInput,
} from '@aws-sdk/lib-dynamodb';
import type { OrderFactsInput } from '../../domain/metrics/metric-facts.ts';
import type { HistoryEntry } from '../../domain/metrics/subscription-history.ts';
import { type RecordVersion, versionOrder } from '../../domain/record-ordering.ts';
import type { SubscriptionRecord } from '../../domain/records.ts';
import type { MetricsSource, TenantMetricsInput } from '../../ports/metrics-source.ts';
import { tableKeySchema } from './table-definition.ts';

/**
 * A subscription's history in DynamoDB (README "Metrics"): one item per event and per backfill
 * snapshot of it, in the tenant's `REC#{tenant}#subscription_history` partition, keyed
 * `{customer}#{subscription}#{version order}#{event id}`. The key names the event, so a replay
 * or a duplicate delivery rewrites the same item and a backfill never overwrites an event's.
 * Keyed by customer first, so one customer's whole history is one range of the partition.
 *
 * @module
 */

export const historyPartition = (tenantId: string) => `REC#${tenantId}#subscription_history`;

/** Stripe ids hold no `#`; a subscription without a customer sorts under `-`. */
const customerPart = (record: SubscriptionRecord) => record.customerId ?? '-';

export function historyKey(tenantId: string, record: SubscriptionRecord, version: RecordVersion) {
  const order = String(versionOrder(version)).padStart(12, '0');
  return {
    pk: historyPartition(tenantId),
    sk: `${customerPart(record)}#${record.id}#${order}#${version.eventId}`,
  };
}

/** The item of one entry: what an event carried (or a backfill fetched), when, and from where. */
export function historyItem(
  tenantId: string,
  record: SubscriptionRecord,
  version: RecordVersion,
  source: HistoryEntry['source'],
): Record<string, unknown> {
  return {
    ...historyKey(tenantId, record, version),
    effectiveAt: version.created,
    rank: version.rank,
    eventId: version.eventId,
    source,
    record,
  };
}

function entryOf(item: Record<string, unknown>): HistoryEntry {
  return {
    effectiveAt: Number(item.effectiveAt),
    rank: Number(item.rank) as HistoryEntry['rank'],
    eventId: String(item.eventId),
    source: item.source === 'backfill' ? 'backfill' : 'event',
    record: item.record as SubscriptionRecord,
  };
}

export class DynamoDbMetricsSource implements MetricsSource {
  constructor(
    private readonly db: DynamoDBDocumentClient,
    private readonly tableName: string,
  ) {}

  async subscriptionHistory(tenantId: string, subscriptionId: string): Promise<HistoryEntry[] | undefined> {
    const subscription = await this.db.send(
      new GetCommand({
        TableName: this.tableName,
        Key: { pk: `REC#${tenantId}#subscriptions`, sk: subscriptionId },
        ProjectionExpression: 'customerId',
      }),
    );
    if (!subscription.Item) return undefined;
    const customer = typeof subscription.Item.customerId === 'string' ? subscription.Item.customerId : '-';
    const items = await this.queryAll({
      TableName: this.tableName,
      KeyConditionExpression: 'pk = :pk AND begins_with(sk, :prefix)',
      ExpressionAttributeValues: {
        ':pk': historyPartition(tenantId),
        ':prefix': `${customer}#${subscriptionId}#`,
      },
    });
    return items.map(entryOf);
  }

  async tenantInput(tenantId: string): Promise<TenantMetricsInput> {
    const [history, orders, customers] = await Promise.all([
      this.queryAll({
        TableName: this.tableName,
        KeyConditionExpression: 'pk = :pk',
        ExpressionAttributeValues: { ':pk': historyPartition(tenantId) },
      }),
      this.listed(tenantId, 'orders', 'amountPaid, amountRefunded, currency, paidAt'),
      this.listed(tenantId, 'customers', 'created'),
    ]);
    return {
      entries: history.map(entryOf),
      orders: orders.map(
        (item): OrderFactsInput => ({
          amountPaid: Number(item.amountPaid ?? 0),
          amountRefunded: Number(item.amountRefunded ?? 0),
          currency: typeof item.currency === 'string' ? item.currency : null,
          paidAt: typeof item.paidAt === 'string' ? item.paidAt : null,
        }),
      ),
      customers: customers.map((item) => ({
        created: typeof item.created === 'string' ? item.created : null,
      })),
    };
  }

  /** The records a listing shows (payment intents an invoice claimed are not listed). */
  private listed(tenantId: string, collection: 'orders' | 'customers', projection: string) {
    const names: Record<string, string> = {};
    const fields = projection.split(', ').map((field, index) => {
      names[`#p${index}`] = field;
      return `#p${index}`;
    });
    return this.queryAll({
      TableName: this.tableName,
      IndexName: tableKeySchema.gsi1.name,
      KeyConditionExpression: 'gsi1pk = :partition',
      ExpressionAttributeValues: { ':partition': `LIST#${tenantId}#${collection}` },
      ExpressionAttributeNames: names,
      ProjectionExpression: fields.join(', '),
    });
  }

  private async queryAll(input: QueryCommandInput): Promise<Record<string, unknown>[]> {
    const items: Record<string, unknown>[] = [];
    let startKey: Record<string, unknown> | undefined;
    do {
      const page = await this.db.send(new QueryCommand({ ...input, ExclusiveStartKey: startKey }));
      items.push(...(page.Items ?? []));
      startKey = page.LastEvaluatedKey;
    } while (startKey);
    return items;
  }
}
