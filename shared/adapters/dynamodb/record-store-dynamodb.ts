import {
  type DynamoDBDocumentClient,
  GetCommand,
  QueryCommand,
  UpdateCommand,
  type UpdateCommandInput,
} from '@aws-sdk/lib-dynamodb';
import {
  type CreditEntry,
  creditEntry,
  type DisputeEntry,
  disputeEntry,
  disputeTarget,
  type PaymentTarget,
  refundTarget,
  summariseAdjustments,
} from '../../domain/order-adjustments.ts';
import { mayOverwrite, versionOrder } from '../../domain/record-ordering.ts';
import type { RecordChange, StoreChange, SubscriptionRecord } from '../../domain/records.ts';
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
import { historyItem } from './subscription-history-dynamodb.ts';
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

/**
 * `mayOverwrite` for an order's entry of one credit note or dispute (`#entry`, a map holding the
 * `order` and `eventId` of the version that wrote it).
 */
export const ENTRY_NEWER_OR_SAME =
  'attribute_not_exists(#entry) OR #entry.#order < :order OR (#entry.#order = :order AND #entry.#eventId <= :eventId)';

/** Each credit note and dispute is an attribute of its order, named by its prefix and id. */
const CREDIT_PREFIX = 'credit#';
const DISPUTE_PREFIX = 'dispute#';

/** An entry as stored: what it says, and the version that wrote it. */
type StoredEntry = (CreditEntry | DisputeEntry) & { readonly order: number; readonly eventId: string };

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
    'startDate',
    'created',
  ],
  orders: [
    'id',
    'kind',
    'status',
    'amount',
    'amountPaid',
    'currency',
    'customerId',
    'subscriptionId',
    'created',
    'paidAt',
  ],
};

/** Changes that adjust an order (its own guarded writes, never part of a batch's items). */
type Adjustment = Extract<RecordChange, { kind: 'refund' | 'credit_note' | 'dispute' }>;
type ItemChange = Exclude<StoreChange, Adjustment>;

const isAdjustment = (change: StoreChange): change is Adjustment =>
  change.kind === 'refund' || change.kind === 'credit_note' || change.kind === 'dispute';

