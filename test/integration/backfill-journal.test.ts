import { BatchWriteCommand, GetCommand, QueryCommand } from '@aws-sdk/lib-dynamodb';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import {
  DynamoDbChangeJournal,
  JOURNAL_RETENTION_SECONDS,
} from '#shared/adapters/dynamodb/change-journal-dynamodb.ts';
import { createDocumentClient } from '#shared/adapters/dynamodb/document-client.ts';
import { DynamoDbRecordStore } from '#shared/adapters/dynamodb/record-store-dynamodb.ts';
import type { ChangeJournal, JournalEntry } from '#shared/ports/change-journal.ts';
import { stripeEvent } from '../../scripts/stripe-emulator/stripe-objects.ts';
import { requestBackfill, runBackfill } from '../support/as-deployed.ts';
import { backfillDeps, connectedClinic } from '../support/backfill-helpers.ts';
import { type Handlers, handlersFor } from '../support/handlers.ts';
import { createTestApp, type TestApp, tenantA } from '../support/harness.ts';
import { interceptedDocumentClient } from '../support/intercepted-dynamodb.ts';
import { deliverConnectEvent, readAll } from '../support/webhook-helpers.ts';

const SIZE = { customers: 30, subscriptions: 40, invoices: 120, oneTimePayments: 20 };
const ACCOUNT = 'acct_1JournalClinic';

let app: TestApp;
let handlers: Handlers;
let token: string;

beforeEach(async () => {
  app = await createTestApp();
  handlers = handlersFor(app);
  token = await app.session(tenantA);
});
afterEach(() => app.close());

type Subscription = { id: string; customer: string; status: string } & Record<string, unknown>;

const deliver = (event: object) => deliverConnectEvent(app, event);

/**
 * A record store whose first batch holding `subscriptionId` lets a webhook event land first, in
 * the window between the batch's read and its write: the race the journal exists for.
 */
function storeWithRace(
  subscriptionId: string,
  event: () => object,
  collection = 'subscriptions',
  snapshotStatus = 'active',
) {
  const race = { delivered: false, overwritten: false };
  const racing = interceptedDocumentClient(app.dynamoEndpoint, async (command, send) => {
    const writes =
      command instanceof BatchWriteCommand ? (command.input.RequestItems?.[app.tableName] ?? []) : [];
    const hit = writes.some((w) => w.PutRequest?.Item?.sk === subscriptionId);
    if (!hit || race.delivered) return send(command);
    race.delivered = true;
    expect(await deliver(event())).toEqual({ outcome: 'processed' });
    const result = await send(command);
    const { Item } = (await send(
      new GetCommand({
        TableName: app.tableName,
        Key: { pk: `REC#tenant_a#${collection}`, sk: subscriptionId },
        ConsistentRead: true,
      }),
    )) as { Item?: Record<string, unknown> };
    race.overwritten = Item?.status === snapshotStatus;
    return result;
  });
  return { records: new DynamoDbRecordStore(racing, app.tableName), race };
}

async function raceScenario(journalFor: (real: ChangeJournal) => ChangeJournal) {
  const clinic = await connectedClinic(app, 'tenant_a', ACCOUNT, SIZE);
  const target = (clinic.objects.subscriptions as Subscription[]).find((s) => s.status === 'active');
  if (!target) throw new Error('the seed has no active subscription');
  const runId = await requestBackfill({ ...app.deps, clock: app.clock }, 'tenant_a', 90);
  const nowSec = Math.floor(app.clock.now().getTime() / 1000);
  // Five seconds newer than the backfill's snapshot: this event must win.
  const event = () =>
    stripeEvent(
      'customer.subscription.updated',
      { ...target, status: 'past_due' },
      { id: 'evt_1RaceDuringBatch', account: ACCOUNT, created: nowSec + 5 },
    );
  const { records, race } = storeWithRace(target.id, event);
  const deps = { ...backfillDeps(app), records, journal: journalFor(app.deps.journal) };
  const outcome = await runBackfill(deps, {
    tenantId: 'tenant_a',
    runId,
    deadline: app.clock.now().getTime() + 15 * 60_000,
  });
  expect(outcome.outcome).toBe('succeeded');
  // The race really happened: the event landed, then the batch wrote its older snapshot over it.
  expect(race).toEqual({ delivered: true, overwritten: true });
  const subscriptions = await readAll(handlers, token, 'subscriptions');
  return subscriptions.find((s) => s.id === target.id);
}

