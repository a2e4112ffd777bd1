import { IdempotencyConfig, makeIdempotent } from '@aws-lambda-powertools/idempotency';
import { DynamoDBPersistenceLayer } from '@aws-lambda-powertools/idempotency/dynamodb';
import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import type { Context } from 'aws-lambda';
import type { EventLedger, InvocationClock, LedgerEntry, LedgerResult } from '../../ports/event-ledger.ts';

/** README "Webhooks": the ledger doubles as the audit log and expires after 30 days. */
export const LEDGER_RETENTION_SECONDS = 30 * 24 * 60 * 60;
/** Bounds the per-scope wrappers a warm container keeps (one per tenant seen). */
const MAX_SCOPES = 2000;

interface LedgerInput {
  readonly key: string;
  readonly run: () => Promise<LedgerEntry>;
}

/**
 * Powertools Idempotency around the event processing, in the single table: each scope (tenant)
 * gets its own partition `LEDGER#{scope}` (sort key: Powertools' hash of the event id), so the
 * ledger is per tenant and no partition is shared by all tenants. Powertools writes the
 * in-progress record with a conditional put, stores the returned entry as the record's data,
 * deletes the record when processing throws, and answers repeats from a small local cache.
 */
export class PowertoolsEventLedger implements EventLedger {
  private readonly wrappers = new Map<
    string,
    { config: IdempotencyConfig; fn: (input: LedgerInput) => Promise<LedgerEntry> }
  >();

  constructor(
    private readonly client: DynamoDBClient,
    private readonly tableName: string,
  ) {}

  async once(
    scope: string,
    eventId: string,
    process: () => Promise<LedgerEntry>,
    invocation: InvocationClock | undefined,
  ): Promise<LedgerResult> {
    const { config, fn } = this.wrapperFor(scope);
    // Without the invocation's clock a crashed run would block retries until the record expires.
    if (invocation) config.registerLambdaContext(invocation as Context);
    let entry: LedgerEntry | undefined;
    try {
      await fn({
        key: eventId,
        run: async () => {
          entry = await process();
          return entry;
        },
      });
    } catch (error) {
      if ((error as { name?: unknown } | null)?.name === 'IdempotencyAlreadyInProgressError') {
        return { duplicate: true, inProgress: true };
      }
      throw unwrap(error);
    }
    return entry ? { duplicate: false, entry } : { duplicate: true, inProgress: false };
  }

  private wrapperFor(scope: string) {
    let wrapper = this.wrappers.get(scope);
    if (!wrapper) {
      if (this.wrappers.size >= MAX_SCOPES) this.wrappers.clear();
      const config = new IdempotencyConfig({
        eventKeyJmesPath: 'key',
        expiresAfterSeconds: LEDGER_RETENTION_SECONDS,
        throwOnNoIdempotencyKey: true,
        useLocalCache: true,
        maxLocalCacheSize: 256,
      });
      const persistenceStore = new DynamoDBPersistenceLayer({
        tableName: this.tableName,
        awsSdkV3Client: this.client,
        keyAttr: 'pk',
        sortKeyAttr: 'sk',
        staticPkValue: `LEDGER#${scope}`,
        expiryAttr: 'expiresAt',
      });
      const fn = makeIdempotent(async (input: LedgerInput) => input.run(), {
        persistenceStore,
        config,
        keyPrefix: 'stripe-event',
      });
      wrapper = { config, fn };
      this.wrappers.set(scope, wrapper);
    }
    return wrapper;
  }
}

/** Powertools wraps persistence failures; the cause (a DynamoDB error) is what callers classify. */
function unwrap(error: unknown): unknown {
  const e = error as { name?: unknown; cause?: unknown } | null;
  if (e?.name === 'IdempotencyPersistenceLayerError' && e.cause) return e.cause;
  return error;
}
