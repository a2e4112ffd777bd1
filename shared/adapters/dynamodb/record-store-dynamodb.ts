import { type DynamoDBDocumentClient, GetCommand, QueryCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { mayOverwrite, versionOrder } from '../../domain/record-ordering.ts';
import type { RecordChange, StoreChange } from '../../domain/records.ts';
import { isStripeObjectId } from '../../domain/stripe-ids.ts';
import { ValidationError } from '../../errors/validation-error.ts';
import type {
  ApplyOutcome,
  RecordCollection,
  RecordOrigin,
  RecordPage,
  RecordStore,
  RecordTypes,
  RecordVersion,
  RunCounts,
} from '../../ports/record-store.ts';
import { KeyLocks } from '../../support/key-locks.ts';
import { type BatchIoOptions, batchGet, batchPut, keyString } from './batch-io.ts';
import { isConditionFailure } from './condition-failure.ts';
import { tableKeySchema } from './table-definition.ts';

const recordKey = (tenantId: string, collection: RecordCollection, id: string) => ({
  pk: `REC#${tenantId}#${collection}`,
  sk: id,
});
const listPartition = (tenantId: string, collection: RecordCollection) => `LIST#${tenantId}#${collection}`;
/** ISO-8601 strings of one format sort like the instants they name; unknown dates sort oldest. */
const listSortKey = (created: string | null, id: string) => `${created ?? '0000-00-00T00:00:00.000Z'}#${id}`;

const WEBHOOK: RecordOrigin = { kind: 'webhook' };

/**
 * `mayOverwrite` (shared/domain/record-ordering.ts) as a condition: `eventCreated` holds the
 * stored version's order, `:created` the incoming one's (test/integration/record-ordering.test.ts
 * checks the two agree).
 */
export const NEWER_OR_SAME =
  'attribute_not_exists(eventCreated) OR eventCreated < :created OR (eventCreated = :created AND eventId <= :eventId)';
/** `refundMayOverwrite` as a condition: `refundCreated` and `amountRefunded` are the stored refund. */
export const REFUND_NEWER_OR_SAME =
  'attribute_not_exists(refundCreated) OR refundCreated < :created OR (refundCreated = :created AND amountRefunded <= :amount)';

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

type Refund = Extract<RecordChange, { kind: 'refund' }>;

/**
 * Dashboard records, one item per Stripe object (`REC#{tenant}#{collection}` / id), listed newest
 * first through the sparse `gsi1` (`LIST#{tenant}#{collection}` / `{created}#{id}`). Writes are
 * single conditional UpdateItems: the guard compares the version that wrote the item, and refund
 * totals carry a guard of their own so order events and refunds never overwrite each other.
 */
export class DynamoDbRecordStore implements RecordStore {
  constructor(
    private readonly db: DynamoDBDocumentClient,
    private readonly tableName: string,
    private readonly batchOptions: BatchIoOptions = {},
  ) {}

  /** Keys a backfill batch (or a refund beside it) is reading and writing in this process. */
  private readonly snapshotLocks = new KeyLocks();

  async apply(
    tenantId: string,
    change: StoreChange,
    version: RecordVersion,
    origin: RecordOrigin = WEBHOOK,
  ): Promise<ApplyOutcome> {
    switch (change.kind) {
      case 'customer':
        return this.upsert(tenantId, 'customers', change.record, version, origin);
      case 'subscription':
        return this.upsert(tenantId, 'subscriptions', change.record, version, origin);
      case 'order':
        return this.upsert(tenantId, 'orders', change.record, version, origin);
      case 'one_time_candidate':
        // Refused once an invoice has claimed this payment intent (see `payment_link`).
        return this.upsert(tenantId, 'orders', change.record, version, origin, true);
      case 'payment_link':
        return this.linkPayment(tenantId, change.paymentIntentId, change.invoiceId);
      case 'refund':
        return this.refund(tenantId, change, version);
    }
  }

  /**
   * The bulk path of a backfill page (see the port): one strongly consistent BatchGetItem per
   * 100 items touched, the changes applied in memory by `upserted` and `linked` (the same rules
   * as the UpdateExpressions of `apply`), one BatchWriteItem per 25 changed items. Refunds keep
   * their single guarded writes: they resolve an invoice link, and they are few.
   */
  async applySnapshot(
    tenantId: string,
    changes: readonly StoreChange[],
    version: RecordVersion,
    runId: string,
  ): Promise<void> {
    const itemChanges = changes.filter((change) => change.kind !== 'refund');
    const keys = itemChanges.map((change) => snapshotKey(tenantId, change));
    // Two batches of one run sharing a key must not interleave their reads and writes.
    const carriedRefunds = await this.snapshotLocks.withKeys(keys.map(keyString), async () => {
      const current = new Map<string, Item>();
      for (const item of await batchGet(this.db, this.tableName, keys, this.batchOptions)) {
        current.set(keyString(item as RecordKey), item);
      }
      const changed = new Map<string, Item>();
      const carriedRefunds: { invoiceId: string; amount: number; created: number }[] = [];
      for (const change of itemChanges) {
        const key = snapshotKey(tenantId, change);
        const id = keyString(key);
        const before = changed.get(id) ?? current.get(id);
        let after: Item | undefined;
        if (change.kind === 'payment_link') {
          after = linked(before, key, change.invoiceId);
          if (typeof before?.refundCreated === 'number' && typeof before.amountRefunded === 'number') {
            carriedRefunds.push({
              invoiceId: change.invoiceId,
              amount: before.amountRefunded,
              created: before.refundCreated,
            });
          }
        } else {
          const collection =
            change.kind === 'customer'
              ? 'customers'
              : change.kind === 'subscription'
                ? 'subscriptions'
                : 'orders';
          after = upserted(
            before,
            key,
            tenantId,
            collection,
            change.record,
            version,
            runId,
            change.kind === 'one_time_candidate',
          );
        }
        if (after) changed.set(id, after);
      }
      await batchPut(this.db, this.tableName, [...changed.values()], this.batchOptions);
      return carriedRefunds;
    });
    // After the links: a refund of a payment intent an invoice claimed goes to that invoice.
    for (const carried of carriedRefunds) {
      await this.writeRefund(tenantId, carried.invoiceId, carried.amount, carried.created, true);
    }
    for (const change of changes) {
      if (change.kind === 'refund') await this.refund(tenantId, change, version, true);
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
    // One more than asked: the last page then says `nextCursor: null` instead of leading to an empty one.
    const result = await this.db.send(
      new QueryCommand({
        TableName: this.tableName,
        IndexName: tableKeySchema.gsi1.name,
        KeyConditionExpression: 'gsi1pk = :partition',
        ExpressionAttributeValues: { ':partition': partition },
        ScanIndexForward: false,
        Limit: limit + 1,
        ExclusiveStartKey: startKey,
      }),
    );
    const items = result.Items ?? [];
    const page = items.slice(0, limit);
    const last = page.at(-1);
    // A 1 MB page can also stop short of `limit`: then DynamoDB says there is more.
    const more = items.length > limit || result.LastEvaluatedKey !== undefined;
    const nextCursor =
      more && last
        ? encodeCursor(collection, { pk: last.pk, sk: last.sk, gsi1pk: last.gsi1pk, gsi1sk: last.gsi1sk })
        : null;
    return { data: page.map((item) => pick(collection, item)), nextCursor };
  }

  async countRun(tenantId: string, runId: string): Promise<RunCounts> {
    const [customersUpserted, subscriptionsCreated, ordersCreated] = await Promise.all([
      this.count(tenantId, 'customers', 'backfillRun', runId),
      this.count(tenantId, 'subscriptions', 'createdBy', runId),
      this.count(tenantId, 'orders', 'createdBy', runId),
    ]);
    return { customersUpserted, subscriptionsCreated, ordersCreated };
  }

  private async count(tenantId: string, collection: RecordCollection, attribute: string, value: string) {
    let total = 0;
    let startKey: Record<string, unknown> | undefined;
    do {
      const page = await this.db.send(
        new QueryCommand({
          TableName: this.tableName,
          KeyConditionExpression: 'pk = :pk',
          FilterExpression: '#attribute = :value',
          ExpressionAttributeNames: { '#attribute': attribute },
          ExpressionAttributeValues: { ':pk': recordKey(tenantId, collection, '').pk, ':value': value },
          Select: 'COUNT',
          ExclusiveStartKey: startKey,
        }),
      );
      total += page.Count ?? 0;
      startKey = page.LastEvaluatedKey;
    } while (startKey);
    return total;
  }

  private async upsert(
    tenantId: string,
    collection: RecordCollection,
    record: { readonly id: string; readonly created: string | null },
    version: RecordVersion,
    origin: RecordOrigin,
    unlessSuperseded = false,
  ): Promise<ApplyOutcome> {
    const names: Record<string, string> = {};
    const values: Record<string, unknown> = {
      ':created': versionOrder(version),
      ':eventId': version.eventId,
      ':gsi1pk': listPartition(tenantId, collection),
      ':gsi1sk': listSortKey(record.created, record.id),
      ':origin': origin.kind === 'webhook' ? 'webhook' : origin.runId,
    };
    const sets = Object.entries(record).map(([field, value], index) => {
      names[`#f${index}`] = field;
      values[`:f${index}`] = value;
      return `#f${index} = :f${index}`;
    });
    // The first writer is kept (counts what a backfill created); a backfill also stamps its run.
    const stamps = `createdBy = if_not_exists(createdBy, :origin)${origin.kind === 'backfill' ? ', backfillRun = :origin' : ''}`;
    try {
      await this.db.send(
        new UpdateCommand({
          TableName: this.tableName,
          Key: recordKey(tenantId, collection, record.id),
          UpdateExpression: `SET ${sets.join(', ')}, eventCreated = :created, eventId = :eventId, gsi1pk = :gsi1pk, gsi1sk = :gsi1sk, ${stamps}`,
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
   * arrives first. A refund that reached the payment intent before the link is carried over to
   * the invoice, and the tombstone tells later refunds where to go.
   */
  private async linkPayment(
    tenantId: string,
    paymentIntentId: string,
    invoiceId: string,
  ): Promise<ApplyOutcome> {
    const { Attributes } = await this.db.send(
      new UpdateCommand({
        TableName: this.tableName,
        Key: recordKey(tenantId, 'orders', paymentIntentId),
        // Not an order any more: nor counted as one a backfill created.
        UpdateExpression: 'SET supersededBy = :invoiceId REMOVE gsi1pk, gsi1sk, createdBy, backfillRun',
        ExpressionAttributeValues: { ':invoiceId': invoiceId },
        ReturnValues: 'ALL_NEW',
      }),
    );
    if (typeof Attributes?.refundCreated === 'number' && typeof Attributes.amountRefunded === 'number') {
      await this.writeRefund(tenantId, invoiceId, Attributes.amountRefunded, Attributes.refundCreated);
    }
    return 'applied';
  }

  /**
   * A refund lands on the order its charge paid: the invoice when the payload names it, the
   * payment intent when the payload says no invoice owns it, else whatever the payment intent's
   * link says. A link may land between that lookup and the write, so the write to a payment
   * intent refuses a tombstone, and the refund then follows the link.
   */
  private async refund(
    tenantId: string,
    change: Refund,
    version: RecordVersion,
    besideBatches = false,
  ): Promise<ApplyOutcome> {
    const created = versionOrder(version);
    const amount = change.amountRefunded;
    const known = change.invoiceId ?? (change.invoiceKnown ? change.paymentIntentId : null);
    if (known) return orStale(await this.writeRefund(tenantId, known, amount, created, besideBatches));
    const intentId = change.paymentIntentId;
    if (!intentId) return 'stale';
    const linkedInvoice = async () => {
      const { Item } = await this.db.send(
        new GetCommand({
          TableName: this.tableName,
          Key: recordKey(tenantId, 'orders', intentId),
          ConsistentRead: true,
          ProjectionExpression: 'supersededBy',
        }),
      );
      return typeof Item?.supersededBy === 'string' ? Item.supersededBy : undefined;
    };
    const invoiceId = await linkedInvoice();
    if (invoiceId)
      return orStale(await this.writeRefund(tenantId, invoiceId, amount, created, besideBatches));
    const outcome = await this.writeRefund(tenantId, intentId, amount, created, besideBatches, true);
    if (outcome !== 'refused') return outcome;
    // Refused: an older refund, or a link that landed meanwhile (links never go away).
    const linkedSince = await linkedInvoice();
    return linkedSince
      ? orStale(await this.writeRefund(tenantId, linkedSince, amount, created, besideBatches))
      : 'stale';
  }

  /** Creates a listing-less stub when the order has not arrived yet; the order event fills it. */
  private async writeRefund(
    tenantId: string,
    orderId: string,
    amount: number,
    created: number,
    besideBatches = false,
    unlessLinked = false,
  ): Promise<ApplyOutcome | 'refused'> {
    const key = recordKey(tenantId, 'orders', orderId);
    const write = () =>
      this.db.send(
        new UpdateCommand({
          TableName: this.tableName,
          Key: key,
          UpdateExpression: 'SET amountRefunded = :amount, refundCreated = :created',
          ConditionExpression: unlessLinked
            ? `(${REFUND_NEWER_OR_SAME}) AND attribute_not_exists(supersededBy)`
            : REFUND_NEWER_OR_SAME,
          ExpressionAttributeValues: { ':amount': amount, ':created': created },
        }),
      );
    try {
      // Beside a backfill's batches, a batch holding the order must not overwrite this refund.
      await (besideBatches ? this.snapshotLocks.withKeys([keyString(key)], write) : write());
      return 'applied';
    } catch (error) {
      if (isConditionFailure(error)) return unlessLinked ? 'refused' : 'stale';
      throw error;
    }
  }
}

/** Only a write to a payment intent (`unlessLinked`) can be refused; for the others it never happens. */
const orStale = (outcome: ApplyOutcome | 'refused'): ApplyOutcome =>
  outcome === 'refused' ? 'stale' : outcome;

type Item = Record<string, unknown>;
type RecordKey = ReturnType<typeof recordKey>;

function snapshotKey(tenantId: string, change: Exclude<StoreChange, { kind: 'refund' }>): RecordKey {
  switch (change.kind) {
    case 'customer':
      return recordKey(tenantId, 'customers', change.record.id);
    case 'subscription':
      return recordKey(tenantId, 'subscriptions', change.record.id);
    case 'order':
    case 'one_time_candidate':
      return recordKey(tenantId, 'orders', change.record.id);
    case 'payment_link':
      return recordKey(tenantId, 'orders', change.paymentIntentId);
  }
}

/** `upsert`'s UpdateExpression in memory: undefined when its condition would refuse the write. */
function upserted(
  before: Item | undefined,
  key: RecordKey,
  tenantId: string,
  collection: RecordCollection,
  record: { readonly id: string; readonly created: string | null },
  version: RecordVersion,
  runId: string,
  unlessSuperseded: boolean,
): Item | undefined {
  const created = versionOrder(version);
  const stored =
    before && typeof before.eventCreated === 'number'
      ? { order: before.eventCreated, eventId: String(before.eventId) }
      : undefined;
  if (!mayOverwrite(stored, version)) return undefined;
  if (unlessSuperseded && before?.supersededBy !== undefined) return undefined;
  return {
    ...before,
    ...record,
    ...key,
    eventCreated: created,
    eventId: version.eventId,
    gsi1pk: listPartition(tenantId, collection),
    gsi1sk: listSortKey(record.created, record.id),
    createdBy: before?.createdBy ?? runId,
    backfillRun: runId,
  };
}

/** `linkPayment`'s UpdateExpression in memory: a tombstone outside the listing. */
function linked(before: Item | undefined, key: RecordKey, invoiceId: string): Item {
  const { gsi1pk: _pk, gsi1sk: _sk, createdBy: _by, backfillRun: _run, ...kept } = before ?? {};
  return { ...kept, ...key, supersededBy: invoiceId };
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
  // The longest cursor this store issues is ~1,206 characters: 1,280 keeps every key in it far
  // below DynamoDB's 1 KB sort-key limit, so a forged one is a 400, never a DynamoDB error.
  if (cursor.length > 1280 || !/^[A-Za-z0-9_-]+$/.test(cursor)) throw invalid();
  let parsed: unknown;
  try {
    parsed = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8'));
  } catch {
    throw invalid();
  }
  const { v, c, k } = (parsed ?? {}) as { v?: unknown; c?: unknown; k?: Record<string, unknown> };
  if (v !== 1 || c !== collection || !k || typeof k !== 'object') throw invalid();
  const keys = Object.keys(k).sort().join(',');
  if (
    keys !== 'gsi1pk,gsi1sk,pk,sk' ||
    Object.values(k).some((value) => typeof value !== 'string' || !value)
  ) {
    throw invalid();
  }
  const { pk, sk, gsi1pk, gsi1sk } = k as Record<string, string>;
  if (gsi1pk !== listPartition(tenantId, collection) || pk !== recordKey(tenantId, collection, '').pk)
    throw invalid();
  if (!isStripeObjectId(sk) || !gsi1sk?.endsWith(`#${sk}`)) throw invalid();
  return k as Record<string, string>;
}
