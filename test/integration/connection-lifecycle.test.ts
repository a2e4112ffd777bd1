import type { SQSEvent } from 'aws-lambda';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { stripeEvent } from '../../scripts/stripe-emulator/stripe-objects.ts';
import { sign } from '../../scripts/stripe-emulator/stripe-signature.ts';
import { createRevocationWorker } from '../support/as-deployed.ts';
import { bearer, beginConnect, callbackQuery, type Handlers, handlersFor } from '../support/handlers.ts';
import {
  createTestApp,
  lambdaContext,
  signSession,
  type TestApp,
  tenantA,
  tenantB,
} from '../support/harness.ts';
import { sqsEvent } from '../support/sqs-event.ts';

const WHSEC = `whsec_${'Ab1+/=_-'.repeat(4)}`;

let app: TestApp;
let handlers: Handlers;
let tokenA: string;

beforeEach(async () => {
  app = await createTestApp();
  handlers = handlersFor(app);
  tokenA = await app.session(tenantA);
});
afterEach(() => app.close());

async function connect(token = tokenA, accountId = 'acct_1ClinicA') {
  const flow = await beginConnect(handlers, token);
  const response = await handlers.callback({
    query: callbackQuery({ code: app.stripe.issueCode(accountId), state: flow.state }),
    cookies: [flow.cookie],
  });
  expect(response.headers.location).toMatch(/connected=stripe$/);
}

const putSecret = (body: string, token = tokenA, extra: { isBase64Encoded?: boolean } = {}) =>
  handlers.webhookSecret({
    headers: { ...bearer(token), 'content-type': 'application/json' },
    body,
    ...extra,
  });

describe('session checks on tenant routes', () => {
  it.each([
    ['no token', async () => undefined],
    [
      'a token signed with another key',
      () => signSession(tenantA, { secret: 'another-secret-another-secret-another!!' }),
    ],
    ['an expired token', () => signSession(tenantA, { expiresInSeconds: -60 })],
    ['a token without tenantSlug', () => signSession({ tenantId: 'tenant_a', userId: 'u' })],
    ['a token without tenantId', () => signSession({ tenantSlug: 'clinic-a', userId: 'u' })],
    ['a token with a malformed slug', () => signSession({ ...tenantA, tenantSlug: 'Clinic A!' })],
    [
      'an alg:none token',
      async () => {
        const header = Buffer.from(JSON.stringify({ alg: 'none', typ: 'JWT' })).toString('base64url');
        const payload = Buffer.from(
          JSON.stringify({ ...tenantA, sub: 'u', exp: Math.floor(Date.now() / 1000) + 600 }),
        ).toString('base64url');
        return `${header}.${payload}.`;
      },
    ],
  ])('answers 401 JSON to %s on every tenant route', async (_, makeToken) => {
    const token = await makeToken();
    const headers = token ? bearer(token) : undefined;
    for (const call of [handlers.status, handlers.start, handlers.disconnect, handlers.webhookSecret]) {
      const response = await call({
        ...(headers ? { headers } : {}),
        body: JSON.stringify({ secret: WHSEC }),
      });
      expect(response.statusCode).toBe(401);
      expect(response.json()).toEqual({
        error: 'unauthorized',
        message: 'A valid Compass session is required',
      });
    }
  });

  it('accepts the session from the compass_session cookie', async () => {
    const response = await handlers.status({ cookies: [`compass_session=${tokenA}`] });
    expect(response.statusCode).toBe(200);
  });
});

