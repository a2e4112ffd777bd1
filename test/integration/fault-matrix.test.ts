/**
 * The fault matrix: every step of the connector (connect, both webhook endpoints, the catch-up
 * sweep, the backfill, the erasure) against every fault of the services it calls (DynamoDB
 * throttling and 5xx, a Secrets Manager outage, Stripe 429 / 500 / timeout), one row each.
 *
 * Every row asserts the same three things:
 *   1. the step ends in a retry: the HTTP handler answers a retryable status (5xx, or 409/503
 *      with Retry-After), or the SQS worker fails the message (SQS redelivers it) or queues its
 *      continuation; the OAuth callback, which cannot be retried (its code is spent), answers
 *      `error=stripe_exchange_failed` and the tenant connects again;
 *   2. nothing partial is left that would make the retry a duplicate or a loss: no ledger entry
 *      marked done for an event that was not applied, no half connection (no claim, no token,
 *      no row), no cursor moved, no run or erasure reported done;
 *   3. with the fault removed, the same delivery / message (or the tenant's new attempt) succeeds
 *      and the records equal those of a run that met no fault (each event counted once).
 *
 * DynamoDB faults fail every attempt of the SDK's own retries (inside its retry loop, see
 * test/support/fault-injection.ts), so what the application sees is a fault that outlasted them.
 */
import { QueryCommand } from '@aws-sdk/lib-dynamodb';
import type { SQSBatchResponse } from 'aws-lambda';
import { afterEach, describe, expect, inject, it, vi } from 'vitest';
import { createDocumentClient } from '#shared/adapters/dynamodb/document-client.ts';
import type { RevocationJob } from '#shared/ports/job-queues.ts';
import type { Fault as StripeFault, StripeObject } from '../../scripts/stripe-emulator/fake-stripe-server.ts';
import {
  CONNECTED_ACCOUNT_ID,
  current,
  stripeEvent,
  T0,
} from '../../scripts/stripe-emulator/stripe-objects.ts';
import {
  createBackfillWorker,
  createErasureWorker,
  createReconcileWorker,
  createRevocationWorker,
  requestBackfill,
} from '../support/as-deployed.ts';
import { backfillDeps, connectedClinic, FAST_RETRIES } from '../support/backfill-helpers.ts';
import {
  DynamoDbFaults,
  dynamoInternalServerError,
  type KeyMatch,
  provisionedThroughputExceeded,
  SecretsManagerFaults,
  secretsInternalServiceError,
  secretsServiceUnavailable,
  throttlingException,
} from '../support/fault-injection.ts';
import {
  bearer,
  beginConnect,
  type CalledResponse,
  callbackQuery,
  type Handlers,
  handlersFor,
} from '../support/handlers.ts';
import {
  CONNECT_WEBHOOK_SECRET,
  createTestApp,
  lambdaContext,
  type TestApp,
  tenantA,
} from '../support/harness.ts';
import { sqsEvent } from '../support/sqs-event.ts';
import { connectWithSecret, readAll, sign } from '../support/webhook-helpers.ts';

const TENANT = 'tenant_a';
const SLUG = 'clinic-a';
const ACCOUNT = CONNECTED_ACCOUNT_ID;
const SECRET = `whsec_${'faultMatrix0'.repeat(2)}`;
/** The SQS visibility/Lambda context of the workers: the sweep's, just above its hand-over margin. */
const SWEEP_CONTEXT = { ...lambdaContext, getRemainingTimeInMillis: () => 16_000 };
const BACKFILL_CONTEXT = { ...lambdaContext, getRemainingTimeInMillis: () => 900_000 };
const ERASURE_CONTEXT = lambdaContext;
/** Powertools' lease on an event lasts the invocation's remaining time (lambdaContext: 10 s). */
const LEASE_MS = lambdaContext.getRemainingTimeInMillis();
/** `handOverTime` of run-backfill.ts: half the 60 s safety margin before the deadline. */
const BACKFILL_HAND_OVER_MS = 900_000 - 30_000;
/** The eraser keeps 5 s before the invocation's end (DEFAULT_ERASER_PACING.marginMs). */
const ERASER_DEADLINE_MS = 10_000 - 5_000;
/** infra/queues.ts: a backfill message's visibility timeout, 6 × the worker's 15 minutes. */
const BACKFILL_VISIBILITY_MS = 6 * 15 * 60_000;
const CLINIC = { customers: 30, subscriptions: 40, invoices: 150, oneTimePayments: 20 };

const secretNames = () => {
  const { parameters } = inject('iamPolicies');
  return {
    platformKey: parameters.StripeSecretKeySecretName ?? '',
    connectWebhook: parameters.ConnectWebhookSecretName ?? '',
  };
};

/** The one event the webhook rows deliver (on the tenant's own endpoint and the Connect one). */
const WEBHOOK_EVENT = stripeEvent('customer.subscription.created', current.subscription(), {
  id: 'evt_1FaultMatrixWebhook',
  account: ACCOUNT,
  created: T0,
});

// ---------------------------------------------------------------------------------------------
// The world of one row: a fresh app, its fault injectors, a tenant session.

interface World {
  readonly app: TestApp;
  readonly handlers: Handlers;
  readonly token: string;
  readonly dynamo: DynamoDbFaults;
  readonly secrets: SecretsManagerFaults;
}

const opened: TestApp[] = [];
afterEach(async () => {
  vi.restoreAllMocks();
  await Promise.all(opened.splice(0).map((app) => app.close()));
});

async function world(): Promise<World> {
  const app = await createTestApp();
  opened.push(app);
  const w = {
    app,
    handlers: handlersFor(app),
    token: await app.session(tenantA),
    dynamo: await DynamoDbFaults.on(app.dynamoDb),
    secrets: new SecretsManagerFaults(app.secretsManager),
  };
  // The fake's Events API keeps 30 days before its own clock: the tests' clock.
  app.stripe.now = () => Math.floor(app.clock.now().getTime() / 1000);
  return w;
}

