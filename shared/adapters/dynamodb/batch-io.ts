import { AsyncLocalStorage } from 'node:async_hooks';
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
 * Throttled requests (unprocessed keys or items, or a throttling error the SDK's own retries did
 * not get past) are sent again after a doubling, fully jittered delay, for as long as the work's
 * time allows (`withBatchDeadline`; a fixed budget outside one). Past it the caller gets a
 * transient error with nothing lost: it hands its work over and redoes it later.
 */
const BASE_DELAY_MS = 50;
const MAX_DELAY_MS = 10_000;
const DEFAULT_BUDGET_MS = 20_000;
/** DynamoDB's throttling errors, by name (two SDK copies break `instanceof`). */
const THROTTLING = new Set([
  'ProvisionedThroughputExceededException',
  'ThrottlingException',
  'RequestLimitExceeded',
]);

export interface BatchIoOptions {
  /** Waits between attempts (tests pass one that moves their clock). */
  readonly sleep?: (ms: number) => Promise<void>;
  /** Epoch ms, outside a `withBatchDeadline` scope (which brings its own clock). */
  readonly now?: () => number;
}

interface Deadline {
  readonly until: number;
  readonly now: () => number;
}

/**
 * The time by which the batches of one unit of work must have given up (a backfill slice's
 * hand-over time), for every batch call made inside `work`, however deep: the stores that make
 * them are built once per process, long before any invocation's deadline is known.
 */
const deadlines = new AsyncLocalStorage<Deadline>();

export function withBatchDeadline<T>(until: number, now: () => number, work: () => Promise<T>): Promise<T> {
  return deadlines.run({ until, now }, work);
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
  const backoff = new Backoff(options);
  await inChunks(unique, GET_LIMIT, async (chunk) => {
    let pending: Item[] = chunk.map(({ pk, sk }) => ({ pk, sk }));
    for (let attempt = 1; pending.length > 0; attempt += 1) {
      if (attempt > 1) await backoff.wait(attempt);
      const result = await unlessThrottled(
        db.send(
          new BatchGetCommand({ RequestItems: { [tableName]: { Keys: pending, ConsistentRead: true } } }),
        ),
      );
      if (!result) continue;
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
  const backoff = new Backoff(options);
  await inChunks(items, WRITE_LIMIT, async (chunk) => {
    let pending = chunk.map((Item) => ({ PutRequest: { Item } }));
    for (let attempt = 1; pending.length > 0; attempt += 1) {
      if (attempt > 1) await backoff.wait(attempt);
      const result = await unlessThrottled(
        db.send(new BatchWriteCommand({ RequestItems: { [tableName]: pending } })),
      );
      if (!result) continue;
      pending = (result.UnprocessedItems?.[tableName] ?? []) as typeof pending;
    }
  });
}

/** The answer, or undefined when DynamoDB throttled the whole request (it is sent again). */
async function unlessThrottled<T>(request: Promise<T>): Promise<T | undefined> {
  try {
    return await request;
  } catch (error) {
    if (THROTTLING.has(String((error as { name?: unknown } | null)?.name))) return undefined;
    throw error;
  }
}

/** The waits of one batch call: bounded by the work's deadline, or by a budget from its start. */
class Backoff {
  private readonly now: () => number;
  private readonly until: number;
  private readonly sleep: (ms: number) => Promise<void>;

  constructor(options: BatchIoOptions) {
    const deadline = deadlines.getStore();
    this.now = deadline?.now ?? options.now ?? Date.now;
    this.until = deadline?.until ?? this.now() + DEFAULT_BUDGET_MS;
    this.sleep = options.sleep ?? defaultSleep;
  }

  /** Waits before `attempt` (2, 3, …); a transient error when that wait would end past the deadline. */
  async wait(attempt: number): Promise<void> {
    const ceiling = Math.min(MAX_DELAY_MS, BASE_DELAY_MS * 2 ** (attempt - 2));
    const delay = Math.random() * ceiling;
    if (this.now() + delay >= this.until) throw new DependencyUnavailableError('DynamoDB');
    await this.sleep(delay);
  }
}

export function keyString(key: Key): string {
  return `${key.pk}\u0000${key.sk}`;
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