describe('GET /api/connect/stripe/status', () => {
  it('answers the contract shape with nulls when not connected', async () => {
    const response = await handlers.status({ headers: bearer(tokenA) });
    expect(response.statusCode).toBe(200);
    expect(response.headers['content-type']).toContain('application/json');
    expect(response.json()).toEqual({
      connected: false,
      state: 'not_connected',
      stripeAccountId: null,
      livemode: null,
      connectedAt: null,
      webhookSecretConfigured: false,
      webhook: {
        lastEventAt: null,
        tenantEndpoint: { url: null, secretConfigured: false, lastEventAt: null },
        connectEndpoint: { lastEventAt: null },
      },
      backfill: {
        status: null,
        startedAt: null,
        finishedAt: null,
        error: null,
        result: null,
        progress: null,
      },
      data: { state: null, eraseAfter: null },
      reconcile: { lastRunAt: null, eventsApplied: null },
    });
  });

  it('shows the connection, its queued backfill and whether a webhook secret is set', async () => {
    await connect();
    const response = await handlers.status({ headers: bearer(tokenA) });
    expect(response.json()).toEqual({
      connected: true,
      state: 'connected',
      stripeAccountId: 'acct_1ClinicA',
      livemode: false,
      connectedAt: app.clock.now().toISOString(),
      webhookSecretConfigured: false,
      webhook: {
        lastEventAt: null,
        tenantEndpoint: {
          url: 'https://api.compass.test/api/webhooks/stripe/clinic-a',
          secretConfigured: false,
          lastEventAt: null,
        },
        connectEndpoint: { lastEventAt: null },
      },
      backfill: {
        status: 'queued',
        startedAt: null,
        finishedAt: null,
        error: null,
        result: null,
        progress: null,
      },
      data: { state: null, eraseAfter: null },
      reconcile: { lastRunAt: null, eventsApplied: null },
    });
  });

  it('shows one tenant nothing of another', async () => {
    await connect();
    const response = await handlers.status({ headers: bearer(await app.session(tenantB)) });
    expect(response.json()).toMatchObject({ connected: false, stripeAccountId: null });
  });
});

describe('PUT /api/connect/stripe/webhook-secret', () => {
  it('stores a valid secret in the tenant secret, answers 204 without echoing it', async () => {
    await connect();
    const response = await putSecret(JSON.stringify({ secret: WHSEC }));
    expect(response.statusCode).toBe(204);
    expect(response.body).toBe('');
    expect((await app.deps.webhookSecrets.get('tenant_a'))?.secret).toBe(WHSEC);
    const status = await handlers.status({ headers: bearer(tokenA) });
    expect(status.json()).toMatchObject({ webhookSecretConfigured: true });
    expect(status.body).not.toContain(WHSEC);
  });

  /** Runs `during` inside the PUT, between its read of the connection and its secret write. */
  function interleave(during: () => Promise<void>) {
    const store = app.depsFor('WebhookSecret').webhookSecrets;
    const save = store.save.bind(store);
    store.save = async (...args) => {
      store.save = save;
      await during();
      return save(...args);
    };
  }

  it('a save that lands after a disconnect answers 404 and leaves no secret behind', async () => {
    await connect();
    interleave(async () => {
      expect((await handlers.disconnect({ headers: bearer(tokenA) })).statusCode).toBe(200);
    });
    const response = await putSecret(JSON.stringify({ secret: WHSEC }));
    expect(response.statusCode).toBe(404);
    expect(await app.deps.webhookSecrets.get('tenant_a')).toBeUndefined();
  });

  it("a save for the old account that lands after a switch never verifies the new account's endpoint", async () => {
    await connect(tokenA, 'acct_1Old');
    interleave(() => connect(tokenA, 'acct_1New'));
    const response = await putSecret(JSON.stringify({ secret: WHSEC }));
    expect(response.statusCode).toBe(404);
    expect(await app.deps.webhookSecrets.get('tenant_a')).toBeUndefined();
    expect((await handlers.status({ headers: bearer(tokenA) })).json()).toMatchObject({
      stripeAccountId: 'acct_1New',
      webhookSecretConfigured: false,
    });
  });

  it("a secret stored for another account is not the tenant's: its events get 404", async () => {
    await connect(tokenA, 'acct_1New');
    expect((await putSecret(JSON.stringify({ secret: WHSEC }))).statusCode).toBe(204);
    // As if a stale save had won: the stored secret names the tenant's previous account.
    await app.deps.webhookSecrets.save('tenant_a', { secret: WHSEC, stripeAccountId: 'acct_1Old' });
    const body = JSON.stringify(
      stripeEvent('customer.created', { id: 'cus_1X', object: 'customer', created: 1 }),
    );
    const delivery = await handlers.tenantWebhook('clinic-a', {
      headers: { 'stripe-signature': sign(body, WHSEC) },
      body,
    });
    expect(delivery.statusCode).toBe(404);
  });

  it('accepts a base64-encoded body', async () => {
    await connect();
    const body = Buffer.from(JSON.stringify({ secret: WHSEC })).toString('base64');
    const response = await putSecret(body, tokenA, { isBase64Encoded: true });
    expect(response.statusCode).toBe(204);
    expect((await app.deps.webhookSecrets.get('tenant_a'))?.secret).toBe(WHSEC);
  });

  it.each([
    ['an empty secret', JSON.stringify({ secret: '' }), 400, 'invalid_webhook_secret'],
    ['no secret field', JSON.stringify({ other: WHSEC }), 400, 'invalid_webhook_secret'],
    ['a number', JSON.stringify({ secret: 42 }), 400, 'invalid_webhook_secret'],
    [
      'a secret that is not whsec_',
      JSON.stringify({ secret: `sk_live_${'a'.repeat(30)}` }),
      400,
      'invalid_webhook_secret',
    ],
    ['a too-short secret', JSON.stringify({ secret: 'whsec_short' }), 400, 'invalid_webhook_secret'],
    [
      'a secret with a newline',
      JSON.stringify({ secret: `${WHSEC}\r\nX: y` }),
      400,
      'invalid_webhook_secret',
    ],
    ['HTML', JSON.stringify({ secret: '<script>alert(1)</script>' }), 400, 'invalid_webhook_secret'],
    ['a body that is not JSON', 'whsec_plain', 400, 'invalid_json'],
    ['JSON null', 'null', 400, 'invalid_webhook_secret'],
    [
      'a megabyte secret',
      JSON.stringify({ secret: `whsec_${'a'.repeat(1_048_576)}` }),
      413,
      'payload_too_large',
    ],
  ])('refuses %s with a clear error and changes nothing', async (_, body, status, error) => {
    await connect();
    await putSecret(JSON.stringify({ secret: WHSEC }));
    const response = await putSecret(body);
    expect(response.statusCode).toBe(status);
    expect(response.json()).toEqual({ error, message: expect.any(String) });
    expect(response.body.length).toBeLessThan(400);
    expect(response.body).not.toContain('<script>');
    expect((await app.deps.webhookSecrets.get('tenant_a'))?.secret).toBe(WHSEC);
  });

  it('answers 404 not_connected when Stripe is not connected, and stores nothing', async () => {
    const response = await putSecret(JSON.stringify({ secret: WHSEC }));
    expect(response.statusCode).toBe(404);
    expect(response.json()).toMatchObject({ error: 'not_connected' });
    expect(await app.deps.webhookSecrets.get('tenant_a')).toBeUndefined();
  });
});