/** A world whose tenant connected through OAuth and configured its endpoint's secret. */
async function connectedWorld(): Promise<World> {
  const w = await world();
  await connectWithSecret(w.app, w.handlers, w.token, ACCOUNT, SECRET);
  return w;
}

// ---------------------------------------------------------------------------------------------
// Faults. Each returns what removes it ("the fault is over") and how often it fired.

interface Injected {
  readonly hits: () => number;
  /** The SDK attempts one logical call makes before the application sees the error. */
  readonly perCall: number;
  remove(): void;
}

type Arm = (w: World) => Injected | Promise<Injected>;

interface FaultKind {
  readonly label: string;
  readonly arm: (target: Target) => Arm;
}

/** What a fault aims at: one DynamoDB operation on a key prefix, a secret, or a Stripe path. */
type Target =
  | {
      readonly service: 'dynamodb';
      readonly operation: string;
      readonly key: KeyMatch;
      readonly after?: number;
      /** Time passes while throttled: moves the test clock on each hit (see the rows). */
      readonly onHit?: (w: World) => void;
    }
  | {
      readonly service: 'secrets';
      readonly operations: readonly string[];
      readonly secret: (name: string, names: ReturnType<typeof secretNames>) => boolean;
      /** Calls failed before the outage ends (default: every call until the fault is removed). */
      readonly times?: number;
    }
  | { readonly service: 'stripe'; readonly path: string; readonly count: number };

const dynamoFault =
  (error: () => Error): FaultKind['arm'] =>
  (target) =>
  async (w) => {
    if (target.service !== 'dynamodb') throw new Error('not a DynamoDB target');
    const fault = w.dynamo.inject({
      operation: target.operation,
      key: target.key,
      error,
      ...(target.after !== undefined ? { after: target.after } : {}),
      ...(target.onHit ? { onHit: () => target.onHit?.(w) } : {}),
    });
    return {
      hits: () => fault.hits,
      perCall: await w.app.dynamoDb.config.maxAttempts(),
      remove: fault.remove,
    };
  };

const secretsFault =
  (error: () => Error): FaultKind['arm'] =>
  (target) =>
  (w) => {
    if (target.service !== 'secrets') throw new Error('not a Secrets Manager target');
    const names = secretNames();
    const fault = w.secrets.inject({
      operations: target.operations,
      secret: (name) => target.secret(name, names),
      error,
      ...(target.times !== undefined ? { times: target.times } : {}),
    });
    return { hits: () => fault.hits, perCall: 1, remove: fault.remove };
  };

const stripeFault =
  (fault: StripeFault): FaultKind['arm'] =>
  (target) =>
  (w) => {
    if (target.service !== 'stripe') throw new Error('not a Stripe target');
    const before = w.app.stripe.stats().faults;
    w.app.stripe.injectFault(target.path, ...Array.from({ length: target.count }, () => fault));
    return {
      hits: () => w.app.stripe.stats().faults - before,
      perCall: 1,
      remove: () => w.app.stripe.clearFaults(),
    };
  };

const DYNAMO_THROTTLING: FaultKind = {
  label: 'DynamoDB throttling (ProvisionedThroughputExceededException)',
  arm: dynamoFault(provisionedThroughputExceeded),
};
const DYNAMO_THROTTLING_ON_DEMAND: FaultKind = {
  label: 'DynamoDB throttling (ThrottlingException)',
  arm: dynamoFault(throttlingException),
};
const DYNAMO_5XX: FaultKind = {
  label: 'DynamoDB 5xx (InternalServerError)',
  arm: dynamoFault(dynamoInternalServerError),
};
const SECRETS_500: FaultKind = {
  label: 'Secrets Manager outage (InternalServiceError)',
  arm: secretsFault(secretsInternalServiceError),
};
const SECRETS_503: FaultKind = {
  label: 'Secrets Manager outage (ServiceUnavailable)',
  arm: secretsFault(secretsServiceUnavailable),
};
const STRIPE_429: FaultKind = { label: 'Stripe 429', arm: stripeFault({ status: 429 }) };
const STRIPE_500: FaultKind = { label: 'Stripe 500', arm: stripeFault({ status: 500 }) };
/** Answers only after the OAuth exchange's 4 s client timeout. */
const STRIPE_TIMEOUT_EXCHANGE: FaultKind = {
  label: 'Stripe timeout (no answer within the 4 s client timeout)',
  arm: stripeFault({ delayMs: 4_500 }),
};
/**
 * The workers' Stripe clients wait 20 s before timing out: a connection cut without an answer is
 * the same failure (StripeConnectionError, no answer) without the wait.
 */
const STRIPE_NO_ANSWER: FaultKind = {
  label: 'Stripe timeout (connection dropped, no answer)',
  arm: stripeFault({ drop: true }),
};

// ---------------------------------------------------------------------------------------------
// Reading back what a run left: the snapshot compared with a run that met no fault.

const plainDb = (app: TestApp) => createDocumentClient({ endpoint: app.dynamoEndpoint });

async function partition(app: TestApp, pk: string): Promise<Record<string, unknown>[]> {
  const db = plainDb(app);
  const items: Record<string, unknown>[] = [];
  let startKey: Record<string, unknown> | undefined;
  do {
    const page = await db.send(
      new QueryCommand({
        TableName: app.tableName,
        KeyConditionExpression: 'pk = :pk',
        ExpressionAttributeValues: { ':pk': pk },
        ConsistentRead: true,
        ExclusiveStartKey: startKey,
      }),
    );
    items.push(...(page.Items ?? []));
    startKey = page.LastEvaluatedKey;
  } while (startKey);
  db.destroy();
  return items;
}

/** The ledger of a scope: one entry per event, its state and what it recorded (less arrival time). */
async function ledger(app: TestApp, scope = TENANT) {
  const items = await partition(app, `LEDGER#${scope}`);
  return items
    .map((item) => {
      const data = typeof item.data === 'string' ? (JSON.parse(item.data) as Record<string, unknown>) : {};
      const { received: _received, ...entry } = data;
      return { key: item.sk, status: item.status, ...entry };
    })
    .sort((a, b) => String(a.key).localeCompare(String(b.key)));
}

