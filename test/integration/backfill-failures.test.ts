/**
 * How a backfill fails without losing work: a run given up for good still replays the webhook
 * journal, a refund racing its invoice link still reaches the invoice, a failed checkpoint write
 * does not stop later ones, and a hanging Stripe read does not carry a slice past its deadline.
 * (Found by a hostile review; each test failed before its fix.)
 */
import { BatchWriteCommand, GetCommand } from '@aws-sdk/lib-dynamodb';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { DynamoDbRecordStore } from '#shared/adapters/dynamodb/record-store-dynamodb.ts';
import {
  DEFAULT_RATE_LIMIT,
  RateLimitedBackfillSource,
} from '#shared/adapters/stripe/rate-limited-backfill-source.ts';
import type { BackfillStatusStore } from '#shared/ports/backfill-status-store.ts';
import { BACKFILL_MAX_RECEIVES } from '../../functions/routes.ts';
import { stripeEvent } from '../../scripts/stripe-emulator/stripe-objects.ts';
import { createBackfillWorker, requestBackfill, runBackfill } from '../support/as-deployed.ts';
import { backfillDeps, connectedClinic } from '../support/backfill-helpers.ts';
import { type Handlers, handlersFor } from '../support/handlers.ts';
import { createTestApp, lambdaContext, type TestApp, tenantA } from '../support/harness.ts';
import { interceptedDocumentClient } from '../support/intercepted-dynamodb.ts';
import { sqsEvent } from '../support/sqs-event.ts';
import { deliverConnectEvent, readAll } from '../support/webhook-helpers.ts';

type Obj = Record<string, unknown>;

let app: TestApp;
let handlers: Handlers;
let token: string;

beforeEach(async () => {
  app = await createTestApp();
  handlers = handlersFor(app);
  token = await app.session(tenantA);
});
afterEach(() => app.close());

const workerContext = { ...lambdaContext, getRemainingTimeInMillis: () => 900_000 };

const deliver = (event: object) => deliverConnectEvent(app, event);
const intercepted = (hook: Parameters<typeof interceptedDocumentClient>[1]) =>
  interceptedDocumentClient(app.dynamoEndpoint, hook);

function putItems(command: unknown): Obj[] {
  if (!(command instanceof BatchWriteCommand)) return [];
  return (command.input.RequestItems?.[app.tableName] ?? []).flatMap((w) =>
    w.PutRequest?.Item ? [w.PutRequest.Item as Obj] : [],
  );
}

describe('a run given up on its last receive', () => {
  it('still replays the journal: an event its batch overwrote wins', async () => {
    const account = 'acct_1FailureDlq';
    const clinic = await connectedClinic(app, 'tenant_a', account, {
      customers: 30,
      subscriptions: 40,
      invoices: 120,
      oneTimePayments: 20,
    });
    const target = (clinic.objects.subscriptions as Obj[]).find((s) => s.status === 'active');
    if (!target) throw new Error('no active subscription in the seed');
    const runId = await requestBackfill({ ...app.deps, clock: app.clock }, 'tenant_a', 90);
    const nowSec = Math.floor(app.clock.now().getTime() / 1000);
    const event = stripeEvent(
      'customer.subscription.updated',
      { ...target, status: 'past_due' },
      { id: 'evt_1FailureDlqRace', account, created: nowSec + 5 },
    );
    const race = { delivered: false, overwritten: false, failing: false };
    const db = intercepted(async (command, send) => {
      const items = putItems(command);
      if (race.failing && items.length > 0) {
        // DynamoDB fails every later batch (past the SDK's own retries): the invocation crashes.
        throw Object.assign(new Error('Internal server error'), {
          name: 'InternalServerError',
          $metadata: {},
        });
      }
      if (race.delivered || !items.some((item) => item.sk === target.id)) return send(command);
      race.delivered = true;
      expect(await deliver(event)).toEqual({ outcome: 'processed' });
      const result = await send(command);
      const { Item } = (await send(
        new GetCommand({
          TableName: app.tableName,
          Key: { pk: 'REC#tenant_a#subscriptions', sk: target.id },
          ConsistentRead: true,
        }),
      )) as { Item?: Obj };
      race.overwritten = Item?.status === 'active';
      race.failing = true;
      return result;
    });
    const worker = createBackfillWorker({
      ...app.depsFor('BackfillWorker'),
      records: new DynamoDbRecordStore(db, app.tableName),
      backfillSource: backfillDeps(app).source,
    });
    // The last receive before the DLQ.
    await expect(
      worker(
        sqsEvent({ tenantId: 'tenant_a', days: 90, runId }, 'm-dlq', BACKFILL_MAX_RECEIVES),
        workerContext,
      ),
    ).rejects.toThrow(/All records failed/);
    expect(race).toMatchObject({ delivered: true, overwritten: true });
    expect(await app.deps.backfillStatus.get('tenant_a')).toMatchObject({ status: 'failed' });
    // The run is over for good (status failed, message in the DLQ): its give-up replayed the
    // journal, so the event (5 s newer than the snapshot) is not lost.
    const subscriptions = await readAll(handlers, token, 'subscriptions');
    expect(subscriptions.find((s) => s.id === target.id)).toMatchObject({ status: 'past_due' });
  });
});

