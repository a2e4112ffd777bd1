import { QueryCommand } from '@aws-sdk/lib-dynamodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createDocumentClient } from '#shared/adapters/dynamodb/document-client.ts';
import type { OrderRecord, StoreChange, SubscriptionRecord } from '#shared/domain/records.ts';
import type { RecordVersion } from '#shared/ports/record-store.ts';
import { createTestApp, type TestApp } from '../support/harness.ts';

/**
 * `applySnapshot` (batch read, merge in memory, batch write) must leave exactly the items that
 * applying each change with `apply` (one conditional UpdateItem each) leaves, whatever was there
 * before: random histories of webhook writes, then a random backfill page, on two tenants of
 * one table, compared attribute by attribute.
 */
let app: TestApp;
beforeAll(async () => {
  app = await createTestApp();
});
afterAll(() => app.close());

/** A small deterministic PRNG (mulberry32): a failing seed can be replayed. */
function random(seed: number) {
  let a = seed >>> 0;
  const next = () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  return {
    int: (n: number) => Math.floor(next() * n),
    pick: <T>(items: readonly T[]) => items[Math.floor(next() * items.length)] as T,
    chance: (p: number) => next() < p,
  };
}
type Rng = ReturnType<typeof random>;

const T = 1_790_000_000;
const iso = (s: number) => new Date(s * 1000).toISOString();
const CUSTOMERS = ['cus_a', 'cus_b', 'cus_c'];
const SUBSCRIPTIONS = ['sub_a', 'sub_b', 'sub_c'];
const INVOICES = ['in_a', 'in_b', 'in_c'];
const INTENTS = ['pi_a', 'pi_b', 'pi_c', 'pi_d'];

function subscription(rng: Rng, id: string): SubscriptionRecord {
  return {
    id,
    customerId: rng.pick(CUSTOMERS),
    status: rng.pick(['active', 'past_due', 'canceled', 'trialing']),
    currency: 'usd',
    items: [
      {
        priceId: 'price_1',
        productId: 'prod_1',
        unitAmount: rng.int(5) * 1000,
        quantity: 1 + rng.int(3),
        interval: 'month',
        intervalCount: 1,
      },
    ],
    mrr: rng.int(10_000),
    cancelAtPeriodEnd: rng.chance(0.3),
    canceledAt: rng.chance(0.3) ? iso(T - rng.int(1000)) : null,
    endedAt: null,
    trialEnd: null,
    currentPeriodEnd: iso(T + 86_400),
    startDate: null,
    created: iso(T - 86_400 * (1 + rng.int(30))),
  };
}

function order(rng: Rng, id: string, kind: OrderRecord['kind']): OrderRecord {
  const amount = 1000 + rng.int(9000);
  return {
    id,
    kind,
    status: kind === 'invoice' ? rng.pick(['paid', 'open', 'void']) : 'succeeded',
    amount,
    amountPaid: rng.chance(0.7) ? amount : 0,
    currency: 'usd',
    customerId: rng.pick(CUSTOMERS),
    subscriptionId: kind === 'invoice' && rng.chance(0.5) ? rng.pick(SUBSCRIPTIONS) : null,
    created: iso(T - rng.int(86_400 * 60)),
    paidAt: rng.chance(0.5) ? iso(T - rng.int(86_400)) : null,
  };
}

function change(rng: Rng): StoreChange {
  switch (rng.int(9)) {
    case 0:
      return {
        kind: 'customer',
        record: { id: rng.pick(CUSTOMERS), created: iso(T - rng.int(9999)), deleted: rng.chance(0.2) },
      };
    case 1:
      return { kind: 'subscription', record: subscription(rng, rng.pick(SUBSCRIPTIONS)) };
    case 2:
      return { kind: 'order', record: order(rng, rng.pick(INVOICES), 'invoice') };
    case 3: {
      const id = rng.pick(INTENTS);
      return { kind: 'one_time_candidate', paymentIntentId: id, record: order(rng, id, 'one_time') };
    }
    case 4:
      return { kind: 'payment_link', paymentIntentId: rng.pick(INTENTS), invoiceId: rng.pick(INVOICES) };
    case 5:
      return {
        kind: 'credit_note',
        creditNoteId: rng.pick(['cn_a', 'cn_b']),
        invoiceId: rng.pick(INVOICES),
        amount: 100 * (1 + rng.int(20)),
        voided: rng.chance(0.3),
      };
    case 6:
      return {
        kind: 'dispute',
        disputeId: rng.pick(['dp_a', 'dp_b']),
        paymentIntentId: rng.pick(INTENTS),
        amount: 100 * (1 + rng.int(50)),
        status: rng.pick(['needs_response', 'under_review', 'won', 'lost']),
        openedAt: T - rng.int(1000),
      };
    default: {
      const known = rng.chance(0.3);
      return {
        kind: 'refund',
        invoiceId: known && rng.chance(0.5) ? rng.pick(INVOICES) : null,
        paymentIntentId: rng.pick(INTENTS),
        amountRefunded: 100 * (1 + rng.int(20)),
        invoiceKnown: known,
      };
    }
  }
}