/** The tenant's records as stored (every attribute), a run id replaced by a placeholder. */
async function storedRecords(app: TestApp, options: { backfill?: boolean } = {}) {
  const out: Record<string, unknown[]> = {};
  for (const collection of ['customers', 'subscriptions', 'orders']) {
    const items = await partition(app, `REC#${TENANT}#${collection}`);
    out[collection] = items
      .map((item) => {
        const copy: Record<string, unknown> = { ...item };
        if (options.backfill) {
          // The run's id is random; a snapshot's version is the second its page was fetched.
          for (const field of ['createdBy', 'backfillRun']) {
            if (typeof copy[field] === 'string' && copy[field] !== 'webhook') copy[field] = '<run>';
          }
          delete copy.eventCreated;
          delete copy.refundCreated;
          // So is the version of each credit note's and dispute's entry.
          for (const [field, value] of Object.entries(copy)) {
            if (/^(credit|dispute)#/.test(field) && value && typeof value === 'object') {
              const { order: _order, ...entry } = value as Record<string, unknown>;
              copy[field] = entry;
            }
          }
        }
        return copy;
      })
      .sort((a, b) => String(a.sk).localeCompare(String(b.sk)));
  }
  return out;
}

/** What the read API serves: the dashboards' view of the records. */
async function served(w: World) {
  return {
    customers: await readAll(w.handlers, w.token, 'customers'),
    subscriptions: await readAll(w.handlers, w.token, 'subscriptions'),
    orders: await readAll(w.handlers, w.token, 'orders'),
  };
}

async function status(w: World) {
  const response = await w.handlers.status({ headers: bearer(w.token) });
  expect(response.statusCode).toBe(200);
  return response.json<Record<string, unknown> & { backfill: Record<string, unknown> }>();
}

const sent = (w: World, queue: string) => w.app.queues.sent.filter((m) => m.queue === queue);

// ---------------------------------------------------------------------------------------------
// Assertions shared by the rows.

/** 5xx, or 409/503 with Retry-After (http-errors.ts): Stripe (or a browser) comes back. */
function expectRetryable(response: CalledResponse) {
  const retryLater =
    [409, 503].includes(response.statusCode) && response.headers['retry-after'] !== undefined;
  expect(
    response.statusCode >= 500 || retryLater,
    `answered ${response.statusCode} ${response.body}: not a retryable status`,
  ).toBe(true);
  // The error contract: JSON, and never a success body.
  expect(response.json()).toMatchObject({ error: expect.any(String) });
  expect(response.json().received).toBeUndefined();
}

/** The fault fired, and every time it did, for all the attempts the SDK makes of one call. */
function expectFired(fault: Injected) {
  expect(fault.hits()).toBeGreaterThanOrEqual(fault.perCall);
}

/** SQS marks the message failed (and redelivers it): the worker threw, or named it in the batch. */
async function expectMessageFailed(run: Promise<unknown>) {
  const outcome = await run.then(
    (response) => response as SQSBatchResponse,
    (error: unknown) => error as Error,
  );
  if (outcome instanceof Error) {
    expect(outcome.message).toMatch(/failed processing/);
  } else {
    expect(outcome.batchItemFailures).toHaveLength(1);
  }
}

/** Runs `call` at a time past the first attempt's lease (Powertools compares with Date.now). */
async function afterLeaseExpired<T>(call: () => Promise<T>): Promise<T> {
  const realNow = Date.now.bind(Date);
  const spy = vi.spyOn(Date, 'now').mockImplementation(() => realNow() + LEASE_MS + 1_000);
  try {
    return await call();
  } finally {
    spy.mockRestore();
  }
}

/** The snapshot of a run that met no fault, computed once per step. */
const baselines = new Map<string, Promise<unknown>>();
function baseline<T>(name: string, run: () => Promise<T>): Promise<T> {
  let found = baselines.get(name);
  if (!found) {
    found = run();
    baselines.set(name, found);
  }
  return found as Promise<T>;
}

// ---------------------------------------------------------------------------------------------
// Step: connect (the OAuth callback).

async function connectSnapshot(w: World) {
  const s = await status(w);
  const token = await w.app.deps.tokens.get(TENANT);
  return {
    connected: s.connected,
    stripeAccountId: s.stripeAccountId,
    livemode: s.livemode,
    connectedAt: s.connectedAt,
    webhookSecretConfigured: s.webhookSecretConfigured,
    backfill: s.backfill?.status ?? null,
    data: s.data,
    tokenFor: token?.stripe_user_id ?? null,
    claimHeldBy: (await w.app.deps.integrations.accountHolder(ACCOUNT)) ?? null,
    tenantData: (await w.app.deps.tenantData.get(TENANT)) ?? null,
    backfillsQueued: sent(w, 'backfill').length,
    stripeConnected: w.app.stripe.isConnected(ACCOUNT),
  };
}

async function callback(w: World, flow: { state: string; cookie: string }, code: string) {
  return w.handlers.callback({ query: callbackQuery({ code, state: flow.state }), cookies: [flow.cookie] });
}

async function connectOnce(w: World) {
  const flow = await beginConnect(w.handlers, w.token);
  return { flow, code: w.app.stripe.issueCode(ACCOUNT) };
}

const connectBaseline = () =>
  baseline('connect', async () => {
    const w = await world();
    const { flow, code } = await connectOnce(w);
    const answer = await callback(w, flow, code);
    expect(answer.headers.location).toMatch(/connected=stripe$/);
    return connectSnapshot(w);
  });

/** Every revocation the failed attempt queued, delivered now: none may undo the new connection. */
async function drainRevocations(w: World) {
  const worker = createRevocationWorker(w.app.depsFor('RevocationWorker'));
  for (const message of sent(w, 'revocation')) {
    expect(await worker(sqsEvent(message.job), lambdaContext)).toEqual({ batchItemFailures: [] });
  }
}

