import { BatchWriteCommand, type DynamoDBDocumentClient, QueryCommand } from '@aws-sdk/lib-dynamodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createDocumentClient } from '#shared/adapters/dynamodb/document-client.ts';
import {
  DynamoDbTenantDataEraser,
  tenantDataPartitions,
} from '#shared/adapters/dynamodb/tenant-data-eraser-dynamodb.ts';
import { DynamoDbTenantDataStore } from '#shared/adapters/dynamodb/tenant-data-store-dynamodb.ts';
import { createTestApp, type TestApp } from '../support/harness.ts';
import { interceptedDocumentClient } from '../support/intercepted-dynamodb.ts';

/** The data lifecycle item and the eraser against dynalite (the operator's client: no IAM here). */
let app: TestApp;
let db: DynamoDBDocumentClient;
let store: DynamoDbTenantDataStore;
beforeAll(async () => {
  app = await createTestApp();
  db = createDocumentClient({ endpoint: app.dynamoEndpoint });
  store = new DynamoDbTenantDataStore(db, app.tableName);
});
afterAll(() => app.close());

const T = new Date('2026-12-01T00:00:00Z');
const later = (days: number) => new Date(T.getTime() + days * 86_400_000);
let counter = 0;
const tenant = () => `tenant_data_${++counter}`;

describe('tenant data lifecycle', () => {
  it('a first connect is ready; a reconnect of the same account keeps the data', async () => {
    const t = tenant();
    expect(await store.beginConnection(t, 'acct_1One', T)).toEqual({ outcome: 'ready' });
    await store.keep(t, 'acct_1One', later(30));
    expect(await store.get(t)).toMatchObject({ state: 'kept', eraseAfter: later(30).toISOString() });
    expect(await store.beginConnection(t, 'acct_1One', later(3))).toEqual({ outcome: 'ready' });
    expect(await store.get(t)).toMatchObject({
      state: 'active',
      eraseAfter: null,
      stripeAccountId: 'acct_1One',
    });
  });

  it('another account erases the previous account data first, then becomes active with a fresh sweep', async () => {
    const t = tenant();
    await store.beginConnection(t, 'acct_1One', T);
    expect(await store.beginConnection(t, 'acct_1Two', later(1))).toEqual({
      outcome: 'erase_first',
      previousStripeAccountId: 'acct_1One',
    });
    expect(await store.get(t)).toMatchObject({ state: 'erasing', nextStripeAccountId: 'acct_1Two' });
    // A reconnect of the old account cannot take the erasure's place silently: the job owns it.
    expect(await store.startErasure(t, 'acct_1Two', later(1))).toBe(false);
    expect(await store.finishErasure(t, 'acct_1One', later(1))).toEqual({ nextStripeAccountId: 'acct_1Two' });
    expect(await store.get(t)).toMatchObject({
      state: 'active',
      stripeAccountId: 'acct_1Two',
      nextStripeAccountId: null,
      // Five minutes before the connection: an event of its own second is still swept.
      sweep: { createdAfter: Math.floor(later(1).getTime() / 1000) - 300, pending: null },
    });
  });

  it('a reconnect during an erasure of the same account waits for it, then carries on', async () => {
    const t = tenant();
    await store.beginConnection(t, 'acct_1Same', T);
    await store.keep(t, 'acct_1Same', later(30));
    expect(await store.startErasure(t, 'acct_1Same', later(1))).toBe(true);
    expect(await store.beginConnection(t, 'acct_1Same', later(1))).toEqual({
      outcome: 'erase_first',
      previousStripeAccountId: 'acct_1Same',
    });
    expect(await store.finishErasure(t, 'acct_1Same', later(1))).toEqual({
      nextStripeAccountId: 'acct_1Same',
    });
    expect(await store.get(t)).toMatchObject({ state: 'active', stripeAccountId: 'acct_1Same' });
  });

  it('a disconnect while the previous account is erased for a new one ends erased, nothing waiting', async () => {
    const t = tenant();
    await store.beginConnection(t, 'acct_1Old', T);
    await store.beginConnection(t, 'acct_1New', later(1));
    await store.keep(t, 'acct_1New', later(31));
    expect(await store.get(t)).toMatchObject({ state: 'erasing', nextStripeAccountId: null });
    expect(await store.finishErasure(t, 'acct_1Old', later(2))).toEqual({ nextStripeAccountId: null });
    expect(await store.get(t)).toMatchObject({ state: 'erased' });
  });

  it('a disconnect before data states existed still keeps the data (no item yet)', async () => {
    const t = tenant();
    await store.keep(t, 'acct_1Old', later(30));
    expect(await store.get(t)).toMatchObject({ state: 'kept', stripeAccountId: 'acct_1Old' });
  });

  it('lists due erasures and stalled ones, not those still kept or progressing', async () => {
    const due = tenant();
    const notYet = tenant();
    const stalled = tenant();
    const progressing = tenant();
    for (const t of [due, notYet, stalled, progressing]) await store.beginConnection(t, 'acct_1Due', T);
    await store.keep(due, 'acct_1Due', later(1));
    await store.keep(notYet, 'acct_1Due', later(40));
    for (const t of [stalled, progressing]) {
      await store.keep(t, 'acct_1Due', later(30));
      await store.startErasure(t, 'acct_1Due', later(2));
    }
    await store.checkpointErasure(
      progressing,
      'acct_1Due',
      { partition: 1, itemsDeleted: 10, startedAt: '' },
      later(5),
    );
    const found: string[] = [];
    let cursor: string | undefined;
    do {
      const page = await store.dueForErasure(later(5), later(4), 2, cursor);
      found.push(...page.items.map((item) => `${item.tenantId}:${item.state}`));
      cursor = page.nextCursor;
    } while (cursor);
    expect(found).toContain(`${due}:kept`);
    expect(found).toContain(`${stalled}:erasing`);
    expect(found).not.toContain(`${notYet}:kept`);
    expect(found.some((entry) => entry.startsWith(`${progressing}:`))).toBe(false);
  });

  it('pages through active accounts for the sweep, leaving kept and erased out', async () => {
    const active = tenant();
    const kept = tenant();
    await store.beginConnection(active, 'acct_1Active', T);
    await store.beginConnection(kept, 'acct_1Kept', T);
    await store.keep(kept, 'acct_1Kept', later(30));
    const seen: string[] = [];
    let cursor: string | undefined;
    do {
      const page = await store.activeAccounts(1, cursor);
      seen.push(...page.items.map((item) => item.tenantId));
      cursor = page.nextCursor;
    } while (cursor);
    expect(seen).toContain(active);
    expect(seen).not.toContain(kept);
    expect(
      await store.saveSweep(kept, 'acct_1Kept', {
        createdAfter: 1,
        pending: null,
        lastRunAt: null,
        eventsApplied: 0,
      }),
    ).toBe(false);
  });
});