describe('a refund of an invoice payment beside its link, two pages of one lane in flight', () => {
  const REFUNDED = 1234;

  async function scenario(forceInterleaving: boolean) {
    let invoiceId = '';
    let intentId = '';
    const small = { customers: 20, subscriptions: 20, invoices: 40, oneTimePayments: 10 };
    await connectedClinic(app, 'tenant_a', 'acct_1FailureRefund', small, {
      days: 60,
      edit: (objects) => {
        const paid = (objects.invoices as Obj[]).filter((i) => i.status === 'paid');
        const invoice = paid[0];
        if (!invoice) throw new Error('no paid invoice');
        invoiceId = invoice.id as string;
        const payment = (objects.invoicePayments as Obj[]).find((p) => p.invoice === invoiceId);
        if (!payment) throw new Error('no invoice payment');
        intentId = (payment.payment as { payment_intent: string }).payment_intent;
        const charge = (objects.charges as Obj[]).find((c) => c.payment_intent === intentId);
        if (!charge) throw new Error('no charge');
        charge.amount_refunded = REFUNDED;
        expect((objects.invoicePayments as Obj[]).length).toBeLessThan(100);
        expect((objects.paymentIntents as Obj[]).length).toBeLessThan(100);
      },
    });
    const runId = await requestBackfill({ ...app.deps, clock: app.clock }, 'tenant_a', 90);
    const race = { linkHeld: false, lookupBeforeLink: false };
    let lookedUp: () => void = () => undefined;
    const lookup = new Promise<void>((resolve) => {
      lookedUp = resolve;
    });
    const db = intercepted(async (command, send) => {
      if (
        command instanceof GetCommand &&
        command.input.Key?.sk === intentId &&
        command.input.ProjectionExpression === 'supersededBy'
      ) {
        const result = await send(command);
        if (!race.linkHeld) return result;
        race.lookupBeforeLink = !(result as { Item?: Obj }).Item?.supersededBy;
        lookedUp();
        return result;
      }
      const tombstone = putItems(command).some((item) => item.sk === intentId && item.supersededBy);
      if (forceInterleaving && tombstone && !race.linkHeld) {
        // The link batch's write is merely slower than the next page's refund lookup.
        race.linkHeld = true;
        await Promise.race([lookup, new Promise((resolve) => setTimeout(resolve, 3000))]);
      }
      return send(command);
    });
    const deps = { ...backfillDeps(app), records: new DynamoDbRecordStore(db, app.tableName) };
    const outcome = await runBackfill(deps, {
      tenantId: 'tenant_a',
      runId,
      deadline: app.clock.now().getTime() + 15 * 60_000,
    });
    expect(outcome.outcome).toBe('succeeded');
    const orders = await readAll(handlers, token, 'orders');
    return {
      race,
      invoice: orders.find((o) => o.id === invoiceId),
      intent: orders.find((o) => o.id === intentId),
    };
  }

  it('control: when the link lands first, the refund goes to the invoice order', async () => {
    const { invoice, intent } = await scenario(false);
    expect(intent).toBeUndefined();
    expect(invoice).toMatchObject({ kind: 'invoice', amountRefunded: REFUNDED });
  });

  it('while the link batch is still being written, the refund goes to the invoice (the run knows the link)', async () => {
    const { race, invoice, intent } = await scenario(true);
    expect(race.linkHeld).toBe(true);
    expect(intent).toBeUndefined();
    expect(invoice).toMatchObject({ kind: 'invoice', amountRefunded: REFUNDED });
  });

  it('a refund whose link lands between its lookup and its write follows the link (the store, for webhooks too)', async () => {
    const invoiceId = 'in_1RaceInvoice';
    const intentId = 'pi_1RaceIntent';
    const plain = app.deps.records;
    let linked = false;
    const db = intercepted(async (command, send) => {
      const result = await send(command);
      const lookup =
        command instanceof GetCommand &&
        command.input.Key?.sk === intentId &&
        command.input.ProjectionExpression === 'supersededBy';
      if (lookup && !linked) {
        // The link (another delivery) lands right after this lookup found nothing.
        linked = true;
        expect((result as { Item?: Obj }).Item?.supersededBy).toBeUndefined();
        await plain.apply(
          'tenant_a',
          { kind: 'payment_link', paymentIntentId: intentId, invoiceId },
          {
            created: 100,
            rank: 2,
            eventId: 'evt_link',
          },
        );
      }
      return result;
    });
    const racing = new DynamoDbRecordStore(db, app.tableName);
    await racing.apply(
      'tenant_a',
      {
        kind: 'refund',
        invoiceId: null,
        paymentIntentId: intentId,
        amountRefunded: REFUNDED,
        invoiceKnown: false,
      },
      { created: 101, rank: 2, eventId: 'evt_refund' },
    );
    expect(linked).toBe(true);
    const { Item: invoice } = (await db.send(
      new GetCommand({
        TableName: app.tableName,
        Key: { pk: 'REC#tenant_a#orders', sk: invoiceId },
        ConsistentRead: true,
      }),
    )) as { Item?: Obj };
    const { Item: tombstone } = (await db.send(
      new GetCommand({
        TableName: app.tableName,
        Key: { pk: 'REC#tenant_a#orders', sk: intentId },
        ConsistentRead: true,
      }),
    )) as { Item?: Obj };
    expect(invoice).toMatchObject({ amountRefunded: REFUNDED });
    expect(tombstone?.amountRefunded).toBeUndefined();
  });
});

