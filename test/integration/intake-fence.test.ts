import { QueryCommand } from '@aws-sdk/lib-dynamodb';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createDocumentClient } from '#shared/adapters/dynamodb/document-client.ts';
import { StripeSignatureVerifier } from '#shared/adapters/stripe/stripe-signature-verifier.ts';
import type { RecordStore } from '#shared/ports/record-store.ts';
import { StripeWebhookReceiver } from '#shared/use-cases/receive-stripe-webhook.ts';
import { CONNECTED_ACCOUNT_ID, current, stripeEvent } from '../../scripts/stripe-emulator/stripe-objects.ts';
import { bearer, type Handlers, handlersFor } from '../support/handlers.ts';
import { CONNECT_WEBHOOK_SECRET, createTestApp, type TestApp, tenantA } from '../support/harness.ts';
import { asFunction } from '../support/iam/iam-enforcement.ts';
import { connectWithSecret, readAll, sign } from '../support/webhook-helpers.ts';

const SECRET = `whsec_${'intakeFence'.repeat(2)}`;
const ACCOUNT = CONNECTED_ACCOUNT_ID;

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

function postTenant(event: object, secret = SECRET) {
  const body = JSON.stringify(event);
  return handlers.tenantWebhook('clinic-a', {
    headers: { 'stripe-signature': sign(body, secret), 'content-type': 'application/json' },
    body,
  });
}

function postConnect(event: object) {
  const body = JSON.stringify(event);
  return handlers.connectWebhook({
    headers: { 'stripe-signature': sign(body, CONNECT_WEBHOOK_SECRET) },
    body,
  });
}

async function partition(pk: string) {
  const db = createDocumentClient({ endpoint: app.dynamoEndpoint });
  const { Items } = await db.send(
    new QueryCommand({
      TableName: app.tableName,
      KeyConditionExpression: 'pk = :pk',
      ExpressionAttributeValues: { ':pk': pk },
    }),
  );
  return Items ?? [];
}

const customers = () => readAll(handlers, token, 'customers');

describe('disconnect stops intake at once', () => {
  it('a warm Connect endpoint writes nothing after DELETE answered, and records the event as ignored', async () => {
    // Warm both endpoints' containers: each has cached the routing of this tenant.
    expect(
      (await postConnect(stripeEvent('customer.created', current.customer(), { account: ACCOUNT })))
        .statusCode,
    ).toBe(200);
    expect((await postTenant(stripeEvent('customer.updated', current.customer()))).statusCode).toBe(200);
    const disconnect = await handlers.disconnect({ headers: bearer(token) });
    expect(disconnect.statusCode).toBe(200);

    const late = await postConnect(
      stripeEvent('customer.created', current.customer({ id: 'cus_AfterDisconnect' }), { account: ACCOUNT }),
    );
    expect(late.statusCode).toBe(200);
    expect(late.json()).toEqual({ received: true, outcome: 'ignored', reason: 'unknown_account' });
    // The tenant endpoint's secret went with the connection: nothing can verify there any more.
    const lateTenant = await postTenant(
      stripeEvent('customer.created', current.customer({ id: 'cus_Late2' })),
    );
    expect(lateTenant.statusCode).toBe(404);
    const records = await partition('REC#tenant_a#customers');
    expect(records.map((item) => item.sk)).toEqual([current.customer().id]);
    expect((await partition(`LEDGER#account:${ACCOUNT}`)).length).toBe(1);
  });

  it('a deauthorization first seen on the tenant endpoint disconnects the tenant, and the Connect copy is a duplicate', async () => {
    const deauthorization = stripeEvent(
      'account.application.deauthorized',
      { id: app.stripe.clientId, object: 'application' },
      { account: ACCOUNT, created: nowSeconds() + 5 },
    );
    const first = await postTenant(deauthorization);
    expect(first.json()).toEqual({ received: true, outcome: 'processed' });
    expect(await app.deps.integrations.getByTenant('tenant_a')).toBeUndefined();
    expect(app.stripe.requestsTo('/oauth/deauthorize')).toHaveLength(0);
    const again = await postConnect(deauthorization);
    expect(again.statusCode).toBe(200);
    expect((await handlers.status({ headers: bearer(token) })).json()).toMatchObject({ connected: false });
  });

  it('a deauthorization of another application, or older than the connection, is ignored on the tenant endpoint', async () => {
    const other = await postTenant(
      stripeEvent(
        'account.application.deauthorized',
        { id: 'ca_SomeoneElse', object: 'application' },
        {
          created: nowSeconds() + 5,
        },
      ),
    );
    expect(other.json()).toMatchObject({ outcome: 'ignored', reason: 'other_application' });
    const stale = await postTenant(
      stripeEvent(
        'account.application.deauthorized',
        { id: app.stripe.clientId, object: 'application' },
        {
          created: nowSeconds() - 86_400,
        },
      ),
    );
    expect(stale.json()).toMatchObject({ outcome: 'ignored', reason: 'stale_deauthorization' });
    expect((await app.deps.integrations.getByTenant('tenant_a'))?.status).toBe('connected');
  });
});