describe('the eraser', () => {
  async function seed(tenantId: string, perPartition: number) {
    for (const pk of tenantDataPartitions(tenantId)) {
      const items = Array.from({ length: perPartition }, (_, i) => ({
        pk,
        sk: `item#${String(i).padStart(6, '0')}`,
        payload: 'x'.repeat(200),
      }));
      for (let start = 0; start < items.length; start += 25) {
        await db.send(
          new BatchWriteCommand({
            RequestItems: {
              [app.tableName]: items.slice(start, start + 25).map((Item) => ({ PutRequest: { Item } })),
            },
          }),
        );
      }
    }
  }

  async function count(pk: string) {
    const { Count } = await db.send(
      new QueryCommand({
        TableName: app.tableName,
        KeyConditionExpression: 'pk = :pk',
        ExpressionAttributeValues: { ':pk': pk },
        Select: 'COUNT',
      }),
    );
    return Count ?? 0;
  }

  it('deletes every partition of the tenant and nothing of another tenant', async () => {
    const t = tenant();
    const other = tenant();
    await seed(t, 130);
    await seed(other, 3);
    const eraser = new DynamoDbTenantDataEraser(db, app.tableName, { itemsPerSecond: 1e9, marginMs: 0 });
    const step = await eraser.eraseSome(t, 0, Date.now() + 60_000);
    expect(step).toEqual({ partition: 6, deleted: 6 * 130, done: true });
    for (const pk of tenantDataPartitions(t)) expect(await count(pk)).toBe(0);
    for (const pk of tenantDataPartitions(other)) expect(await count(pk)).toBe(3);
  });

  it('stops at its deadline with what it did, and a second call from there finishes', async () => {
    const t = tenant();
    await seed(t, 120);
    let now = 0;
    const eraser = new DynamoDbTenantDataEraser(db, app.tableName, {
      itemsPerSecond: 100,
      marginMs: 0,
      now: () => now,
      // Each wait of the pacing moves the clock: 100 items a second, so 1.2 s per partition.
      sleep: async (ms) => {
        now += ms;
      },
    });
    const first = await eraser.eraseSome(t, 0, 2_000);
    expect(first.done).toBe(false);
    expect(first.deleted).toBeGreaterThanOrEqual(100);
    expect(first.deleted).toBeLessThan(6 * 120);
    const second = await eraser.eraseSome(t, first.partition, Number.POSITIVE_INFINITY);
    expect(second.done).toBe(true);
    expect(first.deleted + second.deleted).toBe(6 * 120);
  });

  it('backs off on throttling and unprocessed items instead of failing, and loses none', async () => {
    const t = tenant();
    await seed(t, 60);
    let throttles = 0;
    let unprocessed = 0;
    const throttling = interceptedDocumentClient(app.dynamoEndpoint, async (command, send) => {
      const input = (command as { input: Record<string, unknown> }).input;
      if (command instanceof BatchWriteCommand) {
        if (throttles < 3) {
          throttles += 1;
          throw Object.assign(new Error('throttled'), { name: 'ProvisionedThroughputExceededException' });
        }
        if (unprocessed < 3) {
          unprocessed += 1;
          // Half of the batch comes back unprocessed, as DynamoDB does under load.
          const requests =
            (input.RequestItems as Record<string, { DeleteRequest: { Key: Record<string, string> } }[]>)[
              app.tableName
            ] ?? [];
          const kept = requests.slice(0, Math.ceil(requests.length / 2));
          await send(new BatchWriteCommand({ RequestItems: { [app.tableName]: kept } }));
          return { UnprocessedItems: { [app.tableName]: requests.slice(kept.length) } };
        }
      }
      return send(command);
    });
    const eraser = new DynamoDbTenantDataEraser(throttling, app.tableName, {
      itemsPerSecond: 1e9,
      marginMs: 0,
      sleep: async () => undefined,
    });
    const step = await eraser.eraseSome(t, 0, Date.now() + 60_000);
    expect(step.done).toBe(true);
    expect(step.deleted).toBe(6 * 60);
    expect(throttles).toBe(3);
    expect(unprocessed).toBe(3);
    for (const pk of tenantDataPartitions(t)) expect(await count(pk)).toBe(0);
  });
});
