import { type DynamoDBDocumentClient, GetCommand, QueryCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { firstSweepCursor } from '../../domain/sweep-cursor.ts';
import type {
  ConnectedAccount,
  ConnectionData,
  DataState,
  DueErasure,
  ErasureProgress,
  Page,
  SweepState,
  TenantData,
  TenantDataStore,
} from '../../ports/tenant-data-store.ts';
import { isConditionFailure } from './condition-failure.ts';
import { tableKeySchema } from './table-definition.ts';

export const TENANT_DATA_SK = 'DATA#stripe';
const key = (tenantId: string) => ({ pk: `TENANT#${tenantId}`, sk: TENANT_DATA_SK });
/**
 * Each tenant's data item sits in one of two `gsi1` partitions: `SWEEP` while active (the
 * sweep's work list) and `ERASE_DUE` while kept or erasing (sorted by when it is due). An item is
 * rewritten once per sweep, so 10,000 tenants swept every 15 minutes write ~11 index items a
 * second: far below a partition's 1,000.
 */
const SWEEP_PARTITION = 'SWEEP';
const DUE_PARTITION = 'ERASE_DUE';

type UpdateInput = Omit<ConstructorParameters<typeof UpdateCommand>[0], 'TableName' | 'Key'>;

/** `TENANT#{id}` / `DATA#stripe`: one item per tenant, every change a conditional update. */
export class DynamoDbTenantDataStore implements TenantDataStore {
  constructor(
    private readonly db: DynamoDBDocumentClient,
    private readonly tableName: string,
  ) {}

  async get(tenantId: string): Promise<TenantData | undefined> {
    const { Item } = await this.db.send(
      new GetCommand({ TableName: this.tableName, Key: key(tenantId), ConsistentRead: true }),
    );
    return Item ? toTenantData(Item) : undefined;
  }

  async beginConnection(tenantId: string, stripeAccountId: string, now: Date): Promise<ConnectionData> {
    // Nothing held, the same account's, or already erased: this account's data from now on. The
    // sweep starts at the connection; the backfill a connect queues covers what came before.
    const ready = await this.update(tenantId, {
      UpdateExpression:
        'SET stripeAccountId = :account, #state = :active, updatedAt = :now, sweep = :sweep, gsi1pk = :sweepPartition, gsi1sk = :tenant REMOVE eraseAfter, nextStripeAccountId, erasure, erasedAt',
      // An erasure under way (even of this account's data, asked for with erase=now) finishes first.
      ConditionExpression:
        'attribute_not_exists(pk) OR #state = :erased OR (stripeAccountId = :account AND #state <> :erasing)',
      ExpressionAttributeNames: { '#state': 'state' },
      ExpressionAttributeValues: {
        ':account': stripeAccountId,
        ':active': 'active',
        ':erased': 'erased',
        ':erasing': 'erasing',
        ':now': now.toISOString(),
        ':sweep': freshSweep(now),
        ':sweepPartition': SWEEP_PARTITION,
        ':tenant': tenantId,
      },
    });
    if (ready) return { outcome: 'ready' };
    // Another account's data is held: erase it before this account writes anything.
    const current = await this.get(tenantId);
    if (!current) return this.beginConnection(tenantId, stripeAccountId, now);
    const erasing = await this.update(tenantId, {
      UpdateExpression:
        'SET #state = :erasing, nextStripeAccountId = :next, updatedAt = :now, gsi1pk = :due, gsi1sk = :dueKey, erasure = if_not_exists(erasure, :fresh) REMOVE eraseAfter, sweep',
      ConditionExpression: 'stripeAccountId = :previous AND #state <> :erased',
      ExpressionAttributeNames: { '#state': 'state' },
      ExpressionAttributeValues: {
        ':previous': current.stripeAccountId,
        ':erasing': 'erasing',
        ':erased': 'erased',
        ':next': stripeAccountId,
        ':now': now.toISOString(),
        ':due': DUE_PARTITION,
        ':dueKey': `${now.toISOString()}#${tenantId}`,
        ':fresh': freshErasure(now),
      },
    });
    if (!erasing) return this.beginConnection(tenantId, stripeAccountId, now);
    return { outcome: 'erase_first', previousStripeAccountId: current.stripeAccountId };
  }

  async keep(tenantId: string, stripeAccountId: string, eraseAfter: Date): Promise<void> {
    const due = eraseAfter.toISOString();
    // Disconnected while the previous account's data was still being erased for this one: the
    // erasure carries on, and nothing waits for it any more.
    await this.update(tenantId, {
      UpdateExpression: 'REMOVE nextStripeAccountId',
      ConditionExpression: '#state = :erasing AND nextStripeAccountId = :account',
      ExpressionAttributeNames: { '#state': 'state' },
      ExpressionAttributeValues: { ':erasing': 'erasing', ':account': stripeAccountId },
    });
    await this.update(tenantId, {
      UpdateExpression:
        'SET stripeAccountId = :account, #state = :kept, eraseAfter = :due, gsi1pk = :duePartition, gsi1sk = :dueKey REMOVE nextStripeAccountId, sweep',
      // Only an active connection's data is kept (or one connected before data states existed):
      // an erasure already under way carries on.
      ConditionExpression: 'attribute_not_exists(pk) OR (stripeAccountId = :account AND #state = :active)',
      ExpressionAttributeNames: { '#state': 'state' },
      ExpressionAttributeValues: {
        ':account': stripeAccountId,
        ':kept': 'kept',
        ':active': 'active',
        ':due': due,
        ':duePartition': DUE_PARTITION,
        ':dueKey': `${due}#${tenantId}`,
      },
    });
  }

  async startErasure(tenantId: string, stripeAccountId: string, now: Date): Promise<boolean> {
    return this.update(tenantId, {
      UpdateExpression:
        'SET #state = :erasing, erasure = if_not_exists(erasure, :fresh), updatedAt = :now, gsi1pk = :due, gsi1sk = :dueKey REMOVE eraseAfter',
      ConditionExpression: 'stripeAccountId = :account AND #state IN (:kept, :erasing)',
      ExpressionAttributeNames: { '#state': 'state' },
      ExpressionAttributeValues: {
        ':account': stripeAccountId,
        ':erasing': 'erasing',
        ':kept': 'kept',
        ':fresh': freshErasure(now),
        ':now': now.toISOString(),
        ':due': DUE_PARTITION,
        ':dueKey': `${now.toISOString()}#${tenantId}`,
      },
    });
  }

  async checkpointErasure(
    tenantId: string,
    stripeAccountId: string,
    progress: ErasureProgress,
    now: Date,
  ): Promise<boolean> {
    return this.update(tenantId, {
      // The index key moves with each checkpoint, so only an erasure that stopped is found stalled.
      UpdateExpression: 'SET erasure = :progress, updatedAt = :now, gsi1sk = :dueKey',
      ConditionExpression: 'stripeAccountId = :account AND #state = :erasing',
      ExpressionAttributeNames: { '#state': 'state' },
      ExpressionAttributeValues: {
        ':account': stripeAccountId,
        ':erasing': 'erasing',
        ':progress': progress,
        ':now': now.toISOString(),
        ':dueKey': `${now.toISOString()}#${tenantId}`,
      },
    });
  }

  async finishErasure(
    tenantId: string,
    stripeAccountId: string,
    now: Date,
  ): Promise<{ readonly nextStripeAccountId: string | null } | undefined> {
    for (let attempt = 0; attempt < 3; attempt++) {
      const current = await this.get(tenantId);
      if (current?.stripeAccountId !== stripeAccountId || current.state !== 'erasing') return undefined;
      const next = current.nextStripeAccountId;
      const done = next
        ? await this.update(tenantId, {
            UpdateExpression:
              'SET stripeAccountId = :next, #state = :active, updatedAt = :now, sweep = :sweep, gsi1pk = :sweepPartition, gsi1sk = :tenant REMOVE nextStripeAccountId, erasure, eraseAfter, erasedAt',
            ConditionExpression:
              'stripeAccountId = :account AND #state = :erasing AND nextStripeAccountId = :next',
            ExpressionAttributeNames: { '#state': 'state' },
            ExpressionAttributeValues: {
              ':account': stripeAccountId,
              ':erasing': 'erasing',
              ':active': 'active',
              ':next': next,
              ':now': now.toISOString(),
              ':sweep': freshSweep(now),
              ':sweepPartition': SWEEP_PARTITION,
              ':tenant': tenantId,
            },
          })
        : await this.update(tenantId, {
            UpdateExpression:
              'SET #state = :erased, erasedAt = :now, updatedAt = :now REMOVE erasure, eraseAfter, gsi1pk, gsi1sk',
            ConditionExpression:
              'stripeAccountId = :account AND #state = :erasing AND attribute_not_exists(nextStripeAccountId)',
            ExpressionAttributeNames: { '#state': 'state' },
            ExpressionAttributeValues: {
              ':account': stripeAccountId,
              ':erasing': 'erasing',
              ':erased': 'erased',
              ':now': now.toISOString(),
            },
          });
      // A connect that arrived meanwhile changed what comes next: read again.
      if (done) return { nextStripeAccountId: next };
    }
    throw new Error('The erasure could not be finished: its state kept changing');
  }

  async dueForErasure(
    now: Date,
    stalledBefore: Date,
    limit: number,
    cursor: string | undefined,
  ): Promise<Page<DueErasure>> {
    const { items, nextCursor } = await this.queryIndex(
      {
        KeyConditionExpression: 'gsi1pk = :partition AND gsi1sk <= :now',
        ExpressionAttributeValues: { ':partition': DUE_PARTITION, ':now': `${now.toISOString()}#~` },
      },
      limit,
      cursor,
    );
    const due: DueErasure[] = [];
    for (const item of items) {
      const data = toTenantData(item);
      const tenantId = tenantOf(item);
      if (data.state === 'kept' && data.eraseAfter && data.eraseAfter <= now.toISOString()) {
        due.push({ tenantId, stripeAccountId: data.stripeAccountId, state: 'kept' });
      } else if (data.state === 'erasing' && String(item.gsi1sk) < stalledBefore.toISOString()) {
        due.push({ tenantId, stripeAccountId: data.stripeAccountId, state: 'erasing' });
      }
    }
    return { items: due, nextCursor };
  }

  async activeAccounts(limit: number, cursor: string | undefined): Promise<Page<ConnectedAccount>> {
    const { items, nextCursor } = await this.queryIndex(
      {
        KeyConditionExpression: 'gsi1pk = :partition',
        ExpressionAttributeValues: { ':partition': SWEEP_PARTITION },
      },
      limit,
      cursor,
    );
    return {
      items: items
        .map(toTenantData)
        .map((data, index) => ({ data, tenantId: tenantOf(items[index] as Record<string, unknown>) }))
        .filter(({ data }) => data.state === 'active')
        .map(({ data, tenantId }) => ({ tenantId, stripeAccountId: data.stripeAccountId })),
      nextCursor,
    };
  }

  async saveSweep(tenantId: string, stripeAccountId: string, sweep: SweepState): Promise<boolean> {
    return this.update(tenantId, {
      UpdateExpression: 'SET sweep = :sweep',
      ConditionExpression: 'stripeAccountId = :account AND #state = :active',
      ExpressionAttributeNames: { '#state': 'state' },
      ExpressionAttributeValues: { ':account': stripeAccountId, ':active': 'active', ':sweep': sweep },
    });
  }

  private async queryIndex(
    query: { KeyConditionExpression: string; ExpressionAttributeValues: Record<string, string> },
    limit: number,
    cursor: string | undefined,
  ): Promise<{ items: Record<string, unknown>[]; nextCursor: string | undefined }> {
    const { Items = [], LastEvaluatedKey } = await this.db.send(
      new QueryCommand({
        TableName: this.tableName,
        IndexName: tableKeySchema.gsi1.name,
        ...query,
        Limit: limit,
        ...(cursor
          ? { ExclusiveStartKey: JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8')) }
          : {}),
      }),
    );
    return {
      items: Items,
      nextCursor: LastEvaluatedKey
        ? Buffer.from(JSON.stringify(LastEvaluatedKey), 'utf8').toString('base64url')
        : undefined,
    };
  }

  private async update(tenantId: string, command: UpdateInput): Promise<boolean> {
    try {
      await this.db.send(new UpdateCommand({ TableName: this.tableName, Key: key(tenantId), ...command }));
      return true;
    } catch (error) {
      if (isConditionFailure(error)) return false;
      throw error;
    }
  }
}

function freshSweep(now: Date): SweepState {
  return {
    createdAfter: firstSweepCursor(now),
    pending: null,
    lastRunAt: null,
    eventsApplied: null,
  };
}

function freshErasure(now: Date): ErasureProgress {
  return { partition: 0, itemsDeleted: 0, startedAt: now.toISOString() };
}

function tenantOf(item: Record<string, unknown>): string {
  return String(item.pk).slice('TENANT#'.length);
}

const DATA_STATES: readonly DataState[] = ['active', 'kept', 'erasing', 'erased'];

export function toTenantData(item: Record<string, unknown>): TenantData {
  const erasure = item.erasure as Record<string, unknown> | undefined;
  const sweep = item.sweep as Record<string, unknown> | undefined;
  const pending = sweep?.pending as Record<string, unknown> | null | undefined;
  return {
    stripeAccountId: String(item.stripeAccountId),
    state: DATA_STATES.includes(item.state as DataState) ? (item.state as DataState) : 'active',
    eraseAfter: typeof item.eraseAfter === 'string' ? item.eraseAfter : null,
    nextStripeAccountId: typeof item.nextStripeAccountId === 'string' ? item.nextStripeAccountId : null,
    erasure: erasure
      ? {
          partition: Number(erasure.partition ?? 0),
          itemsDeleted: Number(erasure.itemsDeleted ?? 0),
          startedAt: String(erasure.startedAt),
        }
      : null,
    erasedAt: typeof item.erasedAt === 'string' ? item.erasedAt : null,
    sweep: sweep
      ? {
          createdAfter: Number(sweep.createdAfter ?? 0),
          pending: pending
            ? { upTo: Number(pending.upTo), startingAfter: String(pending.startingAfter) }
            : null,
          lastRunAt: typeof sweep.lastRunAt === 'string' ? sweep.lastRunAt : null,
          eventsApplied: typeof sweep.eventsApplied === 'number' ? sweep.eventsApplied : null,
        }
      : null,
  };
}