describe('backfill batches and webhook events', () => {
  it('an event applied between a batch read and its write wins in the end: the run replays the journal', async () => {
    const record = await raceScenario((journal) => journal);
    expect(record).toMatchObject({ status: 'past_due' });
    expect(app.log.messages()).toContain('backfill_journal_replayed');
  });

  it('a run whose worker died without giving up hands its replay window to the run that replaces it', async () => {
    const clinic = await connectedClinic(app, 'tenant_a', ACCOUNT, SIZE);
    const nowSec = Math.floor(app.clock.now().getTime() / 1000);
    // An invoice the replacing run (1 day) does not list again: only a replay can fix it.
    const target = (clinic.objects.invoices as Subscription[]).find(
      (i) =>
        i.status === 'paid' &&
        (i.created as number) < nowSec - 10 * 86_400 &&
        (i.created as number) > nowSec - 80 * 86_400,
    );
    if (!target) throw new Error('the seed has no paid invoice of the window');
    const dead = await requestBackfill({ ...app.deps, clock: app.clock }, 'tenant_a', 90);
    const event = () =>
      stripeEvent(
        'invoice.voided',
        { ...target, status: 'void' },
        { id: 'evt_1RaceThenDeath', account: ACCOUNT, created: nowSec + 5 },
      );
    const { records, race } = storeWithRace(target.id, event, 'orders', 'paid');
    // The worker dies right after the batch that overwrote the event: no replay, no give-up.
    const dying = {
      apply: records.apply.bind(records),
      list: records.list.bind(records),
      countRun: records.countRun.bind(records),
      applySnapshot: async (...args: Parameters<typeof records.applySnapshot>) => {
        await records.applySnapshot(...args);
        if (race.overwritten) throw Object.assign(new Error('killed'), { name: 'Sandbox.Timedout' });
      },
    };
    await expect(
      runBackfill(
        { ...backfillDeps(app), records: dying },
        { tenantId: 'tenant_a', runId: dead, deadline: app.clock.now().getTime() + 15 * 60_000 },
      ),
    ).rejects.toThrow('killed');
    expect(race).toEqual({ delivered: true, overwritten: true });
    // Hours later a re-sync replaces the stale run; its own start is far past the event.
    app.clock.advance(3 * 60 * 60_000);
    const next = await requestBackfill({ ...app.deps, clock: app.clock }, 'tenant_a', 1);
    expect((await app.deps.backfillStatus.get('tenant_a'))?.replayFrom).not.toBeNull();
    const outcome = await runBackfill(backfillDeps(app), {
      tenantId: 'tenant_a',
      runId: next,
      deadline: app.clock.now().getTime() + 15 * 60_000,
    });
    expect(outcome.outcome).toBe('succeeded');
    const orders = await readAll(handlers, token, 'orders');
    expect(orders.find((o) => o.id === target.id)).toMatchObject({ status: 'void' });
  });

  it('without the replay the batch would have lost that event (the race is real)', async () => {
    const noReplay = (journal: ChangeJournal): ChangeJournal => ({
      append: journal.append.bind(journal),
      async *since() {},
    });
    const record = await raceScenario(noReplay);
    expect(record).toMatchObject({ status: 'active' });
  });

  it('a webhook whose journal write fails changes nothing and answers a retryable error', async () => {
    await connectedClinic(app, 'tenant_a', ACCOUNT, SIZE);
    // Intake journals only while a backfill is queued or running.
    await requestBackfill({ ...app.deps, clock: app.clock }, 'tenant_a', 90);
    const journal = app.depsFor('WebhookConnect').journal as DynamoDbChangeJournal;
    const append = journal.append.bind(journal);
    journal.append = async () => {
      throw Object.assign(new Error('throttled'), { name: 'ThrottlingException', $metadata: {} });
    };
    const customer = {
      id: 'cus_1JournalNew',
      object: 'customer',
      created: Math.floor(app.clock.now().getTime() / 1000),
      deleted: false,
    };
    const event = stripeEvent('customer.created', customer, {
      id: 'evt_1JournalFails',
      account: ACCOUNT,
      created: customer.created,
    });
    await expect(deliver(event)).rejects.toThrow('throttled');
    expect((await readAll(handlers, token, 'customers')).map((c) => c.id)).not.toContain(customer.id);
    // Stripe's retry goes through once the journal is back: the failed attempt left no lease.
    journal.append = append;
    expect(await deliver(event)).toEqual({ outcome: 'processed' });
    expect((await readAll(handlers, token, 'customers')).map((c) => c.id)).toContain(customer.id);
  });
});

