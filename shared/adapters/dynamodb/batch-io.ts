import { BatchGetCommand, BatchWriteCommand, type DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { DependencyUnavailableError } from '../../errors/dependency-unavailable-error.ts';

type Item = Record<string, unknown>;
type Key = { readonly pk: string; readonly sk: string };

/** DynamoDB's own limits per request. */
const GET_LIMIT = 100;
const WRITE_LIMIT = 25;
/** Chunks in flight at once: enough to hide latency, few enough not to throttle a partition. */
const CONCURRENCY = 4;
/**
 * Unprocessed keys or items (throttling) are sent again after a doubling, jittered delay; past
 * the last attempt the caller gets a transient error, so its message or request is retried.
 */
const MAX_ATTEMPTS = 8;
const BASE_DELAY_MS = 50;
const MAX_DELAY_MS = 5_000;

export interface BatchIoOptions {
  /** Waits between attempts (tests pass a no-op). */
  readonly sleep?: (ms: number) => Promise<void>;
}

const defaultSleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/** Strongly consistent BatchGetItem over any number of keys (duplicates allowed). */
export async function batchGet(
  db: DynamoDBDocumentClient,
  tableName: string,
  keys: readonly Key[],
  options: BatchIoOptions = {},
): Promise<Item[]> {
  const unique = [...new Map(keys.map((key) => [keyString(key), key])).values()];
  const found: Item[] = [];
  await inChunks(unique, GET_LIMIT, async (chunk) => {
    let pending: Item[] = chunk.map(({ pk, sk }) => ({ pk, sk }));
    for (let attempt = 1; pending.length > 0; attempt += 1) {
      if (attempt > 1) await backoff(attempt, options);
      const result = await db.send(
        new BatchGetCommand({
          RequestItems: { [tableName]: { Keys: pending, ConsistentRead: true } },
        }),
      );
      found.push(...(result.Responses?.[tableName] ?? []));
      pending = result.UnprocessedKeys?.[tableName]?.Keys ?? [];
    }
  });
  return found;
}

/** BatchWriteItem puts in chunks of 25; every key must appear once. */
export async function batchPut(
  db: DynamoDBDocumentClient,
  tableName: string,
  items: readonly Item[],
  options: BatchIoOptions = {},
): Promise<void> {
  await inChunks(items, WRITE_LIMIT, async (chunk) => {
    let pending = chunk.map((Item) => ({ PutRequest: { Item } }));
    for (let attempt = 1; pending.length > 0; attempt += 1) {
      if (attempt > 1) await backoff(attempt, options);
      const result = await db.send(new BatchWriteCommand({ RequestItems: { [tableName]: pending } }));
      pending = (result.UnprocessedItems?.[tableName] ?? []) as typeof pending;
    }
  });
}

export function keyString(key: Key): string {
  return `${key.pk}\u0000${key.sk}`;
}

async function backoff(attempt: number, options: BatchIoOptions): Promise<void> {
  if (attempt > MAX_ATTEMPTS) throw new DependencyUnavailableError('DynamoDB');
  const ceiling = Math.min(MAX_DELAY_MS, BASE_DELAY_MS * 2 ** (attempt - 2));
  await (options.sleep ?? defaultSleep)(Math.random() * ceiling);
}

async function inChunks<T>(
  items: readonly T[],
  size: number,
  run: (chunk: T[]) => Promise<void>,
): Promise<void> {
  const chunks: T[][] = [];
  for (let start = 0; start < items.length; start += size) chunks.push(items.slice(start, start + size));
  let next = 0;
  let failed = false;
  // After a failure no chunk starts, and the caller hears of it only once the ones in flight
  // ended: it may release locks on these keys then.
  const workers = await Promise.allSettled(
    Array.from({ length: Math.min(CONCURRENCY, chunks.length) }, async () => {
      while (!failed && next < chunks.length) {
        try {
          await run(chunks[next++] as T[]);
        } catch (error) {
          failed = true;
          throw error;
        }
      }
    }),
  );
  const failure = workers.find((worker) => worker.status === 'rejected');
  if (failure) throw failure.reason;
}