interface ConnectRowOptions {
  /**
   * `redirect` when the fault struck once the state was used up (the tenant starts again: a new
   * state, a new code), `retryable` when it struck before (the same callback URL, reloaded,
   * completes the connect).
   */
  readonly end: 'redirect' | 'retryable';
  /** Stripe granted access before the fault: its revocation must be queued (README "Disconnect and revocation retries"). */
  readonly granted: boolean;
  /**
   * The token was saved before the fault struck and stays in Secrets Manager (the revocation of
   * its grant is queued; the tenant's next connect overwrites it). See the report.
   */
  readonly tokenLeft?: boolean;
}

async function connectRow(arm: Arm, options: ConnectRowOptions) {
  const expected = await connectBaseline();
  const w = await world();
  const fault = await arm(w);
  const first = await connectOnce(w);
  const failed = await callback(w, first.flow, first.code);
  expectFired(fault);
  if (options.end === 'redirect') {
    expect(failed.statusCode).toBe(302);
    expect(failed.headers.location).toMatch(/\/settings\/integrations\?error=stripe_exchange_failed$/);
  } else {
    expectRetryable(failed);
  }
  // No half connection: no row, no claim on the account, no backfill, no stored token.
  expect(await w.app.deps.integrations.getByTenant(TENANT)).toBeUndefined();
  expect(await w.app.deps.integrations.accountHolder(ACCOUNT)).toBeUndefined();
  expect(sent(w, 'backfill')).toEqual([]);
  expect((await status(w)).connected).toBe(false);
  const token = await w.app.deps.tokens.get(TENANT);
  if (options.tokenLeft) {
    expect(token?.stripe_user_id).toBe(ACCOUNT);
  } else {
    expect(token).toBeUndefined();
  }
  // Access Stripe granted is on its way to revocation; none is queued when it granted nothing.
  expect(sent(w, 'revocation').map((m) => (m.job as RevocationJob).stripeAccountId)).toEqual(
    options.granted ? [ACCOUNT] : [],
  );

  fault.remove();
  const retried =
    options.end === 'redirect'
      ? await (async () => {
          const again = await connectOnce(w);
          return callback(w, again.flow, again.code);
        })()
      : await callback(w, first.flow, first.code);
  expect(retried.headers.location).toMatch(/connected=stripe$/);
  // The revocation the failed attempt queued runs after the tenant connected again (the tenant
  // was quicker than the queue): it must not cut the new connection off.
  await drainRevocations(w);
  expect(w.app.stripe.requestsTo('/oauth/deauthorize')).toEqual([]);
  expect(await connectSnapshot(w)).toEqual(expected);
}

// ---------------------------------------------------------------------------------------------
// Step: webhooks (the tenant's own endpoint and the platform's Connect endpoint).

type Endpoint = 'tenant' | 'connect';

function deliver(w: World, endpoint: Endpoint, event: StripeObject = WEBHOOK_EVENT) {
  const body = JSON.stringify(event);
  if (endpoint === 'tenant') {
    return w.handlers.tenantWebhook(SLUG, {
      headers: { 'stripe-signature': sign(body, SECRET), 'content-type': 'application/json' },
      body,
    });
  }
  return w.handlers.connectWebhook({
    headers: { 'stripe-signature': sign(body, CONNECT_WEBHOOK_SECRET) },
    body,
  });
}

async function webhookSnapshot(w: World) {
  return {
    records: await storedRecords(w.app),
    served: await served(w),
    ledger: await ledger(w.app),
    journal: (await partition(w.app, `JOURNAL#${TENANT}`)).length,
  };
}

const webhookBaseline = (endpoint: Endpoint) =>
  baseline(`webhook-${endpoint}`, async () => {
    const w = await connectedWorld();
    const response = await deliver(w, endpoint);
    expect(response.json()).toEqual({ received: true, outcome: 'processed' });
    return webhookSnapshot(w);
  });

/**
 * `leaseLeft`: the fault struck after the event was applied, on the write that marks it done, so
 * the event's lease stays until the first delivery's deadline: a retry before then is told to
 * come back (409 + Retry-After), one after it applies the event again (the same version: no
 * change) and completes it.
 */
async function webhookRow(endpoint: Endpoint, arm: Arm, options: { leaseLeft?: boolean } = {}) {
  const expected = await webhookBaseline(endpoint);
  const w = await connectedWorld();
  const fault = await arm(w);
  const failed = await deliver(w, endpoint);
  expectFired(fault);
  expectRetryable(failed);
  const left = await ledger(w.app);
  // Nothing marks the event done: the retry will apply it.
  expect(left.filter((entry) => entry.status !== 'INPROGRESS')).toEqual([]);
  if (options.leaseLeft) {
    expect(left).toEqual([expect.objectContaining({ status: 'INPROGRESS' })]);
  } else {
    // The lease (if one was taken) was released, and no record was written.
    expect(left).toEqual([]);
    expect(await served(w)).toEqual({ customers: [], subscriptions: [], orders: [] });
  }

  fault.remove();
  let retried = await deliver(w, endpoint);
  if (options.leaseLeft) {
    expect(retried.statusCode).toBe(409);
    expect(retried.headers['retry-after']).toBe('10');
    retried = await afterLeaseExpired(() => deliver(w, endpoint));
  }
  expect(retried.statusCode).toBe(200);
  expect(retried.json()).toEqual({ received: true, outcome: 'processed' });
  // Counted once: a further delivery is a duplicate.
  expect((await deliver(w, endpoint)).json()).toEqual({ received: true, outcome: 'duplicate' });
  expect(await webhookSnapshot(w)).toEqual(expected);
}

// ---------------------------------------------------------------------------------------------
// Step: the catch-up sweep (Events API).

