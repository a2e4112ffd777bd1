import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { BatchGetCommand, BatchWriteCommand, DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { mockClient } from 'aws-sdk-client-mock';
import { allCustomMatcher } from 'aws-sdk-client-mock-vitest';
import { beforeEach, describe, expect, it } from 'vitest';
import { batchGet, batchPut, withBatchDeadline } from '#shared/adapters/dynamodb/batch-io.ts';
import { DependencyUnavailableError } from '#shared/errors/dependency-unavailable-error.ts';

expect.extend(allCustomMatcher);

const TABLE = 'records';
const db = mockClient(DynamoDBDocumentClient);
const client = DynamoDBDocumentClient.from(new DynamoDBClient({ region: 'us-east-1' }));
const delays: number[] = [];
/** A clock the waits move: time passes only by backing off. */
let clock = 0;
const now = () => clock;
const options = {
  sleep: async (ms: number) => {
    delays.push(ms);
    clock += ms;
  },
  now,
};
const throttling = (name: string) => Object.assign(new Error('Rate exceeded'), { name, $metadata: {} });

const items = (n: number, prefix = 'i') =>
  Array.from({ length: n }, (_, i) => ({ pk: 'REC#t#orders', sk: `${prefix}${i}`, amount: i }));

beforeEach(() => {
  db.reset();
  delays.length = 0;
  clock = 1_000_000;
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

  it('backs off (doubling, jittered, capped) until the deadline, then gives up with a transient error', async () => {
    const only = { pk: 'REC#t#orders', sk: 'only' };
    db.on(BatchWriteCommand).resolves({ UnprocessedItems: { [TABLE]: [{ PutRequest: { Item: only } }] } });
    const until = clock + 120_000;
    await expect(
      withBatchDeadline(until, now, () => batchPut(client, TABLE, [only], options)),
    ).rejects.toBeInstanceOf(DependencyUnavailableError);
    // Far more than the 8 attempts in ~6 s it used to get, and never a wait past the deadline.
    const attempts = db.commandCalls(BatchWriteCommand).length;
    expect(attempts).toBeGreaterThan(12);
    expect(delays).toHaveLength(attempts - 1);
    delays.forEach((delay, i) => {
      expect(delay).toBeLessThanOrEqual(Math.min(10_000, 50 * 2 ** i));
    });
    expect(Math.max(...delays)).toBeGreaterThan(1000);
    expect(clock).toBeLessThan(until);
    expect(clock).toBeGreaterThan(until - 10_000);
  });

  it('outside a deadline scope, backs off for a fixed budget of 20 s', async () => {
    const only = { pk: 'REC#t#orders', sk: 'only' };
    db.on(BatchWriteCommand).resolves({ UnprocessedItems: { [TABLE]: [{ PutRequest: { Item: only } }] } });
    const start = clock;
    await expect(batchPut(client, TABLE, [only], options)).rejects.toBeInstanceOf(DependencyUnavailableError);
    expect(clock - start).toBeLessThan(20_000);
    expect(clock - start).toBeGreaterThanOrEqual(10_000);
  });

  it('rides out throttling that lasts longer than the old retries did, losing nothing', async () => {
    const items3 = items(3);
    const until = clock + 600_000;
    const throttledUntil = clock + 30_000;
    db.on(BatchWriteCommand).callsFake((input) => {
      if (clock < throttledUntil) return { UnprocessedItems: input.RequestItems };
      return {};
    });
    await withBatchDeadline(until, now, () => batchPut(client, TABLE, items3, options));
    const last = db.commandCalls(BatchWriteCommand).at(-1);
    expect(last?.args[0].input.RequestItems?.[TABLE]).toEqual(
      items3.map((Item) => ({ PutRequest: { Item } })),
    );
    expect(clock).toBeGreaterThanOrEqual(throttledUntil);
  });

  it.each(['ProvisionedThroughputExceededException', 'ThrottlingException', 'RequestLimitExceeded'])(
    'sends the request again after a thrown %s',
    async (name) => {
      db.on(BatchWriteCommand).rejectsOnce(throttling(name)).rejectsOnce(throttling(name)).resolves({});
      await batchPut(client, TABLE, items(3), options);
      expect(db).toHaveReceivedCommandTimes(BatchWriteCommand, 3);
      expect(delays).toHaveLength(2);
    },
  );

  it('passes any other DynamoDB error through untouched, at once (the caller classifies it)', async () => {
    db.on(BatchWriteCommand).rejects(
      Object.assign(new Error('Item size has exceeded the maximum allowed size'), {
        name: 'ValidationException',
      }),
    );
    await expect(batchPut(client, TABLE, items(3), options)).rejects.toThrow('maximum allowed size');
    expect(db).toHaveReceivedCommandTimes(BatchWriteCommand, 1);
    expect(delays).toEqual([]);
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

  it('asks again after a thrown throttling error, within the deadline', async () => {
    const a = { pk: 'REC#t#orders', sk: 'a' };
    db.on(BatchGetCommand)
      .rejectsOnce(throttling('ProvisionedThroughputExceededException'))
      .resolves({ Responses: { [TABLE]: [{ ...a, n: 1 }] } });
    const found = await withBatchDeadline(clock + 60_000, now, () => batchGet(client, TABLE, [a], options));
    expect(found).toEqual([{ ...a, n: 1 }]);
    expect(db).toHaveReceivedCommandTimes(BatchGetCommand, 2);
  });

  it('gives up with a transient error once the deadline is near', async () => {
    const a = { pk: 'REC#t#orders', sk: 'a' };
    db.on(BatchGetCommand).resolves({ UnprocessedKeys: { [TABLE]: { Keys: [a] } } });
    const until = clock + 5_000;
    await expect(
      withBatchDeadline(until, now, () => batchGet(client, TABLE, [a], options)),
    ).rejects.toBeInstanceOf(DependencyUnavailableError);
    expect(clock).toBeLessThan(until);
  });
});
