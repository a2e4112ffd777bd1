import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';

/**
 * Counts what a DynamoDB client sends, for the benchmarks: every request by operation and by the
 * key prefix of the partition it touches (`Query TENANT#`, `PutItem LEDGER#`, …), and the
 * capacity units dynalite reports for it. Each request asks for `ReturnConsumedCapacity: TOTAL`
 * (one more response field; the number of requests is unchanged).
 *
 * dynalite's units are the table's only: a write of an item that has a `gsi1` key costs
 * DynamoDB one more write unit for the index, which dynalite does not report (the benches say
 * where that applies).
 */
export class DynamoMeter {
  requests = 0;
  readUnits = 0;
  writeUnits = 0;
  readonly byRequest = new Map<string, number>();

  /** Pass as `instrumentDynamoDb` (createLocalDependencies) or call on any client. */
  readonly instrument = (client: DynamoDBClient): void => {
    client.middlewareStack.add(
      (next, context) => async (args) => {
        const input = args.input as Record<string, unknown>;
        const operation = String(context.commandName ?? 'Unknown').replace(/Command$/, '');
        const label = `${operation} ${partitionOf(input)}`;
        this.requests += 1;
        this.byRequest.set(label, (this.byRequest.get(label) ?? 0) + 1);
        if (CAPACITY_OPERATIONS.has(operation) && input.ReturnConsumedCapacity === undefined) {
          input.ReturnConsumedCapacity = 'TOTAL';
        }
        const result = await next(args);
        const units = consumedUnits((result.output as { ConsumedCapacity?: unknown }).ConsumedCapacity);
        if (READ_OPERATIONS.has(operation)) this.readUnits += units;
        else this.writeUnits += units;
        return result;
      },
      { step: 'initialize', name: 'benchDynamoMeter' },
    );
  };

  snapshot(): MeterSnapshot {
    return {
      requests: this.requests,
      readUnits: this.readUnits,
      writeUnits: this.writeUnits,
      byRequest: new Map(this.byRequest),
    };
  }

  /** What was sent since `before`. */
  since(before: MeterSnapshot): MeterSnapshot {
    const byRequest = new Map<string, number>();
    for (const [label, count] of this.byRequest) {
      const delta = count - (before.byRequest.get(label) ?? 0);
      if (delta > 0) byRequest.set(label, delta);
    }
    return {
      requests: this.requests - before.requests,
      readUnits: this.readUnits - before.readUnits,
      writeUnits: this.writeUnits - before.writeUnits,
      byRequest,
    };
  }
}

export interface MeterSnapshot {
  readonly requests: number;
  readonly readUnits: number;
  readonly writeUnits: number;
  readonly byRequest: ReadonlyMap<string, number>;
}

/** Sums of several snapshots' deltas, and their means per sample (for "per event" figures). */
export class MeterTally {
  samples = 0;
  requests = 0;
  max = 0;
  readUnits = 0;
  writeUnits = 0;
  readonly byRequest = new Map<string, number>();

  add(delta: MeterSnapshot): void {
    this.samples += 1;
    this.requests += delta.requests;
    this.max = Math.max(this.max, delta.requests);
    this.readUnits += delta.readUnits;
    this.writeUnits += delta.writeUnits;
    for (const [label, count] of delta.byRequest) {
      this.byRequest.set(label, (this.byRequest.get(label) ?? 0) + count);
    }
  }

  /** Per sample: requests (mean, max), capacity units, and each kind of request. */
  perSample() {
    const n = Math.max(1, this.samples);
    return {
      samples: this.samples,
      mean: round(this.requests / n),
      max: this.max,
      readUnits: round(this.readUnits / n),
      writeUnitsTable: round(this.writeUnits / n),
      byRequest: sortedRecord(this.byRequest, (count) => round(count / n, 3)),
    };
  }
}

export function sortedRecord<T>(map: ReadonlyMap<string, number>, value: (count: number) => T) {
  return Object.fromEntries(
    [...map].sort(([a], [b]) => a.localeCompare(b)).map(([label, count]) => [label, value(count)]),
  );
}

export const round = (n: number, digits = 2) => {
  const scale = 10 ** digits;
  return Math.round(n * scale) / scale;
};

const READ_OPERATIONS = new Set(['GetItem', 'Get', 'Query', 'Scan', 'BatchGetItem', 'BatchGet']);
const CAPACITY_OPERATIONS = new Set([
  ...READ_OPERATIONS,
  'PutItem',
  'Put',
  'UpdateItem',
  'Update',
  'DeleteItem',
  'Delete',
  'BatchWriteItem',
  'BatchWrite',
  'TransactWriteItems',
  'TransactWrite',
]);

function consumedUnits(consumed: unknown): number {
  const list = Array.isArray(consumed) ? consumed : consumed ? [consumed] : [];
  return list.reduce(
    (sum, entry) => sum + Number((entry as { CapacityUnits?: unknown }).CapacityUnits ?? 0),
    0,
  );
}

/** The key prefix (`TENANT#`, `REC#`, …) of the partition a request names, `gsi1` for the index. */
function partitionOf(input: Record<string, unknown>): string {
  if (input.IndexName) return String(input.IndexName);
  const key = (input.Key ?? input.Item) as Record<string, unknown> | undefined;
  const values = input.ExpressionAttributeValues as Record<string, unknown> | undefined;
  const batch = input.RequestItems as Record<string, unknown> | undefined;
  const entries = batch ? Object.values(batch)[0] : undefined;
  // BatchWriteItem: a list of requests; BatchGetItem: `{ Keys: [...] }`.
  const first = (Array.isArray(entries) ? entries[0] : (entries as { Keys?: unknown[] })?.Keys?.[0]) as
    | Record<string, Record<string, unknown>>
    | undefined;
  const batchKey = (first?.DeleteRequest?.Key ?? first?.PutRequest?.Item ?? first) as
    | Record<string, unknown>
    | undefined;
  const pk = key?.pk ?? values?.[':pk'] ?? batchKey?.pk;
  const text = typeof pk === 'string' ? pk : (pk as { S?: unknown } | undefined)?.S;
  if (typeof text !== 'string') return '?';
  const hash = text.indexOf('#');
  return hash < 0 ? text : text.slice(0, hash + 1);
}