describe('DynamoDbChangeJournal', () => {
  const entry = (eventId: string, created: number): JournalEntry => ({
    eventId,
    version: { created, rank: 2, eventId },
    changes: [{ kind: 'customer', record: { id: `cus_${eventId}`, created: null, deleted: false } }],
  });

  async function all(journal: ChangeJournal, tenantId: string, from: Date) {
    const out: JournalEntry[] = [];
    for await (const e of journal.since(tenantId, from)) out.push(e);
    return out;
  }

  it('returns the entries appended since a time, oldest first, over many pages, for one tenant only', async () => {
    const journal = app.deps.journal;
    const t0 = app.clock.now().getTime();
    for (let i = 0; i < 230; i += 1) {
      await journal.append(
        'tenant_a',
        entry(`evt_${String(i).padStart(3, '0')}`, 100 + i),
        new Date(t0 + i * 1000),
      );
    }
    await journal.append('tenant_b', entry('evt_other', 1), new Date(t0 + 5000));
    const since = await all(journal, 'tenant_a', new Date(t0 + 30_000));
    expect(since).toHaveLength(200);
    expect(since[0]).toEqual({ ...entry('evt_030', 130), position: expect.stringMatching(/#evt_030$/) });
    expect(since.map((e) => e.eventId)).toEqual([...since.map((e) => e.eventId)].sort());
    expect((await all(journal, 'tenant_b', new Date(t0))).map((e) => e.eventId)).toEqual(['evt_other']);
  });

  it('skips entries past their retention even before DynamoDB deletes them', async () => {
    const journal = new DynamoDbChangeJournal(
      createDocumentClient({ endpoint: app.dynamoEndpoint }),
      app.tableName,
      app.clock,
    );
    const t0 = app.clock.now();
    await journal.append('tenant_a', entry('evt_old', 1), t0);
    app.clock.advance(JOURNAL_RETENTION_SECONDS * 1000 - 1000);
    await journal.append('tenant_a', entry('evt_new', 2), app.clock.now());
    expect((await all(journal, 'tenant_a', t0)).map((e) => e.eventId)).toEqual(['evt_old', 'evt_new']);
    app.clock.advance(2000);
    expect((await all(journal, 'tenant_a', t0)).map((e) => e.eventId)).toEqual(['evt_new']);
  });
});

describe('the journal holds only the mapped changes (no PHI)', () => {
  it('a customer event with name, email, phone and address leaves none of them in the journal', async () => {
    await connectedClinic(app, 'tenant_a', 'acct_1JournalPhi', {
      customers: 1,
      subscriptions: 1,
      invoices: 1,
      oneTimePayments: 1,
    });
    await requestBackfill({ ...app.deps, clock: app.clock }, 'tenant_a', 90);
    const created = Math.floor(app.clock.now().getTime() / 1000);
    const patient = {
      id: 'cus_1JournalPhi',
      object: 'customer',
      created,
      name: 'Jane Phipatient',
      email: 'jane.phipatient@example.com',
      phone: '+15555550123',
      address: { line1: '1 Phi Street', city: 'Phiville' },
      metadata: { diagnosis: 'phi-diagnosis' },
    };
    const event = stripeEvent('customer.created', patient, {
      id: 'evt_1JournalPhi',
      account: 'acct_1JournalPhi',
      created,
    });
    expect(await deliver(event)).toEqual({ outcome: 'processed' });
    const db = createDocumentClient({ endpoint: app.dynamoEndpoint });
    const { Items } = await db.send(
      new QueryCommand({
        TableName: app.tableName,
        KeyConditionExpression: 'pk = :pk',
        ExpressionAttributeValues: { ':pk': 'JOURNAL#tenant_a' },
      }),
    );
    expect(Items?.length).toBe(1);
    expect(JSON.stringify(Items).toLowerCase()).not.toMatch(
      /phipatient|5555550123|phi street|phiville|diagnosis/,
    );
  });
});
