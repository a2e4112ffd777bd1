import { QueryCommand } from '@aws-sdk/lib-dynamodb';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createDocumentClient } from '#shared/adapters/dynamodb/document-client.ts';
import { CONNECTED_ACCOUNT_ID, current, stripeEvent } from '../../scripts/stripe-emulator/stripe-objects.ts';
import {
  createBackfillRequestHandler,
  createErasureWorker,
  createReconcileWorker,
} from '../support/as-deployed.ts';
import { bearer, beginConnect, callbackQuery, type Handlers, handlersFor } from '../support/handlers.ts';
import {
  CONNECT_WEBHOOK_SECRET,
  createTestApp,
  httpEvent,
  lambdaContext,
  type TestApp,
  tenantA,
} from '../support/harness.ts';
import { sqsEvent } from '../support/sqs-event.ts';
import { connectWithSecret, readAll, sign } from '../support/webhook-helpers.ts';

const SECRET = `whsec_${'dataErasure1'.repeat(2)}`;
const ACCOUNT = CONNECTED_ACCOUNT_ID;
const OTHER_ACCOUNT = 'acct_1SecondClinicAcct';
const DAY_MS = 86_400_000;

let app: TestApp;
let handlers: Handlers;
let token: string;

beforeEach(async () => {
  app = await createTestApp();
  handlers = handlersFor(app);
  token = await app.session(tenantA);
  await connectWithSecret(app, handlers, token, ACCOUNT, SECRET);
});
afterEach(() => app.close());

const nowSeconds = () => Math.floor(app.clock.now().getTime() / 1000);

function postConnect(event: object) {
  const body = JSON.stringify(event);
  return handlers.connectWebhook({
    headers: { 'stripe-signature': sign(body, CONNECT_WEBHOOK_SECRET) },
    body,
  });
}

async function someData(account = ACCOUNT, prefix = 'cus_Kept') {
  for (let i = 0; i < 3; i++) {
    const event = stripeEvent('customer.created', current.customer({ id: `${prefix}${i}` }), {
      account,
      created: nowSeconds() + i,
    });
    expect((await postConnect(event)).json()).toMatchObject({ outcome: 'processed' });
  }
}

const customers = () => readAll(handlers, token, 'customers');
const status = async () => (await handlers.status({ headers: bearer(token) })).json();