describe('DELETE /api/connect/stripe', () => {
  async function expectNothingLeft() {
    expect(await app.deps.integrations.getByTenant('tenant_a')).toBeUndefined();
    expect(await app.deps.integrations.findByStripeAccount('acct_1ClinicA')).toBeUndefined();
    expect(await app.deps.tokens.get('tenant_a')).toBeUndefined();
    expect(await app.deps.webhookSecrets.get('tenant_a')).toBeUndefined();
    expect(await app.deps.backfillStatus.get('tenant_a')).toBeUndefined();
    const status = await handlers.status({ headers: bearer(tokenA) });
    expect(status.json()).toMatchObject({ connected: false, webhookSecretConfigured: false });
  }

  const revocationJobs = () => app.queues.sent.filter((m) => m.queue === 'revocation');
  const worker = () => createRevocationWorker(app.depsFor('RevocationWorker'));
  const runWorker = (job: unknown) => worker()(sqsEvent(job), lambdaContext);

  it('revokes at Stripe with client_id and stripe_user_id, then deletes every credential', async () => {
    await connect();
    await putSecret(JSON.stringify({ secret: WHSEC }));
    const response = await handlers.disconnect({ headers: bearer(tokenA) });
    expect(response.statusCode).toBe(200);
    expect(response.json()).toMatchObject({
      disconnected: true,
      revocation: 'revoked',
      data: { state: 'kept' },
    });
    expect(app.stripe.requestsTo('/oauth/deauthorize')[0]?.params).toEqual({
      client_id: app.stripe.clientId,
      stripe_user_id: 'acct_1ClinicA',
    });
    expect(app.stripe.isConnected('acct_1ClinicA')).toBe(false);
    await expectNothingLeft();
    // The safety-net job queued before the call finds the work done.
    expect(revocationJobs()).toHaveLength(1);
    expect((await runWorker(revocationJobs()[0]?.job)).batchItemFailures).toEqual([]);
    expect(revocationJobs()).toHaveLength(1);
    // The account is free again: another tenant may connect it.
    await connect(await app.session(tenantB), 'acct_1ClinicA');
  });

  it('finishes the deletion when Stripe says the account is already disconnected', async () => {
    await connect();
    app.stripe.connected.delete('acct_1ClinicA');
    const response = await handlers.disconnect({ headers: bearer(tokenA) });
    expect(response.json()).toMatchObject({
      disconnected: true,
      revocation: 'already_revoked',
      data: { state: 'kept' },
    });
    await expectNothingLeft();
  });

  it('answers 404 not_connected when nothing is connected', async () => {
    const response = await handlers.disconnect({ headers: bearer(tokenA) });
    expect(response.statusCode).toBe(404);
    expect(response.json()).toMatchObject({ error: 'not_connected' });
    expect(app.stripe.requestsTo('/oauth/deauthorize')).toHaveLength(0);
  });

  it('when Stripe is down: deletes local data, the queued revocation runs within 5 minutes and is retried until done', async () => {
    await connect();
    app.stripe.injectFault('/oauth/deauthorize', { status: 500 }, { status: 503 });
    const response = await handlers.disconnect({ headers: bearer(tokenA) });
    expect(response.statusCode).toBe(200);
    expect(response.json()).toMatchObject({
      disconnected: true,
      revocation: 'scheduled',
      data: { state: 'kept' },
    });
    await expectNothingLeft();
    expect(revocationJobs()).toHaveLength(1);
    expect(revocationJobs()[0]?.delaySeconds).toBeLessThanOrEqual(300);
    expect(revocationJobs()[0]?.job).toMatchObject({
      tenantId: 'tenant_a',
      stripeAccountId: 'acct_1ClinicA',
      attempt: 1,
    });

    // Stripe still failing: the worker reschedules with a longer delay.
    expect((await runWorker(revocationJobs()[0]?.job)).batchItemFailures).toEqual([]);
    expect(revocationJobs()).toHaveLength(2);
    expect(revocationJobs()[1]?.job).toMatchObject({ attempt: 2 });
    expect(revocationJobs()[1]?.delaySeconds).toBeGreaterThan(revocationJobs()[0]?.delaySeconds ?? 0);
    expect(app.stripe.isConnected('acct_1ClinicA')).toBe(true);

    // Stripe is back.
    expect((await runWorker(revocationJobs()[1]?.job)).batchItemFailures).toEqual([]);
    expect(app.stripe.isConnected('acct_1ClinicA')).toBe(false);
    expect(revocationJobs()).toHaveLength(2);
  });

  it('does not wait on a hanging Stripe: answers within its timeout with the revocation already queued', async () => {
    await connect();
    app.stripe.injectFault('/oauth/deauthorize', { delayMs: 6000 });
    const response = await handlers.disconnect({ headers: bearer(tokenA) });
    expect(response.json()).toMatchObject({
      disconnected: true,
      revocation: 'scheduled',
      data: { state: 'kept' },
    });
    expect(app.stripe.requestsTo('/oauth/deauthorize')).toHaveLength(1);
    expect(revocationJobs()).toHaveLength(1);
    await expectNothingLeft();
  });

  it('keeps the tenant recoverable when the retry queue is unreachable: 503, Stripe untouched, a repeat finishes', async () => {
    await connect();
    const enqueue = app.queues.enqueueRevocation.bind(app.queues);
    app.queues.enqueueRevocation = async () => {
      throw Object.assign(new Error('queue down'), { name: 'ServiceUnavailable', $metadata: {} });
    };
    const failed = await handlers.disconnect({ headers: bearer(tokenA) });
    expect(failed.statusCode).toBe(503);
    expect(failed.json()).toMatchObject({ error: 'temporarily_unavailable' });
    expect(app.stripe.requestsTo('/oauth/deauthorize')).toHaveLength(0);
    expect(await app.deps.tokens.get('tenant_a')).toBeDefined();
    expect((await handlers.status({ headers: bearer(tokenA) })).json()).toMatchObject({
      connected: false,
      state: 'disconnecting',
    });
    // Connecting again must wait for the disconnect to finish.
    const start = await handlers.start({ headers: bearer(tokenA) });
    expect(start.statusCode).toBe(409);
    expect(start.json()).toMatchObject({ error: 'disconnect_in_progress' });

    app.queues.enqueueRevocation = enqueue;
    const retried = await handlers.disconnect({ headers: bearer(tokenA) });
    expect(retried.json()).toMatchObject({
      disconnected: true,
      revocation: 'revoked',
      data: { state: 'kept' },
    });
    await expectNothingLeft();
  });

  it('a repeated DELETE never revokes an account another tenant has connected since', async () => {
    await connect();
    // A first DELETE got as far as releasing the account, then failed.
    await app.deps.integrations.markDisconnecting('tenant_a', 'acct_1ClinicA');
    await app.deps.integrations.releaseAccount('acct_1ClinicA', 'tenant_a');
    await connect(await app.session(tenantB), 'acct_1ClinicA');

    const repeat = await handlers.disconnect({ headers: bearer(tokenA) });
    expect(repeat.json()).toMatchObject({
      disconnected: true,
      revocation: 'skipped',
      data: { state: 'kept' },
    });
    expect(app.stripe.requestsTo('/oauth/deauthorize')).toHaveLength(0);
    expect(app.stripe.isConnected('acct_1ClinicA')).toBe(true);
    expect((await app.deps.integrations.getByTenant('tenant_b'))?.status).toBe('connected');
    expect(await app.deps.tokens.get('tenant_b')).toBeDefined();
    expect(await app.deps.integrations.getByTenant('tenant_a')).toBeUndefined();
  });
});