/** What Stripe did while no webhook reached Compass (ids fixed: every app records the same). */
function missedEvents(w: World): StripeObject[] {
  const at = (offset: number) => Math.floor(w.app.clock.now().getTime() / 1000) + offset;
  return [
    stripeEvent('customer.created', current.customer(), {
      id: 'evt_1FaultMatrixSweep1',
      account: ACCOUNT,
      created: at(10),
    }),
    stripeEvent('customer.subscription.created', current.subscription({ status: 'active' }), {
      id: 'evt_1FaultMatrixSweep2',
      account: ACCOUNT,
      created: at(20),
    }),
    stripeEvent(
      'customer.subscription.updated',
      current.subscription({ status: 'past_due', cancel_at_period_end: true }),
      { id: 'evt_1FaultMatrixSweep3', account: ACCOUNT, created: at(30) },
    ),
    stripeEvent('invoice.paid', current.invoice(), {
      id: 'evt_1FaultMatrixSweep4',
      account: ACCOUNT,
      created: at(40),
    }),
  ];
}

const SWEEP_JOB = { kind: 'tenant', tenantId: TENANT };

function sweep(w: World, receiveCount = 1) {
  const worker = createReconcileWorker(w.app.depsFor('ReconcileWorker'));
  return worker(sqsEvent(SWEEP_JOB, 'm-sweep', receiveCount), SWEEP_CONTEXT);
}

async function sweepSnapshot(w: World) {
  const s = await status(w);
  return {
    records: await storedRecords(w.app),
    ledger: await ledger(w.app),
    lastRunAt: (s.reconcile as { lastRunAt: unknown }).lastRunAt,
    cursor: (await w.app.deps.tenantData.get(TENANT))?.sweep?.createdAfter ?? null,
  };
}

const sweepBaseline = () =>
  baseline('sweep', async () => {
    const w = await connectedWorld();
    w.app.stripe.recordEvent(...missedEvents(w));
    expect(await sweep(w)).toEqual({ batchItemFailures: [] });
    return sweepSnapshot(w);
  });

async function sweepRow(arm: Arm) {
  const expected = await sweepBaseline();
  const w = await connectedWorld();
  w.app.stripe.recordEvent(...missedEvents(w));
  const cursorBefore = (await w.app.deps.tenantData.get(TENANT))?.sweep;
  const fault = await arm(w);
  await expectMessageFailed(sweep(w));
  expectFired(fault);
  // The cursor did not move and no lease is left: the redelivery reads the same events again.
  expect((await status(w)).reconcile).toMatchObject({ lastRunAt: null });
  expect((await w.app.deps.tenantData.get(TENANT))?.sweep).toEqual(cursorBefore);
  const left = await ledger(w.app);
  expect(left.filter((entry) => entry.status !== 'COMPLETED')).toEqual([]);
  // What the ledger says is done is in the records (the snapshot of a clean run holds it too).
  for (const entry of left) expect(expected.ledger).toContainEqual(entry);

  fault.remove();
  expect(await sweep(w, 2)).toEqual({ batchItemFailures: [] });
  expect(await sweepSnapshot(w)).toEqual(expected);
}

// ---------------------------------------------------------------------------------------------
// Step: the backfill (Stripe list pages, DynamoDB batch writes).

const BACKFILL_ACCOUNT = 'acct_1FaultMatrixClinic';

async function backfillWorld() {
  const w = await world();
  const clinic = await connectedClinic(w.app, TENANT, BACKFILL_ACCOUNT, CLINIC);
  const runId = await requestBackfill({ ...w.app.deps, clock: w.app.clock }, TENANT, 90);
  const job = { tenantId: TENANT, days: 90, runId };
  return { w, clinic, job };
}

/**
 * The worker as deployed, but reading Stripe through the tests' fast retries (6 attempts, ms
 * back-offs) instead of the deployed pacing (8 attempts, seconds), unless `deployedSource`.
 */
function backfillWorker(w: World, deployedSource = false) {
  const deps = w.app.depsFor('BackfillWorker');
  return createBackfillWorker(
    deployedSource ? deps : { ...deps, backfillSource: backfillDeps(w.app).source },
  );
}

async function backfillSnapshot(w: World) {
  const s = await status(w);
  return {
    backfill: { status: s.backfill.status, error: s.backfill.error, result: s.backfill.result },
    records: await storedRecords(w.app, { backfill: true }),
    served: await served(w),
  };
}

const backfillBaseline = () =>
  baseline('backfill', async () => {
    const { w, clinic, job } = await backfillWorld();
    expect(await backfillWorker(w)(sqsEvent(job), BACKFILL_CONTEXT)).toEqual({ batchItemFailures: [] });
    const snapshot = await backfillSnapshot(w);
    expect(snapshot.backfill).toMatchObject({
      status: 'succeeded',
      result: {
        customersUpserted: clinic.expected.customersUpserted,
        subscriptionsCreated: clinic.expected.subscriptionsCreated,
        ordersCreated: clinic.expected.ordersCreated,
      },
    });
    return snapshot;
  });

/**
 * How the retry comes: `redelivery` (the worker failed the message; SQS delivers it again, its
 * receive count one more), `continuation` (the slice handed over: its continuation is queued) or
 * `within` (the Stripe reader's own back-off outlasted the fault: the same slice goes on).
 */
type WorkerRetry = 'redelivery' | 'continuation' | 'within';