async function partitionSize(pk: string) {
  const db = createDocumentClient({ endpoint: app.dynamoEndpoint });
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

/** Delivers every erasure message queued so far (and their continuations) to the worker. */
async function runErasures() {
  const worker = createErasureWorker(app.depsFor('ErasureWorker'));
  let delivered = 0;
  for (;;) {
    const pending = app.queues.sent.filter((m) => m.queue === 'erasure').slice(delivered);
    if (pending.length === 0) return delivered;
    for (const message of pending) {
      const response = await worker(sqsEvent(message.job), lambdaContext);
      expect(response).toEqual({ batchItemFailures: [] });
      delivered += 1;
    }
  }
}

async function connectAccount(accountId: string) {
  const flow = await beginConnect(handlers, token);
  const callback = await handlers.callback({
    query: callbackQuery({ code: app.stripe.issueCode(accountId), state: flow.state }),
    cookies: [flow.cookie],
  });
  expect(callback.headers.location).toMatch(/connected=stripe$/);
}

describe('data after a disconnect', () => {
  it('is kept 30 days and served meanwhile; a reconnect of the same account carries on with it', async () => {
    await someData();
    const response = await handlers.disconnect({ headers: bearer(token) });
    const eraseAfter = new Date(app.clock.now().getTime() + 30 * DAY_MS).toISOString();
    expect(response.json()).toMatchObject({ disconnected: true, data: { state: 'kept', eraseAfter } });
    expect((await status()).data).toEqual({ state: 'kept', eraseAfter });
    expect(await customers()).toHaveLength(3);

    app.clock.advance(10 * DAY_MS);
    await connectAccount(ACCOUNT);
    expect((await status()).data).toEqual({ state: null, eraseAfter: null });
    expect(await customers()).toHaveLength(3);
    // The connect queued its backfill as usual (nothing to erase first).
    expect(app.queues.sent.some((m) => m.queue === 'backfill')).toBe(true);
  });

  it('is erased by the schedule once 30 days have passed: records, journal and ledger', async () => {
    await someData();
    await handlers.disconnect({ headers: bearer(token) });
    const reconcile = createReconcileWorker(app.depsFor('ReconcileWorker'));

    app.clock.advance(29 * DAY_MS);
    await reconcile(sqsEvent({ kind: 'all' }), lambdaContext);
    expect(app.queues.sent.filter((m) => m.queue === 'erasure')).toEqual([]);

    app.clock.advance(2 * DAY_MS);
    await reconcile(sqsEvent({ kind: 'all' }), lambdaContext);
    expect((await status()).data).toMatchObject({ state: 'erasing' });
    expect(await runErasures()).toBe(1);
    expect((await status()).data).toEqual({ state: 'erased', eraseAfter: null });
    expect(await customers()).toEqual([]);
    for (const pk of ['REC#tenant_a#customers', 'LEDGER#tenant_a', 'JOURNAL#tenant_a']) {
      expect(await partitionSize(pk)).toBe(0);
    }
    // The next tick finds nothing more to erase.
    await reconcile(sqsEvent({ kind: 'all' }), lambdaContext);
    expect(app.queues.sent.filter((m) => m.queue === 'erasure')).toHaveLength(1);
  });

  it('DELETE ?erase=now erases at once, and also erases data kept from an earlier disconnect', async () => {
    await someData();
    const response = await handlers.disconnect({ headers: bearer(token), query: 'erase=now' });
    expect(response.statusCode).toBe(200);
    expect(response.json()).toMatchObject({ data: { state: 'erasing', eraseAfter: null } });
    await runErasures();
    expect(await customers()).toEqual([]);
    expect((await status()).data).toMatchObject({ state: 'erased' });

    // Kept from a plain disconnect, then erased on request.
    await connectAccount(ACCOUNT);
    await someData(ACCOUNT, 'cus_Second');
    await handlers.disconnect({ headers: bearer(token) });
    const later = await handlers.disconnect({ headers: bearer(token), query: 'erase=now' });
    expect(later.json()).toMatchObject({ disconnected: true, revocation: null, data: { state: 'erasing' } });
    await runErasures();
    expect(await customers()).toEqual([]);
  });

  it('an erasure out of time checkpoints and queues its continuation, which finishes it', async () => {
    await someData();
    await handlers.disconnect({ headers: bearer(token), query: 'erase=now' });
    const worker = createErasureWorker(app.depsFor('ErasureWorker'));
    const [first] = app.queues.sent.filter((m) => m.queue === 'erasure');
    // Less time left than the margin it keeps for its hand-over: it stops before deleting.
    await worker(sqsEvent(first?.job), { ...lambdaContext, getRemainingTimeInMillis: () => 4_000 });
    expect(app.queues.sent.filter((m) => m.queue === 'erasure')).toHaveLength(2);
    expect((await status()).data).toMatchObject({ state: 'erasing' });
    expect(await customers()).toHaveLength(3);
    await runErasures();
    expect(await customers()).toEqual([]);
    expect((await status()).data).toMatchObject({ state: 'erased' });
  });

  it('refuses an unknown erase value before changing anything, and 404s when nothing is kept', async () => {
    const bad = await handlers.disconnect({ headers: bearer(token), query: 'erase=later' });
    expect(bad.statusCode).toBe(400);
    expect(bad.json()).toMatchObject({ error: 'invalid_erase' });
    expect((await status()).connected).toBe(true);
    await handlers.disconnect({ headers: bearer(token), query: 'erase=now' });
    await runErasures();
    const again = await handlers.disconnect({ headers: bearer(token), query: 'erase=now' });
    expect(again.statusCode).toBe(404);
  });
});

describe('records belong to one account', () => {
  it('connecting another account erases the previous account data first; its events wait, then its backfill starts', async () => {
    await someData();
    const backfillsBefore = app.queues.sent.filter((m) => m.queue === 'backfill').length;
    await connectAccount(OTHER_ACCOUNT);
    expect((await status()).data).toEqual({ state: 'erasing', eraseAfter: null });
    expect(app.queues.sent.filter((m) => m.queue === 'backfill')).toHaveLength(backfillsBefore);

    // The new account's events are not applied beside the old data: Stripe is asked to retry.
    const early = stripeEvent('customer.created', current.customer({ id: 'cus_NewAccount' }), {
      account: OTHER_ACCOUNT,
      created: nowSeconds() + 5,
    });
    const waiting = await postConnect(early);
    expect(waiting.statusCode).toBe(503);
    expect(waiting.headers['retry-after']).toBe('60');
    const resync = await createBackfillRequestHandler(app.depsFor('BackfillRequest'))(
      httpEvent('POST', '/api/connect/stripe/backfill', { headers: bearer(token) }),
      lambdaContext,
    );
    expect(resync.statusCode).toBe(409);
    expect(JSON.parse(resync.body ?? '{}')).toMatchObject({ error: 'previous_account_data_erasing' });

    await runErasures();
    expect((await status()).data).toEqual({ state: null, eraseAfter: null });
    expect(await customers()).toEqual([]);
    expect(app.queues.sent.filter((m) => m.queue === 'backfill')).toHaveLength(backfillsBefore + 1);
    expect((await postConnect(early)).json()).toMatchObject({ outcome: 'processed' });
    expect((await customers()).map((c) => c.id)).toEqual(['cus_NewAccount']);
  });
});
