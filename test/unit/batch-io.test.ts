import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { BatchGetCommand, BatchWriteCommand, DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { mockClient } from 'aws-sdk-client-mock';
import { allCustomMatcher } from 'aws-sdk-client-mock-vitest';
import { beforeEach, describe, expect, it } from 'vitest';
import { batchGet, batchPut } from '#shared/adapters/dynamodb/batch-io.ts';
import { DependencyUnavailableError } from '#shared/errors/dependency-unavailable-error.ts';

expect.extend(allCustomMatcher);

const TABLE = 'records';
const db = mockClient(DynamoDBDocumentClient);
const client = DynamoDBDocumentClient.from(new DynamoDBClient({ region: 'us-east-1' }));
const delays: number[] = [];
const options = { sleep: async (ms: number) => void delays.push(ms) };

const items = (n: number, prefix = 'i') =>
  Array.from({ length: n }, (_, i) => ({ pk: 'REC#t#orders', sk: `${prefix}${i}`, amount: i }));

beforeEach(() => {
  db.reset();
  delays.length = 0;
});

describe('batchPut', () => {
  it('writes in chunks of 25, the most BatchWriteItem takes', async () => {
    db.on(BatchWriteCommand).resolves({});
    await batchPut(client, TABLE, items(60), options);
    const sizes = db
      .commandCalls(BatchWriteCommand)
      .map((call) => call.args[0].input.RequestItems?.[TABLE]?.length);
    expect(sizes.sort()).toEqual([10, 25, 25]);
    expect(delays).toEqual([]);
  });

  it('sends unprocessed items again after a jittered delay, and only those', async () => {
    const first = { pk: 'REC#t#orders', sk: 'first' };
    const second = { pk: 'REC#t#orders', sk: 'second' };
    db.on(BatchWriteCommand)
      .resolvesOnce({ UnprocessedItems: { [TABLE]: [{ PutRequest: { Item: second } }] } })
      .resolves({});
    await batchPut(client, TABLE, [first, second], options);
    const calls = db.commandCalls(BatchWriteCommand);
    expect(calls).toHaveLength(2);
    expect(calls[1]?.args[0].input.RequestItems?.[TABLE]).toEqual([{ PutRequest: { Item: second } }]);
    expect(delays).toHaveLength(1);
    expect(delays[0]).toBeLessThanOrEqual(50);
  });

  it('gives up after 8 attempts with a transient error, so the job is retried, never dropped', async () => {
    const only = { pk: 'REC#t#orders', sk: 'only' };
    db.on(BatchWriteCommand).resolves({ UnprocessedItems: { [TABLE]: [{ PutRequest: { Item: only } }] } });
    await expect(batchPut(client, TABLE, [only], options)).rejects.toBeInstanceOf(DependencyUnavailableError);
    expect(db).toHaveReceivedCommandTimes(BatchWriteCommand, 8);
    // Doubling ceilings, capped: 50, 100, 200, … ms.
    expect(delays).toHaveLength(7);
    delays.forEach((delay, i) => {
      expect(delay).toBeLessThanOrEqual(Math.min(5000, 50 * 2 ** i));
    });
  });

  it('passes a DynamoDB error through untouched (the caller classifies it)', async () => {
    db.on(BatchWriteCommand).rejects(Object.assign(new Error('throttled'), { name: 'ThrottlingException' }));
    await expect(batchPut(client, TABLE, items(3), options)).rejects.toThrow('throttled');
  });

  it('sends nothing for nothing', async () => {
    await batchPut(client, TABLE, [], options);
    expect(db).not.toHaveReceivedCommand(BatchWriteCommand);
  });
});

describe('batchGet', () => {
  it('reads strongly consistent, 100 keys a request, each key once', async () => {
    db.on(BatchGetCommand).callsFake((input) => ({
      Responses: { [TABLE]: input.RequestItems[TABLE].Keys.map((key: object) => ({ ...key, found: true })) },
    }));
    const keys = items(230).map(({ pk, sk }) => ({ pk, sk }));
    const found = await batchGet(client, TABLE, [...keys, ...keys.slice(0, 10)], options);
    expect(found).toHaveLength(230);
    const calls = db.commandCalls(BatchGetCommand);
    expect(calls.map((call) => call.args[0].input.RequestItems?.[TABLE]?.Keys?.length).sort()).toEqual([
      100, 100, 30,
    ]);
    expect(calls.every((call) => call.args[0].input.RequestItems?.[TABLE]?.ConsistentRead === true)).toBe(
      true,
    );
  });

  it('asks again for unprocessed keys until all are read', async () => {
    const a = { pk: 'REC#t#orders', sk: 'a' };
    const b = { pk: 'REC#t#orders', sk: 'b' };
    db.on(BatchGetCommand)
      .resolvesOnce({ Responses: { [TABLE]: [{ ...a, n: 1 }] }, UnprocessedKeys: { [TABLE]: { Keys: [b] } } })
      .resolves({ Responses: { [TABLE]: [{ ...b, n: 2 }] } });
    const found = await batchGet(client, TABLE, [a, b], options);
    expect(found).toEqual([
      { ...a, n: 1 },
      { ...b, n: 2 },
    ]);
    expect(db.commandCalls(BatchGetCommand)[1]?.args[0].input.RequestItems?.[TABLE]?.Keys).toEqual([b]);
  });
});