async function backfillRow(arm: Arm, retry: WorkerRetry, options: { deployedSource?: boolean } = {}) {
  const expected = await backfillBaseline();
  const { w, job } = await backfillWorld();
  const worker = backfillWorker(w, options.deployedSource);
  const fault = await arm(w);
  const queuedBefore = sent(w, 'backfill').length;
  const first = worker(sqsEvent(job, 'm-backfill', 1), BACKFILL_CONTEXT);
  if (retry === 'redelivery') {
    await expectMessageFailed(first);
  } else {
    expect(await first).toEqual({ batchItemFailures: [] });
  }
  expectFired(fault);
  if (retry === 'within') {
    expect(await backfillSnapshot(w)).toEqual(expected);
    return;
  }
  // Not over, neither way: the run is still the tenant's current one, to be resumed.
  expect((await status(w)).backfill).toMatchObject({ status: expect.stringMatching(/^(queued|running)$/) });
  const continuations = sent(w, 'backfill').slice(queuedBefore);
  if (retry === 'continuation') {
    expect(continuations.map((m) => m.job)).toEqual([job]);
  } else {
    expect(continuations).toEqual([]);
  }

  fault.remove();
  // SQS redelivers a failed message once its visibility timeout is over (90 min), long after the
  // failed slice's lease (its 15 min deadline) ran out.
  if (retry === 'redelivery') w.app.clock.advance(BACKFILL_VISIBILITY_MS);
  // Deliver the retry, then whatever it queues, until the run ends.
  let next = retry === 'redelivery' ? sqsEvent(job, 'm-backfill', 2) : sqsEvent(job, 'm-continuation', 1);
  let delivered = queuedBefore + continuations.length;
  for (let slices = 0; ; slices++) {
    expect(slices).toBeLessThan(5);
    expect(await worker(next, BACKFILL_CONTEXT)).toEqual({ batchItemFailures: [] });
    const more = sent(w, 'backfill').slice(delivered);
    if (more.length === 0) break;
    delivered += more.length;
    next = sqsEvent(more.at(-1)?.job, `m-continuation-${slices}`, 1);
  }
  expect(await backfillSnapshot(w)).toEqual(expected);
}

/** Throttling that lasts until the slice's hand-over time: the test clock is moved there. */
function throttledUntilHandOver(w: World, started: number) {
  const target = started + BACKFILL_HAND_OVER_MS + 1_000;
  const now = w.app.clock.now().getTime();
  if (now < target) w.app.clock.advance(target - now);
}

// ---------------------------------------------------------------------------------------------
// Step: the erasure (DynamoDB queries and deletes).

async function erasureWorld() {
  const w = await connectedWorld();
  for (let i = 0; i < 3; i++) {
    const event = stripeEvent('customer.created', current.customer({ id: `cus_FaultMatrixKept${i}` }), {
      id: `evt_1FaultMatrixKept${i}`,
      account: ACCOUNT,
      created: T0 + i,
    });
    expect((await deliver(w, 'connect', event)).json()).toMatchObject({ outcome: 'processed' });
  }
  const response = await w.handlers.disconnect({ headers: bearer(w.token), query: 'erase=now' });
  expect(response.json()).toMatchObject({ data: { state: 'erasing' } });
  const [message] = sent(w, 'erasure');
  if (!message) throw new Error('no erasure queued');
  return { w, job: message.job };
}

async function erasureSnapshot(w: World) {
  const sizes: Record<string, number> = {};
  for (const pk of [
    `REC#${TENANT}#customers`,
    `REC#${TENANT}#subscriptions`,
    `REC#${TENANT}#orders`,
    `JOURNAL#${TENANT}`,
    `LEDGER#${TENANT}`,
  ]) {
    sizes[pk] = (await partition(w.app, pk)).length;
  }
  const s = await status(w);
  return { data: s.data, connected: s.connected, sizes, served: await served(w) };
}

function erase(w: World, job: unknown, messageId: string, receiveCount: number) {
  const worker = createErasureWorker(w.app.depsFor('ErasureWorker'));
  return worker(sqsEvent(job, messageId, receiveCount), ERASURE_CONTEXT);
}

const erasureBaseline = () =>
  baseline('erasure', async () => {
    const { w, job } = await erasureWorld();
    expect(await erase(w, job, 'm-erasure', 1)).toEqual({ batchItemFailures: [] });
    const snapshot = await erasureSnapshot(w);
    expect(snapshot.data).toEqual({ state: 'erased', eraseAfter: null });
    return snapshot;
  });

async function erasureRow(arm: Arm, retry: WorkerRetry) {
  const expected = await erasureBaseline();
  const { w, job } = await erasureWorld();
  const fault = await arm(w);
  const queuedBefore = sent(w, 'erasure').length;
  const first = erase(w, job, 'm-erasure', 1);
  if (retry === 'redelivery') {
    await expectMessageFailed(first);
  } else {
    expect(await first).toEqual({ batchItemFailures: [] });
  }
  expectFired(fault);
  // Not reported erased while data is left.
  expect((await status(w)).data).toMatchObject({ state: 'erasing' });
  const continuations = sent(w, 'erasure').slice(queuedBefore);
  expect(continuations.map((m) => m.job)).toEqual(retry === 'continuation' ? [job] : []);

  fault.remove();
  let next: [string, number] = retry === 'redelivery' ? ['m-erasure', 2] : ['m-continuation', 1];
  let delivered = queuedBefore + continuations.length;
  for (let slices = 0; ; slices++) {
    expect(slices).toBeLessThan(5);
    expect(await erase(w, job, ...next)).toEqual({ batchItemFailures: [] });
    const more = sent(w, 'erasure').slice(delivered);
    if (more.length === 0) break;
    delivered += more.length;
    next = [`m-continuation-${slices}`, 1];
  }
  expect(await erasureSnapshot(w)).toEqual(expected);
}

/** Throttling that lasts until the eraser's deadline: the test clock is moved there. */
function throttledUntilEraserDeadline(w: World, started: number) {
  const target = started + ERASER_DEADLINE_MS + 500;
  const now = w.app.clock.now().getTime();
  if (now < target) w.app.clock.advance(target - now);
}

// ---------------------------------------------------------------------------------------------
// The matrix.

interface Row {
  readonly step: string;
  readonly fault: string;
  readonly on: string;
  readonly run: () => Promise<void>;
}

const dynamo = (
  operation: string,
  key: KeyMatch,
  extra: Partial<Extract<Target, { service: 'dynamodb' }>> = {},
) => ({ service: 'dynamodb', operation, key, ...extra }) as const;
const secret = (
  operations: readonly string[],
  which: (name: string, names: ReturnType<typeof secretNames>) => boolean,
  extra: { times?: number } = {},
) => ({ service: 'secrets', operations, secret: which, ...extra }) as const;
const stripePath = (path: string, count: number) => ({ service: 'stripe', path, count }) as const;