describe('revocation worker', () => {
  it('does not revoke an account whose connect is still in flight (claimed, row not yet written)', async () => {
    await app.deps.integrations.claimAccount('acct_1InFlight', 'tenant_b', app.clock.now());
    app.stripe.connected.set('acct_1InFlight', new Set(['sk_test_x']));
    const job = {
      tenantId: 'tenant_a',
      stripeAccountId: 'acct_1InFlight',
      firstFailedAt: app.clock.now().toISOString(),
      attempt: 1,
    };
    const result = await createRevocationWorker(app.depsFor('RevocationWorker'))(
      sqsEvent(job),
      lambdaContext,
    );
    expect(result.batchItemFailures).toEqual([]);
    expect(app.stripe.requestsTo('/oauth/deauthorize')).toHaveLength(0);
    expect(app.stripe.isConnected('acct_1InFlight')).toBe(true);
  });

  it('holds the account while revoking, then frees it for the next connect', async () => {
    app.stripe.connected.set('acct_1Gone', new Set(['sk_test_x']));
    const job = {
      tenantId: 'tenant_a',
      stripeAccountId: 'acct_1Gone',
      firstFailedAt: app.clock.now().toISOString(),
      attempt: 1,
    };
    await createRevocationWorker(app.depsFor('RevocationWorker'))(sqsEvent(job), lambdaContext);
    expect(app.stripe.isConnected('acct_1Gone')).toBe(false);
    expect(await app.deps.integrations.accountHolder('acct_1Gone')).toBeUndefined();
  });

  it('does not revoke an account that a tenant has connected again since', async () => {
    await connect();
    const worker = createRevocationWorker(app.depsFor('RevocationWorker'));
    const job = {
      tenantId: 'tenant_x',
      stripeAccountId: 'acct_1ClinicA',
      firstFailedAt: app.clock.now().toISOString(),
      attempt: 1,
    };
    const result = await worker(sqsEvent(job), lambdaContext);
    expect(result.batchItemFailures).toEqual([]);
    expect(app.stripe.requestsTo('/oauth/deauthorize')).toHaveLength(0);
    expect(app.stripe.isConnected('acct_1ClinicA')).toBe(true);
  });

  it('gives up after 3 days: the message fails so SQS moves it to the alarmed DLQ', async () => {
    const worker = createRevocationWorker(app.depsFor('RevocationWorker'));
    app.stripe.connected.set('acct_1Gone', new Set(['sk_test_x']));
    app.stripe.injectFault('/oauth/deauthorize', { status: 500 }, { status: 500 });
    const firstFailedAt = new Date(app.clock.now().getTime() - 3 * 24 * 3600 * 1000 - 1).toISOString();
    const job = { tenantId: 'tenant_a', stripeAccountId: 'acct_1Gone', firstFailedAt, attempt: 300 };
    const event = sqsEvent(job);
    await expect(worker(event, lambdaContext)).rejects.toThrow(/All records failed/);
    expect(app.queues.sent).toHaveLength(0);
    expect(app.log.messages()).toContain('stripe_revocation_abandoned');
  });

  it('reports only the malformed record of a batch as failed', async () => {
    const worker = createRevocationWorker(app.depsFor('RevocationWorker'));
    app.stripe.connected.set('acct_1Gone', new Set(['sk_test_x']));
    const good = {
      tenantId: 'tenant_a',
      stripeAccountId: 'acct_1Gone',
      firstFailedAt: app.clock.now().toISOString(),
      attempt: 1,
    };
    const event: SQSEvent = { Records: [...sqsEvent(good).Records, ...sqsEvent('not json', 'm-2').Records] };
    const result = await worker(event, lambdaContext);
    expect(result.batchItemFailures).toEqual([{ itemIdentifier: 'm-2' }]);
    expect(app.stripe.isConnected('acct_1Gone')).toBe(false);
  });
});