describe('checkpoints', () => {
  it('one failed checkpoint write neither cancels the later ones nor fails the run', async () => {
    await connectedClinic(app, 'tenant_a', 'acct_1FailureCheckpoint', {
      customers: 30,
      subscriptions: 40,
      invoices: 300,
      oneTimePayments: 20,
    });
    const runId = await requestBackfill({ ...app.deps, clock: app.clock }, 'tenant_a', 90);
    const real = app.deps.backfillStatus;
    let calls = 0;
    const flaky: BackfillStatusStore = {
      get: (...a) => real.get(...a),
      requestRun: (...a) => real.requestRun(...a),
      begin: (...a) => real.begin(...a),
      isCurrent: (...a) => real.isCurrent(...a),
      advancePendingReplay: (...a) => real.advancePendingReplay(...a),
      release: (...a) => real.release(...a),
      finish: (...a) => real.finish(...a),
      delete: (...a) => real.delete(...a),
      async checkpoint(...a) {
        calls += 1;
        if (calls === 1) {
          throw Object.assign(new Error('throttled'), { name: 'ThrottlingException', $metadata: {} });
        }
        return real.checkpoint(...a);
      },
    };
    let pages = 0;
    const run = runBackfill(
      { ...backfillDeps(app), backfillStatus: flaky },
      {
        tenantId: 'tenant_a',
        runId,
        deadline: app.clock.now().getTime() + 15 * 60_000,
        // Each page takes over a second: a checkpoint is due after every one.
        onProgress: () => {
          pages += 1;
          app.clock.advance(1100);
        },
      },
    );
    const outcome = await run.catch((error: unknown) => ({ outcome: 'threw', error }));
    expect(pages).toBeGreaterThan(5);
    // Checkpoints after the failed one were due on every page, and written.
    expect(calls).toBeGreaterThan(1);
    expect(outcome).toMatchObject({ outcome: 'succeeded' });
    expect((await real.get('tenant_a'))?.progress).not.toBeNull();
    expect(app.log.messages()).toContain('backfill_checkpoint_failed');
  });
});

describe('the safety margin and reads in flight', () => {
  it('a slice hands over before its deadline even when Stripe times out (each attempt 20 s, as LazyBackfillSource allows)', async () => {
    await connectedClinic(app, 'tenant_a', 'acct_1FailureDeadline', {
      customers: 10,
      subscriptions: 10,
      invoices: 10,
      oneTimePayments: 5,
    });
    const runId = await requestBackfill({ ...app.deps, clock: app.clock }, 'tenant_a', 90);
    let calls = 0;
    // Stripe hangs: every attempt runs into the client's 20 s timeout (a network error, retried).
    const hanging = {
      async listPage() {
        calls += 1;
        app.clock.advance(20_000);
        throw Object.assign(new Error('Request timed out'), { type: 'StripeConnectionError' });
      },
    };
    const source = new RateLimitedBackfillSource(hanging, {
      ...DEFAULT_RATE_LIMIT,
      now: () => app.clock.now().getTime(),
      sleep: async (ms) => app.clock.advance(ms),
      random: () => 0.5,
    });
    // 61 s before the deadline: just enough for the lanes to start reading.
    const deadline = app.clock.now().getTime() + 61_000;
    const outcome = await runBackfill(
      { ...backfillDeps(app), source },
      { tenantId: 'tenant_a', runId, deadline },
    );
    expect(calls).toBeGreaterThan(0);
    expect(outcome.outcome).toBe('continue');
    // Retries give up when the slice's time runs out, so it flushes, releases and hands over
    // before Lambda would kill it at the deadline.
    expect(app.clock.now().getTime()).toBeLessThanOrEqual(deadline);
  });
});