/** What a payment link moves from a payment intent's item to its invoice. */
type Carried =
  | { readonly kind: 'refund'; readonly amount: number; readonly created: number }
  | { readonly kind: 'entry'; readonly attribute: string; readonly entry: StoredEntry };

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
        // Every event joins the history, a stale one too (the metrics read all of them).
        await this.recordHistory(tenantId, change.record, version, origin);
        return this.upsert(tenantId, 'subscriptions', change.record, version, origin);
      case 'order':
        return this.upsert(tenantId, 'orders', change.record, version, origin);
      case 'one_time_candidate':
        // Refused once an invoice has claimed this payment intent (see `payment_link`).
        return this.upsert(tenantId, 'orders', change.record, version, origin, true);
      case 'payment_link':
        return this.linkPayment(tenantId, change.paymentIntentId, change.invoiceId);
      case 'refund':
      case 'credit_note':
      case 'dispute':
        return this.adjust(tenantId, change, version, false);
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
    const itemChanges = changes.filter((change): change is ItemChange => !isAdjustment(change));
    const keys = itemChanges.map((change) => snapshotKey(tenantId, change));
    // Two batches of one run sharing a key must not interleave their reads and writes.
    const carriedOver = await this.snapshotLocks.withKeys(keys.map(keyString), async () => {
      const current = new Map<string, Item>();
      for (const item of await batchGet(this.db, this.tableName, keys, this.batchOptions)) {
        current.set(keyString(item as RecordKey), item);
      }
      const changed = new Map<string, Item>();
      const carriedOver: { invoiceId: string; carried: Carried }[] = [];
      for (const change of itemChanges) {
        const key = snapshotKey(tenantId, change);
        const id = keyString(key);
        const before = changed.get(id) ?? current.get(id);
        let after: Item | undefined;
        if (change.kind === 'payment_link') {
          after = linked(before, key, change.invoiceId);
          for (const carried of carriedBy(before)) carriedOver.push({ invoiceId: change.invoiceId, carried });
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
      // One entry per subscription and snapshot: a batch naming one twice keeps the last.
      const history = new Map<string, Item>();
      for (const change of itemChanges) {
        if (change.kind !== 'subscription') continue;
        const item = historyItem(tenantId, change.record, version, 'backfill');
        history.set(String(item.sk), item);
      }
      await batchPut(this.db, this.tableName, [...changed.values(), ...history.values()], this.batchOptions);
      return carriedOver;
    });
    // After the links: what reached a payment intent an invoice claimed goes to that invoice.
    for (const { invoiceId, carried } of carriedOver) {
      await this.carry(tenantId, invoiceId, carried, true);
    }
    for (const change of changes) {
      if (isAdjustment(change)) await this.adjust(tenantId, change, version, true);
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

  /** One entry of a subscription's history; its key names the event, so a replay rewrites it. */
  private async recordHistory(
    tenantId: string,
    record: SubscriptionRecord,
    version: RecordVersion,
    origin: RecordOrigin,
  ): Promise<void> {
    const { pk, sk, ...attributes } = historyItem(
      tenantId,
      record,
      version,
      origin.kind === 'webhook' ? 'event' : 'backfill',
    );
    const names: Record<string, string> = {};
    const values: Record<string, unknown> = {};
    const sets = Object.entries(attributes).map(([field, value], index) => {
      names[`#h${index}`] = field;
      values[`:h${index}`] = value;
      return `#h${index} = :h${index}`;
    });
    await this.db.send(
      new UpdateCommand({
        TableName: this.tableName,
        Key: { pk, sk },
        UpdateExpression: `SET ${sets.join(', ')}`,
        ExpressionAttributeNames: names,
        ExpressionAttributeValues: values,
      }),
    );
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
   * arrives first. A refund or dispute that reached the payment intent before the link is
   * carried over to the invoice, and the tombstone tells later ones where to go.
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
    for (const carried of carriedBy(Attributes)) await this.carry(tenantId, invoiceId, carried, false);
    return 'applied';
  }

  private async carry(tenantId: string, invoiceId: string, carried: Carried, besideBatches: boolean) {
    await (carried.kind === 'refund'
      ? this.writeRefund(tenantId, invoiceId, carried.amount, carried.created, besideBatches)
      : this.writeEntry(tenantId, invoiceId, carried.attribute, carried.entry, besideBatches));
  }

  /** A refund, credit note or dispute, on the order it adjusts (order-adjustments.ts). */
  private adjust(
    tenantId: string,
    change: Adjustment,
    version: RecordVersion,
    besideBatches: boolean,
  ): Promise<ApplyOutcome> {
    const order = versionOrder(version);
    switch (change.kind) {
      case 'refund':
        return this.onTarget(tenantId, refundTarget(change), (orderId, unlessLinked) =>
          this.writeRefund(tenantId, orderId, change.amountRefunded, order, besideBatches, unlessLinked),
        );
      case 'credit_note': {
        const entry = { ...creditEntry(change), order, eventId: version.eventId };
        const attribute = `${CREDIT_PREFIX}${change.creditNoteId}`;
        return this.onTarget(tenantId, { kind: 'order', orderId: change.invoiceId }, (orderId) =>
          this.writeEntry(tenantId, orderId, attribute, entry, besideBatches),
        );
      }
      case 'dispute': {
        const entry = { ...disputeEntry(change), order, eventId: version.eventId };
        const attribute = `${DISPUTE_PREFIX}${change.disputeId}`;
        return this.onTarget(tenantId, disputeTarget(change), (orderId, unlessLinked) =>
          this.writeEntry(tenantId, orderId, attribute, entry, besideBatches, unlessLinked),
        );
      }
    }
  }

  /**
   * Writes on the order a target names. A payment intent's goes wherever its link says, else to
   * the payment intent itself; a link may land between that lookup and the write, so that write
   * refuses a tombstone, and then follows the link.
   */
  private async onTarget(
    tenantId: string,
    target: PaymentTarget | null,
    write: (orderId: string, unlessLinked: boolean) => Promise<ApplyOutcome | 'refused'>,
  ): Promise<ApplyOutcome> {
    if (!target) return 'stale';
    if (target.kind === 'order') return orStale(await write(target.orderId, false));
    const intentId = target.paymentIntentId;
    const invoiceId = await this.linkedInvoice(tenantId, intentId);
    if (invoiceId) return orStale(await write(invoiceId, false));
    const outcome = await write(intentId, true);
    if (outcome !== 'refused') return outcome;
    // Refused: an older write, or a link that landed meanwhile (links never go away).
    const linkedSince = await this.linkedInvoice(tenantId, intentId);
    return linkedSince ? orStale(await write(linkedSince, false)) : 'stale';
  }

  private async linkedInvoice(tenantId: string, paymentIntentId: string): Promise<string | undefined> {
    const { Item } = await this.db.send(
      new GetCommand({
        TableName: this.tableName,
        Key: recordKey(tenantId, 'orders', paymentIntentId),
        ConsistentRead: true,
        ProjectionExpression: 'supersededBy',
      }),
    );
    return typeof Item?.supersededBy === 'string' ? Item.supersededBy : undefined;
  }

  /** One credit note's or dispute's entry under its own guard; a stub when the order is not there yet. */
  private writeEntry(
    tenantId: string,
    orderId: string,
    attribute: string,
    entry: StoredEntry,
    besideBatches: boolean,
    unlessLinked = false,
  ): Promise<ApplyOutcome | 'refused'> {
    return this.adjustOrder(tenantId, orderId, besideBatches, unlessLinked, {
      UpdateExpression: 'SET #entry = :entry',
      ConditionExpression: ENTRY_NEWER_OR_SAME,
      ExpressionAttributeNames: { '#entry': attribute, '#order': 'order', '#eventId': 'eventId' },
      ExpressionAttributeValues: { ':entry': entry, ':order': entry.order, ':eventId': entry.eventId },
    });
  }

  /** Creates a listing-less stub when the order has not arrived yet; the order event fills it. */
  private writeRefund(
    tenantId: string,
    orderId: string,
    amount: number,
    created: number,
    besideBatches = false,
    unlessLinked = false,
  ): Promise<ApplyOutcome | 'refused'> {
    return this.adjustOrder(tenantId, orderId, besideBatches, unlessLinked, {
      UpdateExpression: 'SET amountRefunded = :amount, refundCreated = :created',
      ConditionExpression: REFUND_NEWER_OR_SAME,
      ExpressionAttributeValues: { ':amount': amount, ':created': created },
    });
  }

  /**
   * One guarded write of an order's adjustment. `unlessLinked` (a write to a payment intent)
   * also refuses a tombstone, answering `refused` so the caller follows the link. Beside a
   * backfill's batches, a batch holding the order must not overwrite the write.
   */
  private async adjustOrder(
    tenantId: string,
    orderId: string,
    besideBatches: boolean,
    unlessLinked: boolean,
    update: { readonly ConditionExpression: string } & Pick<
      UpdateCommandInput,
      'UpdateExpression' | 'ExpressionAttributeNames' | 'ExpressionAttributeValues'
    >,
  ): Promise<ApplyOutcome | 'refused'> {
    const key = recordKey(tenantId, 'orders', orderId);
    const write = () =>
      this.db.send(
        new UpdateCommand({
          TableName: this.tableName,
          Key: key,
          ...update,
          ConditionExpression: unlessLinked
            ? `(${update.ConditionExpression}) AND attribute_not_exists(supersededBy)`
            : update.ConditionExpression,
        }),
      );
    try {
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

function snapshotKey(tenantId: string, change: ItemChange): RecordKey {
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
  if (collection === 'orders') Object.assign(out, adjustmentsOf(item));
  return out as unknown as RecordTypes[C];
}

/** The refund, credit note and dispute entries an order item holds, summed up. */
function adjustmentsOf(item: Item) {
  const credits = new Map<string, CreditEntry>();
  const disputes = new Map<string, DisputeEntry>();
  for (const [attribute, value] of Object.entries(item)) {
    if (attribute.startsWith(CREDIT_PREFIX))
      credits.set(attribute.slice(CREDIT_PREFIX.length), value as CreditEntry);
    if (attribute.startsWith(DISPUTE_PREFIX))
      disputes.set(attribute.slice(DISPUTE_PREFIX.length), value as DisputeEntry);
  }
  const refunded = typeof item.amountRefunded === 'number' ? item.amountRefunded : 0;
  return summariseAdjustments(refunded, credits, disputes);
}

/** What a payment intent's item holds that its invoice takes over when a link claims it. */
function carriedBy(item: Item | undefined): Carried[] {
  if (!item) return [];
  const carried: Carried[] = [];
  if (typeof item.refundCreated === 'number' && typeof item.amountRefunded === 'number') {
    carried.push({ kind: 'refund', amount: item.amountRefunded, created: item.refundCreated });
  }
  for (const [attribute, value] of Object.entries(item)) {
    if (attribute.startsWith(DISPUTE_PREFIX))
      carried.push({ kind: 'entry', attribute, entry: value as StoredEntry });
  }
  return carried;
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