const PLATFORM_KEY = (name: string, names: ReturnType<typeof secretNames>) => name === names.platformKey;
const OAUTH_TOKEN = (name: string) => name.endsWith(`/stripe/oauth/${TENANT}`);
const TENANT_WEBHOOK_SECRET = (name: string) => name.endsWith(`/stripe/webhook/${TENANT}`);
const CONNECT_SECRET = (name: string, names: ReturnType<typeof secretNames>) => name === names.connectWebhook;

const LEDGER = { pk: `LEDGER#${TENANT}` };
const RECORDS = { pk: `REC#${TENANT}#` };
const TENANT_PARTITION = { pk: `TENANT#${TENANT}` };

function row(
  step: string,
  kind: FaultKind,
  on: string,
  target: Target,
  run: (arm: Arm) => Promise<void>,
): Row {
  return { step, fault: kind.label, on, run: () => run(kind.arm(target)) };
}

const CONNECT = 'connect (OAuth callback)';
const TENANT_WEBHOOK = 'webhook (tenant endpoint)';
const CONNECT_WEBHOOK = 'webhook (Connect endpoint)';
const SWEEP = 'catch-up sweep';
const BACKFILL = 'backfill';
const ERASURE = 'erasure';

function webhookRows(step: string, endpoint: Endpoint): Row[] {
  const rows: Row[] = [];
  const targets: [string, Target, { leaseLeft?: boolean }][] = [
    ['Query TENANT# (state read)', dynamo('Query', TENANT_PARTITION), {}],
    ['PutItem LEDGER# (lease)', dynamo('PutItem', LEDGER), {}],
    ['UpdateItem REC# (record write)', dynamo('UpdateItem', RECORDS), {}],
    ['UpdateItem LEDGER# (marked done)', dynamo('UpdateItem', LEDGER), { leaseLeft: true }],
  ];
  for (const [on, target, options] of targets) {
    for (const kind of [DYNAMO_THROTTLING, DYNAMO_5XX]) {
      rows.push(row(step, kind, on, target, (arm) => webhookRow(endpoint, arm, options)));
    }
  }
  if (endpoint === 'tenant') {
    rows.push(
      row(
        step,
        DYNAMO_5XX,
        'Query gsi1 SLUG# (endpoint lookup)',
        dynamo('Query', { pk: `SLUG#${SLUG}` }),
        (arm) => webhookRow(endpoint, arm),
      ),
    );
  } else {
    rows.push(
      row(
        step,
        DYNAMO_THROTTLING_ON_DEMAND,
        'GetItem STRIPE_ACCOUNT# (account lookup)',
        dynamo('GetItem', { pk: `STRIPE_ACCOUNT#${ACCOUNT}` }),
        (arm) => webhookRow(endpoint, arm),
      ),
    );
  }
  // The endpoint's own signing secret: the tenant's, or the platform's Connect secret.
  const [secretOn, signingSecret] =
    endpoint === 'tenant'
      ? (['GetSecretValue (tenant signing secret)', TENANT_WEBHOOK_SECRET] as const)
      : (['GetSecretValue (Connect signing secret)', CONNECT_SECRET] as const);
  for (const kind of [SECRETS_500, SECRETS_503]) {
    rows.push(
      row(step, kind, secretOn, secret(['GetSecretValue'], signingSecret), (arm) =>
        webhookRow(endpoint, arm),
      ),
    );
  }
  return rows;
}

