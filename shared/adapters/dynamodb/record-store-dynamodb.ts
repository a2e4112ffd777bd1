import { type DynamoDBDocumentClient, GetCommand, QueryCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import type { RecordChange } from '../../domain/records.ts';
import { ValidationError } from '../../errors/validation-error.ts';
import type {
  ApplyOutcome,
  RecordCollection,
  RecordPage,
  RecordStore,
  RecordTypes,
  RecordVersion,
} from '../../ports/record-store.ts';
import { isConditionFailure } from './condition-failure.ts';
import { tableKeySchema } from './table-definition.ts';

const recordKey = (tenantId: string, collection: RecordCollection, id: string) => ({
  pk: `REC#${tenantId}#${collection}`,
  sk: id,
});
const listPartition = (tenantId: string, collection: RecordCollection) => `LIST#${tenantId}#${collection}`;
/** ISO-8601 strings of one format sort like the instants they name; unknown dates sort oldest. */
const listSortKey = (created: string | null, id: string) => `${created ?? '0000-00-00T00:00:00.000Z'}#${id}`;

/** Data at least as new wins; the same event applied twice is allowed (and changes nothing). */
const NEWER_OR_SAME =
  'attribute_not_exists(eventCreated) OR eventCreated < :created OR (eventCreated = :created AND eventId <= :eventId)';
const REFUND_NEWER_OR_SAME =
  'attribute_not_exists(refundCreated) OR refundCreated < :created OR (refundCreated = :created AND refundEventId <= :eventId)';

const FIELDS: { [C in RecordCollection]: readonly (keyof RecordTypes[C])[] } = {
  customers: ['id', 'created', 'deleted'],
  subscriptions: [
    'id',
    'customerId',
    'status',
    'currency',
    'items',
    'mrr',
    'cancelAtPeriodEnd',
    'canceledAt',
    'endedAt',
    'trialEnd',
    'currentPeriodEnd',
    'created',
  ],
  orders: [
    'id',
    'kind',
    'status',
    'amount',
    'amountPaid',
    'amountRefunded',
    'currency',
    'customerId',
    'subscriptionId',
    'created',
    'paidAt',
  ],
};

/**
 * Dashboard records, one item per Stripe object (`REC#{tenant}#{collection}` / id), listed newest
 * first through the sparse `gsi1` (`LIST#{tenant}#{collection}` / `{created}#{id}`). Writes are
 * single conditional UpdateItems: the guard compares the event that wrote the item, and refund
 * totals carry a guard of their own so order events and refunds never overwrite each other.
 */
export class DynamoDbRecordStore implements RecordStore {
  constructor(
    private readonly db: DynamoDBDocumentClient,
    private readonly tableName: string,
  ) {}

  async apply(
    tenantId: string,
    change: Exclude<RecordChange, { kind: 'deauthorized' }>,
    version: RecordVersion,
  ): Promise<ApplyOutcome> {
    switch (change.kind) {
      case 'customer':
        return this.upsert(
          tenantId,
          'customers',
          change.record.id,
          change.record,
          change.record.created,
          version,
        );
      case 'subscription':
        return this.upsert(
          tenantId,
          'subscriptions',
          change.record.id,
          change.record,
          change.record.created,
          version,
        );
      case 'order':
        return this.upsert(
          tenantId,
          'orders',
          change.record.id,
          change.record,
          change.record.created,
          version,
        );
      case 'one_time_candidate':
        // Refused once an invoice has claimed this payment intent (see `payment_link`).
        return this.upsert(
          tenantId,
          'orders',
          change.record.id,
          change.record,
          change.record.created,
          version,
          true,
        );
      case 'payment_link':
        return this.linkPayment(tenantId, change.paymentIntentId, change.invoiceId);
      case 'refund':
        return this.refund(tenantId, change, version);
    }
  }

  async list<C extends RecordCollection>(
    tenantId: string,
    collection: C,
    limit: number,
    cursor: string | undefined,
  ): Promise<RecordPage<RecordTypes[C]>> {
    const partition = listPartition(tenantId, collection);
    const startKey = cursor === undefined ? undefined : decodeCursor(cursor, tenantId, collection);
    const result = await this.db.send(
      new QueryCommand({
        TableName: this.tableName,
        IndexName: tableKeySchema.gsi1.name,
        KeyConditionExpression: 'gsi1pk = :partition',
        ExpressionAttributeValues: { ':partition': partition },
        ScanIndexForward: false,
        Limit: limit,
        ExclusiveStartKey: startKey,
      }),
    );
    const data = (result.Items ?? []).map((item) => pick(collection, item));
    const last = result.LastEvaluatedKey;
    return { data, nextCursor: last ? encodeCursor(collection, last) : null };
  }

  private async upsert(
    tenantId: string,
    collection: RecordCollection,
    id: string,
    record: object,
    created: string | null,
    version: RecordVersion,
    unlessSuperseded = false,
  ): Promise<ApplyOutcome> {
    const names: Record<string, string> = {};
    const values: Record<string, unknown> = {
      ':created': version.created,
      ':eventId': version.eventId,
      ':gsi1pk': listPartition(tenantId, collection),
      ':gsi1sk': listSortKey(created, id),
    };
    const sets = Object.entries(record).map(([field, value], index) => {
      names[`#f${index}`] = field;
      values[`:f${index}`] = value;
      return `#f${index} = :f${index}`;
    });
    try {
      await this.db.send(
        new UpdateCommand({
          TableName: this.tableName,
          Key: recordKey(tenantId, collection, id),
          UpdateExpression: `SET ${sets.join(', ')}, eventCreated = :created, eventId = :eventId, gsi1pk = :gsi1pk, gsi1sk = :gsi1sk`,
          ConditionExpression: unlessSuperseded
            ? `(${NEWER_OR_SAME}) AND attribute_not_exists(supersededBy)`
            : NEWER_OR_SAME,
          ExpressionAttributeNames: names,
          ExpressionAttributeValues: values,
        }),
      );
      return 'applied';
    } catch (error) {
      if (isConditionFailure(error)) return 'stale';
      throw error;
    }
  }

  /**
   * Marks a payment intent as paid for an invoice: its order item becomes a tombstone outside the
   * listing (created if absent), so a one-time order for it is never shown, whichever event
   * arrives first. The tombstone also tells a later refund which invoice to adjust.
   */
  private async linkPayment(
    tenantId: string,
    paymentIntentId: string,
    invoiceId: string,
  ): Promise<ApplyOutcome> {
    await this.db.send(
      new UpdateCommand({
        TableName: this.tableName,
        Key: recordKey(tenantId, 'orders', paymentIntentId),
        UpdateExpression: 'SET supersededBy = :invoiceId REMOVE gsi1pk, gsi1sk',
        ExpressionAttributeValues: { ':invoiceId': invoiceId },
      }),
    );
    return 'applied';
  }

  private async refund(
    tenantId: string,
    change: Extract<RecordChange, { kind: 'refund' }>,
    version: RecordVersion,
  ): Promise<ApplyOutcome> {
    let orderId = change.invoiceId;
    if (!orderId && change.invoiceKnown) orderId = change.paymentIntentId;
    if (!orderId && change.paymentIntentId) {
      const { Item } = await this.db.send(
        new GetCommand({
          TableName: this.tableName,
          Key: recordKey(tenantId, 'orders', change.paymentIntentId),
          ConsistentRead: true,
          ProjectionExpression: 'supersededBy',
        }),
      );
      orderId = typeof Item?.supersededBy === 'string' ? Item.supersededBy : change.paymentIntentId;
    }
    if (!orderId) return 'stale';
    try {
      // Creates a listing-less stub when the order has not arrived yet; the order event fills it.
      await this.db.send(
        new UpdateCommand({
          TableName: this.tableName,
          Key: recordKey(tenantId, 'orders', orderId),
          UpdateExpression:
            'SET amountRefunded = :amount, refundCreated = :created, refundEventId = :eventId',
          ConditionExpression: REFUND_NEWER_OR_SAME,
          ExpressionAttributeValues: {
            ':amount': change.amountRefunded,
            ':created': version.created,
            ':eventId': version.eventId,
          },
        }),
      );
      return 'applied';
    } catch (error) {
      if (isConditionFailure(error)) return 'stale';
      throw error;
    }
  }
}

function pick<C extends RecordCollection>(collection: C, item: Record<string, unknown>): RecordTypes[C] {
  const out: Record<string, unknown> = {};
  for (const field of FIELDS[collection]) out[field as string] = item[field as string] ?? null;
  if (collection === 'orders') out.amountRefunded = (item.amountRefunded as number | undefined) ?? 0;
  return out as unknown as RecordTypes[C];
}

function encodeCursor(collection: RecordCollection, key: Record<string, unknown>): string {
  return Buffer.from(JSON.stringify({ v: 1, c: collection, k: key })).toString('base64url');
}

/** A cursor must be one this store issued for the same tenant and collection. */
function decodeCursor(
  cursor: string,
  tenantId: string,
  collection: RecordCollection,
): Record<string, string> {
  const invalid = () =>
    new ValidationError('invalid_cursor', 'cursor is malformed or belongs to another listing');
  if (cursor.length > 2048 || !/^[A-Za-z0-9_-]+$/.test(cursor)) throw invalid();
  let parsed: unknown;
  try {
    parsed = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8'));
  } catch {
    throw invalid();
  }
  const { v, c, k } = (parsed ?? {}) as { v?: unknown; c?: unknown; k?: Record<string, unknown> };
  if (v !== 1 || c !== collection || !k || typeof k !== 'object') throw invalid();
  const keys = Object.keys(k).sort().join(',');
  if (keys !== 'gsi1pk,gsi1sk,pk,sk' || Object.values(k).some((value) => typeof value !== 'string'))
    throw invalid();
  if (k.gsi1pk !== listPartition(tenantId, collection) || k.pk !== recordKey(tenantId, collection, '').pk) {
    throw invalid();
  }
  return k as Record<string, string>;
}