describe('webhook secrets take effect at once', () => {
  it('a replaced secret stops verifying on the next event, and the new one verifies at once', async () => {
    expect((await postTenant(stripeEvent('customer.created', current.customer()))).statusCode).toBe(200);
    const replacement = `whsec_${'replacement'.repeat(2)}`;
    const put = await handlers.webhookSecret({
      headers: bearer(token),
      body: JSON.stringify({ secret: replacement }),
    });
    expect(put.statusCode).toBe(204);
    const old = await postTenant(stripeEvent('customer.updated', current.customer()), SECRET);
    expect(old.statusCode).toBe(400);
    const fresh = await postTenant(stripeEvent('customer.updated', current.customer()), replacement);
    expect(fresh.statusCode).toBe(200);
  });

  it('a secret saved after the endpoint answered 404 verifies on the next event', async () => {
    await handlers.disconnect({ headers: bearer(token) });
    const flowToken = token;
    await connectAgainWithoutSecret(flowToken);
    const before = await postTenant(stripeEvent('customer.created', current.customer()));
    expect(before.statusCode).toBe(404);
    const secret = `whsec_${'savedLater'.repeat(2)}`;
    await handlers.webhookSecret({ headers: bearer(token), body: JSON.stringify({ secret }) });
    expect((await postTenant(stripeEvent('customer.created', current.customer()), secret)).statusCode).toBe(
      200,
    );
  });

  it('the secret deleted by a disconnect never verifies again, even after a reconnect of the same account', async () => {
    expect((await postTenant(stripeEvent('customer.created', current.customer()))).statusCode).toBe(200);
    await handlers.disconnect({ headers: bearer(token) });
    await connectAgainWithoutSecret(token);
    const second = `whsec_${'secondSecret'.repeat(2)}`;
    await handlers.webhookSecret({ headers: bearer(token), body: JSON.stringify({ secret: second }) });
    expect((await postTenant(stripeEvent('customer.updated', current.customer()), SECRET)).statusCode).toBe(
      400,
    );
    expect((await postTenant(stripeEvent('customer.updated', current.customer()), second)).statusCode).toBe(
      200,
    );
  });

  it('whitespace around a pasted secret is dropped', async () => {
    const secret = `whsec_${'pastedSecret'.repeat(2)}`;
    const put = await handlers.webhookSecret({
      headers: bearer(token),
      body: JSON.stringify({ secret: `  ${secret}\n` }),
    });
    expect(put.statusCode).toBe(204);
    expect((await postTenant(stripeEvent('customer.created', current.customer()), secret)).statusCode).toBe(
      200,
    );
    const inside = await handlers.webhookSecret({
      headers: bearer(token),
      body: JSON.stringify({ secret: `whsec_abc def${'x'.repeat(16)}` }),
    });
    expect(inside.statusCode).toBe(400);
  });
});

describe('a lease is not a result', () => {
  /** A receiver whose record writes never finish: a delivery that holds the lease and dies. */
  function dyingHolder(): StripeWebhookReceiver {
    const deps = app.depsFor('WebhookConnect');
    const records: RecordStore = Object.create(deps.records, {
      apply: { value: () => new Promise(() => undefined) },
    });
    // Read on use, as the deployed composition does: this function has no settings for the rest.
    const lazy = (name: keyof typeof deps) => ({ get: () => deps[name], enumerable: true });
    const webhookDeps = Object.defineProperties(
      {
        records,
        verifier: new StripeSignatureVerifier(),
        connectWebhookSecret: async () => CONNECT_WEBHOOK_SECRET,
      },
      Object.fromEntries(
        (
          [
            'integrations',
            'webhookSecrets',
            'tokens',
            'backfillStatus',
            'revocationQueue',
            'oauth',
            'tenantState',
            'tenantData',
            'erasureQueue',
            'journal',
            'ledger',
            'platformClientId',
            'clock',
            'log',
          ] as const
        ).map((name) => [name, lazy(name)]),
      ),
    );
    return new StripeWebhookReceiver(
      webhookDeps as unknown as ConstructorParameters<typeof StripeWebhookReceiver>[0],
    );
  }

  it('a delivery meeting an in-progress lease gets 409 with Retry-After, and the lease ends with its holder', async () => {
    const event = stripeEvent('customer.created', current.customer({ id: 'cus_Leased' }), {
      account: ACCOUNT,
    });
    const body = JSON.stringify(event);
    const holder = dyingHolder();
    const remainingMs = 1500;
    void asFunction('WebhookConnect', () =>
      holder.receiveConnectEvent({
        rawBody: Buffer.from(body),
        signature: sign(body, CONNECT_WEBHOOK_SECRET),
        invocation: { getRemainingTimeInMillis: () => remainingMs },
      }),
    );
    // The holder has taken the lease once its record write hangs.
    await waitFor(async () => (await partition('LEDGER#tenant_a')).length === 1);

    const during = await postConnect(event);
    expect(during.statusCode).toBe(409);
    expect(during.headers['retry-after']).toBe('10');
    expect(during.json()).toMatchObject({ error: 'event_in_progress' });
    expect(await customers()).toEqual([]);

    // The holder's deadline passes (its Lambda would be stopped): the next delivery applies it.
    await new Promise((resolve) => setTimeout(resolve, remainingMs + 200));
    const after = await postConnect(event);
    expect(after.json()).toEqual({ received: true, outcome: 'processed' });
    expect((await customers()).map((c) => c.id)).toEqual(['cus_Leased']);
  });
});

async function connectAgainWithoutSecret(sessionToken: string) {
  const { beginConnect, callbackQuery } = await import('../support/handlers.ts');
  const flow = await beginConnect(handlers, sessionToken);
  const callback = await handlers.callback({
    query: callbackQuery({ code: app.stripe.issueCode(ACCOUNT), state: flow.state }),
    cookies: [flow.cookie],
  });
  expect(callback.headers.location).toMatch(/connected=stripe$/);
}

async function waitFor(condition: () => Promise<boolean>, timeoutMs = 3000) {
  const end = Date.now() + timeoutMs;
  while (!(await condition())) {
    if (Date.now() > end) throw new Error('condition not met in time');
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}