const MATRIX: Row[] = [
  // Connect: the code is spent once the exchange got an answer, so the tenant connects again.
  ...[STRIPE_429, STRIPE_500, STRIPE_TIMEOUT_EXCHANGE].map((kind) =>
    row(CONNECT, kind, 'POST /oauth/token (code exchange)', stripePath('/oauth/token', 1), (arm) =>
      connectRow(arm, { end: 'redirect', granted: false }),
    ),
  ),
  row(
    CONNECT,
    SECRETS_500,
    'GetSecretValue (platform key, before the exchange)',
    secret(['GetSecretValue'], PLATFORM_KEY),
    (arm) => connectRow(arm, { end: 'redirect', granted: false }),
  ),
  row(
    CONNECT,
    SECRETS_503,
    'PutSecretValue/CreateSecret (saving the token)',
    secret(['PutSecretValue', 'CreateSecret'], OAUTH_TOKEN),
    (arm) => connectRow(arm, { end: 'redirect', granted: true }),
  ),
  row(
    CONNECT,
    DYNAMO_THROTTLING,
    'PutItem STRIPE_ACCOUNT# (account claim)',
    dynamo('PutItem', { pk: 'STRIPE_ACCOUNT#' }),
    (arm) => connectRow(arm, { end: 'redirect', granted: true }),
  ),
  row(
    CONNECT,
    DYNAMO_5XX,
    'PutItem TENANT# INTEGRATION# (connection row)',
    dynamo('PutItem', { ...TENANT_PARTITION, sk: 'INTEGRATION#' }),
    (arm) => connectRow(arm, { end: 'redirect', granted: true, tokenLeft: true }),
  ),
  row(
    CONNECT,
    DYNAMO_5XX,
    'DeleteItem OAUTH_STATE# (state consumed)',
    dynamo('DeleteItem', { pk: 'OAUTH_STATE#' }),
    (arm) => connectRow(arm, { end: 'retryable', granted: false }),
  ),

  ...webhookRows(TENANT_WEBHOOK, 'tenant'),
  ...webhookRows(CONNECT_WEBHOOK, 'connect'),

  // The sweep: the message fails, SQS redelivers it.
  ...[STRIPE_429, STRIPE_500, STRIPE_NO_ANSWER].map((kind) =>
    row(SWEEP, kind, 'GET /v1/events', stripePath('/v1/events', 20), (arm) => sweepRow(arm)),
  ),
  row(SWEEP, SECRETS_500, 'GetSecretValue (platform key)', secret(['GetSecretValue'], PLATFORM_KEY), (arm) =>
    sweepRow(arm),
  ),
  row(SWEEP, DYNAMO_5XX, 'Query TENANT# (state read)', dynamo('Query', TENANT_PARTITION), (arm) =>
    sweepRow(arm),
  ),
  row(SWEEP, DYNAMO_5XX, 'PutItem LEDGER# (lease)', dynamo('PutItem', LEDGER), (arm) => sweepRow(arm)),
  row(
    SWEEP,
    DYNAMO_THROTTLING,
    'UpdateItem REC# (2nd record write)',
    dynamo('UpdateItem', RECORDS, { after: 1 }),
    (arm) => sweepRow(arm),
  ),
  row(
    SWEEP,
    DYNAMO_THROTTLING,
    'UpdateItem TENANT# DATA# (cursor saved)',
    dynamo('UpdateItem', { ...TENANT_PARTITION, sk: 'DATA#' }),
    (arm) => sweepRow(arm),
  ),

  // The backfill: Stripe past the reader's retries stalls the run (its continuation is queued);
  // DynamoDB throttling past the batch writer's back-off too; a DynamoDB 5xx fails the message.
  // The tests' Stripe client retries a dropped connection once itself (the deployed one, whose
  // timeout is 20 s, does not): two drops per attempt of the reader.
  ...[STRIPE_429, STRIPE_500, STRIPE_NO_ANSWER].map((kind) =>
    row(
      BACKFILL,
      kind,
      'GET /v1/customers (a list page)',
      stripePath('/v1/customers', FAST_RETRIES.maxAttempts * (kind === STRIPE_NO_ANSWER ? 2 : 1)),
      (arm) => backfillRow(arm, 'continuation'),
    ),
  ),
  row(
    BACKFILL,
    DYNAMO_THROTTLING,
    'BatchWriteItem REC# (3rd batch on)',
    dynamo('BatchWriteItem', RECORDS, {
      after: 2,
      onHit: (w) => throttledUntilHandOver(w, backfillStart.get(w) ?? 0),
    }),
    (arm) => backfillRow(withStart(arm), 'continuation'),
  ),
  row(
    BACKFILL,
    DYNAMO_5XX,
    'BatchWriteItem REC# (3rd batch on)',
    dynamo('BatchWriteItem', RECORDS, { after: 2 }),
    (arm) => backfillRow(arm, 'redelivery'),
  ),
  row(
    BACKFILL,
    DYNAMO_5XX,
    'BatchGetItem REC# (3rd batch on)',
    dynamo('BatchGetItem', RECORDS, { after: 2 }),
    (arm) => backfillRow(arm, 'redelivery'),
  ),
  // As deployed (the platform key from Secrets Manager, the reader's real back-off of seconds):
  // an outage of a few reads is retried within the slice, like a dropped connection.
  row(
    BACKFILL,
    SECRETS_500,
    'GetSecretValue (platform key, 3 reads)',
    secret(['GetSecretValue'], PLATFORM_KEY, { times: 3 }),
    (arm) => backfillRow(arm, 'within', { deployedSource: true }),
  ),

  // The erasure: throttling past the eraser's back-off hands over (its continuation is queued);
  // a 5xx fails the message.
  row(
    ERASURE,
    DYNAMO_THROTTLING,
    'Query REC# (keys to delete)',
    dynamo('Query', RECORDS, { onHit: (w) => throttledUntilEraserDeadline(w, erasureStart.get(w) ?? 0) }),
    (arm) => erasureRow(withErasureStart(arm), 'continuation'),
  ),
  row(ERASURE, DYNAMO_5XX, 'Query REC# (keys to delete)', dynamo('Query', RECORDS), (arm) =>
    erasureRow(arm, 'redelivery'),
  ),
  row(
    ERASURE,
    DYNAMO_THROTTLING_ON_DEMAND,
    'BatchWriteItem REC# (deletes)',
    dynamo('BatchWriteItem', RECORDS, {
      onHit: (w) => throttledUntilEraserDeadline(w, erasureStart.get(w) ?? 0),
    }),
    (arm) => erasureRow(withErasureStart(arm), 'continuation'),
  ),
  row(ERASURE, DYNAMO_5XX, 'BatchWriteItem REC# (deletes)', dynamo('BatchWriteItem', RECORDS), (arm) =>
    erasureRow(arm, 'redelivery'),
  ),
  row(
    ERASURE,
    DYNAMO_5XX,
    'UpdateItem TENANT# DATA# (progress checkpoint)',
    dynamo('UpdateItem', { ...TENANT_PARTITION, sk: 'DATA#' }, { after: 1 }),
    (arm) => erasureRow(arm, 'redelivery'),
  ),
];

/** When the faulted invocation started, by world: where "throttled until the deadline" counts from. */
const backfillStart = new WeakMap<World, number>();
const erasureStart = new WeakMap<World, number>();
const withStart =
  (arm: Arm): Arm =>
  (w) => {
    backfillStart.set(w, w.app.clock.now().getTime());
    return arm(w);
  };
const withErasureStart =
  (arm: Arm): Arm =>
  (w) => {
    erasureStart.set(w, w.app.clock.now().getTime());
    return arm(w);
  };

describe('fault matrix: every (step, fault) ends in a retry, nothing lost or doubled', () => {
  it.each(MATRIX)('$step × $fault on $on', async ({ run }) => {
    await run();
  });

  it('covers every step', () => {
    expect(new Set(MATRIX.map((r) => r.step))).toEqual(
      new Set([CONNECT, TENANT_WEBHOOK, CONNECT_WEBHOOK, SWEEP, BACKFILL, ERASURE]),
    );
    // A row's name is unique: the matrix has no duplicate cells.
    const names = MATRIX.map((r) => `${r.step} × ${r.fault} on ${r.on}`);
    expect(new Set(names).size).toBe(names.length);
  });
});
