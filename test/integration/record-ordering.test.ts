import { type DynamoDBDocumentClient, PutCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { isConditionFailure } from '#shared/adapters/dynamodb/condition-failure.ts';
import { createDocumentClient } from '#shared/adapters/dynamodb/document-client.ts';
import {
  ENTRY_NEWER_OR_SAME,
  NEWER_OR_SAME,
  REFUND_NEWER_OR_SAME,
} from '#shared/adapters/dynamodb/record-store-dynamodb.ts';
import {
  mayOverwrite,
  type RecordVersion,
  refundMayOverwrite,
  type StoredRefund,
  versionOrder,
} from '#shared/domain/record-ordering.ts';
import { createTestApp, type TestApp } from '../support/harness.ts';

/**
 * The record store's conditions, evaluated by a DynamoDB-protocol server, against the domain's
 * rule: every pair of (stored, incoming) versions below gets the same answer from both.
 */
let app: TestApp;
let db: DynamoDBDocumentClient;
beforeAll(async () => {
  app = await createTestApp();
  db = createDocumentClient({ endpoint: app.dynamoEndpoint });
});
afterAll(() => app.close());

const RANKS = [0, 1, 2, 3] as const;
const versions: RecordVersion[] = [99, 100, 101].flatMap((created) =>
  RANKS.flatMap((rank) => ['0backfill', 'evt_a', 'evt_b'].map((eventId) => ({ created, rank, eventId }))),
);
let counter = 0;

async function conditionAllows(
  stored: Record<string, unknown> | undefined,
  condition: string,
  values: Record<string, unknown>,
  names?: Record<string, string>,
): Promise<boolean> {
  const key = { pk: `REC#ordering#orders`, sk: `case_${++counter}` };
  if (stored) await db.send(new PutCommand({ TableName: app.tableName, Item: { ...key, ...stored } }));
  try {
    await db.send(
      new UpdateCommand({
        TableName: app.tableName,
        Key: key,
        UpdateExpression: 'SET probe = :probe',
        ConditionExpression: condition,
        ExpressionAttributeValues: { ...values, ':probe': true },
        ExpressionAttributeNames: names,
      }),
    );
    return true;
  } catch (error) {
    if (isConditionFailure(error)) return false;
    throw error;
  }
}

describe('record ordering: the DynamoDB conditions are the domain rule', () => {
  it('NEWER_OR_SAME agrees with mayOverwrite on every pair of versions (and on an unversioned record)', async () => {
    const disagreements: string[] = [];
    const sample = versions.filter((_, i) => i % 2 === 0);
    for (const incoming of versions) {
      const values = { ':created': versionOrder(incoming), ':eventId': incoming.eventId };
      for (const before of [undefined, ...sample]) {
        const stored = before ? { order: versionOrder(before), eventId: before.eventId } : undefined;
        const item = stored ? { eventCreated: stored.order, eventId: stored.eventId } : undefined;
        const dynamo = await conditionAllows(item, NEWER_OR_SAME, values);
        if (dynamo !== mayOverwrite(stored, incoming)) {
          disagreements.push(`${JSON.stringify(before)} <- ${JSON.stringify(incoming)}: DynamoDB ${dynamo}`);
        }
      }
    }
    expect(disagreements).toEqual([]);
  });

  it('REFUND_NEWER_OR_SAME agrees with refundMayOverwrite', async () => {
    const refunds: StoredRefund[] = [400, 401, 404].flatMap((order) =>
      [0, 100, 500].map((amount) => ({ order, amount })),
    );
    const disagreements: string[] = [];
    for (const incoming of refunds) {
      for (const stored of [undefined, ...refunds]) {
        const item = stored ? { refundCreated: stored.order, amountRefunded: stored.amount } : undefined;
        const dynamo = await conditionAllows(item, REFUND_NEWER_OR_SAME, {
          ':created': incoming.order,
          ':amount': incoming.amount,
        });
        if (dynamo !== refundMayOverwrite(stored, incoming)) {
          disagreements.push(`${JSON.stringify(stored)} <- ${JSON.stringify(incoming)}: DynamoDB ${dynamo}`);
        }
      }
    }
    expect(disagreements).toEqual([]);
  });

  it("ENTRY_NEWER_OR_SAME (a credit note's or dispute's entry on its order) agrees with mayOverwrite", async () => {
    const disagreements: string[] = [];
    const sample = versions.filter((_, i) => i % 2 === 1);
    const names = { '#entry': 'dispute#dp_1', '#order': 'order', '#eventId': 'eventId' };
    for (const incoming of versions) {
      const values = { ':order': versionOrder(incoming), ':eventId': incoming.eventId };
      for (const before of [undefined, ...sample]) {
        const stored = before ? { order: versionOrder(before), eventId: before.eventId } : undefined;
        // Another entry of the same order never decides: only the entry's own version does.
        const other = { 'dispute#dp_2': { amount: 1, order: 10_000, eventId: 'evt_z' } };
        const item = stored ? { ...other, 'dispute#dp_1': { amount: 5, ...stored } } : other;
        const dynamo = await conditionAllows(item, ENTRY_NEWER_OR_SAME, values, names);
        if (dynamo !== mayOverwrite(stored, incoming)) {
          disagreements.push(`${JSON.stringify(before)} <- ${JSON.stringify(incoming)}: DynamoDB ${dynamo}`);
        }
      }
    }
    expect(disagreements).toEqual([]);
  });
});
