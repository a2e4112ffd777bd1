import { DeleteCommand, type DynamoDBDocumentClient, GetCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import type {
  BackfillOutcome,
  BackfillProgress,
  BackfillResult,
  BackfillRunRequest,
  BackfillStatus,
  BackfillStatusStore,
} from '../../ports/backfill-status-store.ts';
import { isConditionFailure } from './condition-failure.ts';

const key = (tenantId: string) => ({ pk: `TENANT#${tenantId}`, sk: 'BACKFILL#stripe' });

/**
 * One item per tenant holds the current (or last) run: its state, checkpoint and lease. Every
 * transition is a conditional write on the run id, so a stale worker can never overwrite the
 * progress of a newer run, and two workers never run one tenant's backfill at once.
 */
export class DynamoDbBackfillStatusStore implements BackfillStatusStore {
  constructor(
    private readonly db: DynamoDBDocumentClient,
    private readonly tableName: string,
  ) {}

  async get(tenantId: string): Promise<BackfillStatus | undefined> {
    const { Item } = await this.db.send(
      new GetCommand({ TableName: this.tableName, Key: key(tenantId), ConsistentRead: true }),
    );
    return Item ? toStatus(Item) : undefined;
  }

  async requestRun(tenantId: string, request: BackfillRunRequest, staleQueuedMs: number): Promise<boolean> {
    const now = request.at.getTime();
    try {
      await this.db.send(
        new UpdateCommand({
          TableName: this.tableName,
          Key: key(tenantId),
          UpdateExpression: `SET #status = :queued, runId = :run, days = :days, windowStart = :window, queuedAt = :at, queuedAtMs = :now, tenantId = :tenant${request.replayFrom ? ', replayFrom = :replayFrom' : ''} REMOVE startedAt, finishedAt, #error, #result, progress, progressAtMs, leaseUntil, replayPending${request.replayFrom ? '' : ', replayFrom'}`,
          ConditionExpression:
            'attribute_not_exists(pk) OR #status IN (:succeeded, :failed) OR (#status = :queued AND queuedAtMs < :staleBefore) OR (#status = :running AND leaseUntil < :now AND queuedAtMs < :staleBefore AND (attribute_not_exists(progressAtMs) OR progressAtMs < :staleBefore))',
          ExpressionAttributeNames: { '#status': 'status', '#error': 'error', '#result': 'result' },
          ExpressionAttributeValues: {
            ':queued': 'queued',
            ':running': 'running',
            ':succeeded': 'succeeded',
            ':failed': 'failed',
            ':run': request.runId,
            ':days': request.days,
            ':window': Math.floor(now / 1000) - request.days * 86_400,
            ':at': request.at.toISOString(),
            ':now': now,
            ':staleBefore': now - staleQueuedMs,
            ':tenant': tenantId,
            ...(request.replayFrom ? { ':replayFrom': request.replayFrom } : {}),
          },
        }),
      );
      return true;
    } catch (error) {
      if (isConditionFailure(error)) return false;
      throw error;
    }
  }

  async begin(
    tenantId: string,
    runId: string,
    now: Date,
    leaseUntil: number,
  ): Promise<BackfillStatus | undefined> {
    try {
      const { Attributes } = await this.db.send(
        new UpdateCommand({
          TableName: this.tableName,
          Key: key(tenantId),
          UpdateExpression:
            'SET #status = :running, startedAt = if_not_exists(startedAt, :at), leaseUntil = :lease',
          ConditionExpression:
            'runId = :run AND #status IN (:queued, :running) AND (attribute_not_exists(leaseUntil) OR leaseUntil < :now)',
          ExpressionAttributeNames: { '#status': 'status' },
          ExpressionAttributeValues: {
            ':running': 'running',
            ':queued': 'queued',
            ':run': runId,
            ':at': now.toISOString(),
            ':now': now.getTime(),
            ':lease': leaseUntil,
          },
          ReturnValues: 'ALL_NEW',
        }),
      );
      return Attributes ? toStatus(Attributes) : undefined;
    } catch (error) {
      if (isConditionFailure(error)) return undefined;
      throw error;
    }
  }

  async checkpoint(tenantId: string, runId: string, progress: BackfillProgress, at: Date): Promise<boolean> {
    try {
      await this.db.send(
        new UpdateCommand({
          TableName: this.tableName,
          Key: key(tenantId),
          UpdateExpression: 'SET progress = :progress, progressAtMs = :now',
          ConditionExpression: 'runId = :run AND #status = :running',
          ExpressionAttributeNames: { '#status': 'status' },
          ExpressionAttributeValues: {
            ':progress': progress,
            ':run': runId,
            ':running': 'running',
            ':now': at.getTime(),
          },
        }),
      );
      return true;
    } catch (error) {
      if (isConditionFailure(error)) return false;
      throw error;
    }
  }

  async isCurrent(tenantId: string, runId: string): Promise<boolean> {
    const { Item } = await this.db.send(
      new GetCommand({
        TableName: this.tableName,
        Key: key(tenantId),
        ConsistentRead: true,
        ProjectionExpression: 'runId, #status, replayPending',
        ExpressionAttributeNames: { '#status': 'status' },
      }),
    );
    return Item?.runId === runId && (Item.status === 'running' || Item.replayPending === true);
  }

  async release(tenantId: string, runId: string): Promise<void> {
    await this.ignoringConditionFailure(
      new UpdateCommand({
        TableName: this.tableName,
        Key: key(tenantId),
        UpdateExpression: 'SET leaseUntil = :zero',
        ConditionExpression: 'runId = :run',
        ExpressionAttributeValues: { ':zero': 0, ':run': runId },
      }),
    );
  }

  async finish(tenantId: string, runId: string, outcome: BackfillOutcome, at: Date): Promise<boolean> {
    const pending = outcome.status === 'failed' && outcome.replayPending === true;
    return this.ignoringConditionFailure(
      new UpdateCommand({
        TableName: this.tableName,
        Key: key(tenantId),
        UpdateExpression: `SET #status = :status, finishedAt = :at, #result = :result, #error = :error${pending ? ', replayPending = :true' : ''} REMOVE leaseUntil${pending ? '' : ', replayPending'}`,
        // A finished run stays as it ended: a late worker (or a give-up racing the end) changes nothing.
        ConditionExpression: 'runId = :run AND #status IN (:queued, :running)',
        ExpressionAttributeNames: { '#status': 'status', '#result': 'result', '#error': 'error' },
        ExpressionAttributeValues: {
          ':status': outcome.status,
          ':at': at.toISOString(),
          ':result': outcome.status === 'succeeded' ? outcome.result : null,
          ':error': outcome.status === 'failed' ? outcome.error : null,
          ':run': runId,
          ':queued': 'queued',
          ':running': 'running',
          ...(pending ? { ':true': true } : {}),
        },
      }),
    );
  }

  async advancePendingReplay(
    tenantId: string,
    runId: string,
    progress: BackfillProgress,
    at: Date,
    done: boolean,
  ): Promise<boolean> {
    return this.ignoringConditionFailure(
      new UpdateCommand({
        TableName: this.tableName,
        Key: key(tenantId),
        UpdateExpression: `SET progress = :progress, progressAtMs = :now${done ? ' REMOVE replayPending' : ''}`,
        ConditionExpression: 'runId = :run AND replayPending = :true',
        ExpressionAttributeValues: {
          ':progress': progress,
          ':now': at.getTime(),
          ':run': runId,
          ':true': true,
        },
      }),
    );
  }

  async delete(tenantId: string): Promise<void> {
    await this.db.send(new DeleteCommand({ TableName: this.tableName, Key: key(tenantId) }));
  }

  /** True when the write happened. */
  private async ignoringConditionFailure(command: UpdateCommand): Promise<boolean> {
    try {
      await this.db.send(command);
      return true;
    } catch (error) {
      // A newer run replaced this one (or it already ended): its record is not ours to change.
      if (isConditionFailure(error)) return false;
      throw error;
    }
  }
}

function toStatus(item: Record<string, unknown>): BackfillStatus {
  return {
    status: item.status as BackfillStatus['status'],
    runId: typeof item.runId === 'string' ? item.runId : null,
    days: typeof item.days === 'number' ? item.days : 90,
    windowStart: typeof item.windowStart === 'number' ? item.windowStart : 0,
    queuedAt: String(item.queuedAt ?? ''),
    startedAt: (item.startedAt as string | undefined) ?? null,
    replayFrom: (item.replayFrom as string | undefined) ?? null,
    finishedAt: (item.finishedAt as string | undefined) ?? null,
    error: (item.error as string | null | undefined) ?? null,
    result: (item.result as BackfillResult | null | undefined) ?? null,
    progress: (item.progress as BackfillProgress | undefined) ?? null,
    leaseUntil: typeof item.leaseUntil === 'number' ? item.leaseUntil : null,
    replayPending: item.replayPending === true,
  };
}