/** Event versions straddle the snapshot's second on purpose, so both guard outcomes happen. */
function eventVersion(rng: Rng, index: number): RecordVersion {
  return {
    created: T + rng.int(5) - 2,
    rank: rng.pick([1, 2, 3] as const),
    eventId: `evt_${rng.int(50)}_${index}`,
  };
}

const db = () => createDocumentClient({ endpoint: app.dynamoEndpoint });

async function items(tenantId: string) {
  const out: Record<string, unknown>[] = [];
  for (const collection of ['customers', 'subscriptions', 'orders']) {
    const { Items } = await db().send(
      new QueryCommand({
        TableName: app.tableName,
        KeyConditionExpression: 'pk = :pk',
        ExpressionAttributeValues: { ':pk': `REC#${tenantId}#${collection}` },
        ConsistentRead: true,
      }),
    );
    out.push(...(Items ?? []));
  }
  // The same items, told apart only by the tenant in their keys.
  return JSON.parse(JSON.stringify(out).replaceAll(tenantId, 'TENANT'));
}

describe('DynamoDbRecordStore.applySnapshot', () => {
  it('leaves exactly what one guarded apply per change leaves, over 40 random histories', async () => {
    const records = app.deps.records;
    for (let seed = 1; seed <= 40; seed += 1) {
      const rng = random(seed);
      const single = `single_${seed}`;
      const batch = `batch_${seed}`;
      // What webhooks wrote before the backfill's page, identical for both tenants.
      const history = Array.from({ length: 4 + rng.int(10) }, (_, i) => ({
        change: change(rng),
        version: eventVersion(rng, i),
      }));
      for (const { change: c, version } of history) {
        await records.apply(single, c, version);
        await records.apply(batch, c, version);
      }
      const page = Array.from({ length: 5 + rng.int(15) }, () => change(rng));
      const snapshot: RecordVersion = { created: T, rank: 0, eventId: '0backfill' };
      const runId = `run_${seed}`;
      // The batch path's order: item changes as listed, then adjustments as listed.
      const adjusts = (c: StoreChange) => ['refund', 'credit_note', 'dispute'].includes(c.kind);
      for (const c of page.filter((c) => !adjusts(c))) {
        await records.apply(single, c, snapshot, { kind: 'backfill', runId });
      }
      for (const c of page.filter(adjusts)) {
        await records.apply(single, c, snapshot, { kind: 'backfill', runId });
      }
      await records.applySnapshot(batch, page, snapshot, runId);

      expect({ seed, items: await items(batch) }).toEqual({ seed, items: await items(single) });
      expect(await records.countRun(batch, runId)).toEqual(await records.countRun(single, runId));
    }
  }, 120_000);

  it('refuses what is older than the record, like the guard: a newer event keeps its data', async () => {
    const records = app.deps.records;
    const rng = random(99);
    const newer = subscription(rng, 'sub_newer');
    await records.apply(
      'guarded',
      { kind: 'subscription', record: { ...newer, status: 'past_due' } },
      {
        created: T + 10,
        rank: 2,
        eventId: 'evt_newer',
      },
    );
    await records.applySnapshot(
      'guarded',
      [{ kind: 'subscription', record: { ...newer, status: 'active' } }],
      { created: T, rank: 0, eventId: '0backfill' },
      'run_guarded',
    );
    const [item] = await items('guarded');
    expect(item).toMatchObject({ status: 'past_due', eventId: 'evt_newer', createdBy: 'webhook' });
    expect(item.backfillRun).toBeUndefined();
  });
});
