import { mkdtemp, rm } from 'node:fs/promises';
import { request } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { QueryCommand } from '@aws-sdk/lib-dynamodb';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it, vi } from 'vitest';
import { createDocumentClient } from '#shared/adapters/dynamodb/document-client.ts';
import { MAX_CURSOR_LENGTH } from '../../functions/commons/paging.ts';
import { type LocalStack, startLocalStack } from '../../scripts/local/local-stack.ts';
import {
  CONNECTED_ACCOUNT_ID,
  current,
  ids,
  legacy,
  list,
  stripeEvent,
  T0,
} from '../../scripts/stripe-emulator/stripe-objects.ts';
import { bearer, beginConnect, callbackQuery, type Handlers, handlersFor } from '../support/handlers.ts';
import { CONNECT_WEBHOOK_SECRET, createTestApp, type TestApp, tenantA } from '../support/harness.ts';
import { connectWithSecret, readAll, sign } from '../support/webhook-helpers.ts';

/**
 * Values from outside that become DynamoDB keys (slugs, account and object ids, event ids,
 * cursors, session claims, OAuth parameters): none reaches a key limit or a decoder unguarded.
 * DynamoDB refuses a partition key over 2048 bytes and a sort key over 1024 with a
 * ValidationException, which would be a 500, and Stripe retries any non-2xx for three days.
 */

const SECRET_A = `whsec_${'tenantAsecret'.repeat(2)}`;

/** Every AWS SDK call from now on (`send` lives on the SDK's shared client class). */
const awsSends = () => vi.spyOn(Object.getPrototypeOf(DynamoDBClient.prototype) as DynamoDBClient, 'send');

describe('the local stack routes undecodable paths like any unknown one', () => {
  let stack: LocalStack;
  let dataDir: string;
  beforeAll(async () => {
    for (const stream of [process.stdout, process.stderr])
      vi.spyOn(stream, 'write').mockImplementation(() => true);
    dataDir = await mkdtemp(join(tmpdir(), 'hostile-input-'));
    stack = await startLocalStack({ env: {}, port: 0, emulatorPort: 0, inMemory: true, dataDir });
  });
  afterAll(async () => {
    await stack.close();
    await rm(dataDir, { recursive: true, force: true });
    vi.restoreAllMocks();
  });

  it.each([
    ['POST', '/api/webhooks/stripe/%E0%A4%A'],
    ['POST', '/api/webhooks/stripe/%zz'],
    ['POST', '/api/webhooks/stripe/%C0%AF'],
    ['POST', '/api/webhooks/stripe/%ED%A0%80'],
    ['GET', '/api/stripe/%zz'],
  ])('%s %s is a JSON 404', async (method, path) => {
    const response = await fetch(`${stack.url}${path}`, {
      method,
      headers: { 'stripe-signature': `t=${Math.floor(Date.now() / 1000)},v1=${'0'.repeat(64)}` },
      ...(method === 'POST' ? { body: '{}' } : {}),
    });
    expect(response.status).toBe(404);
    expect(response.headers.get('content-type')).toMatch(/^application\/json/);
    expect(await response.json()).toEqual({ error: 'not_found', message: expect.any(String) });
  });

  it('answers a request target that is not a URL with a JSON 400', async () => {
    const { port } = new URL(stack.url);
    const answer = await new Promise<{ status: number | undefined; body: string }>((resolve, reject) => {
      const req = request(
        { host: '127.0.0.1', port, method: 'GET', path: 'http://[bad/x', headers: { host: 'localhost' } },
        (res) => {
          let body = '';
          res.on('data', (chunk) => {
            body += chunk;
          });
          res.on('end', () => resolve({ status: res.statusCode, body }));
        },
      );
      req.on('error', reject);
      req.end();
    });
    expect(answer.status).toBe(400);
    expect(JSON.parse(answer.body)).toEqual({ error: 'bad_request', message: expect.any(String) });
  });
});

describe('through the deployed handlers', () => {
  let app: TestApp;
  let handlers: Handlers;
  let token: string;

  beforeEach(async () => {
    app = await createTestApp();
    handlers = handlersFor(app);
    token = await app.session(tenantA);
    await connectWithSecret(app, handlers, token, CONNECTED_ACCOUNT_ID, SECRET_A);
  });
  afterEach(() => app.close());

  const postTenant = (body: string, slug = 'clinic-a') =>
    handlers.tenantWebhook(slug, {
      headers: { 'stripe-signature': sign(body, SECRET_A), 'content-type': 'application/json' },
      body,
    });
  const postConnect = (body: string) =>
    handlers.connectWebhook({ headers: { 'stripe-signature': sign(body, CONNECT_WEBHOOK_SECRET) }, body });

  /** Every ledger, journal and record item of the table: what a refused request must not add. */
  async function written() {
    const db = createDocumentClient({ endpoint: app.dynamoEndpoint });
    const items: string[] = [];
    for (const prefix of ['LEDGER#tenant_a', 'LEDGER#platform', 'JOURNAL#tenant_a']) {
      const { Items } = await db.send(
        new QueryCommand({
          TableName: app.tableName,
          KeyConditionExpression: 'pk = :pk',
          ExpressionAttributeValues: { ':pk': prefix },
        }),
      );
      items.push(...(Items ?? []).map((item) => `${item.pk} ${item.sk}`));
    }
    for (const collection of ['customers', 'subscriptions', 'orders']) {
      for (const record of await readAll(handlers, token, collection))
        items.push(`${collection} ${record.id}`);
    }
    return items;
  }

  async function ledgerOutcomes() {
    const db = createDocumentClient({ endpoint: app.dynamoEndpoint });
    const { Items } = await db.send(
      new QueryCommand({
        TableName: app.tableName,
        KeyConditionExpression: 'pk = :pk',
        ExpressionAttributeValues: { ':pk': 'LEDGER#tenant_a' },
      }),
    );
    return (Items ?? []).map(
      (item) => (typeof item.data === 'string' ? JSON.parse(item.data) : item.data).outcome,
    );
  }

  describe('webhook slugs (API Gateway passes them decoded, so any text may arrive)', () => {
    it.each([
      ['an undecoded escape', '%zz'],
      ['replacement characters', '\uFFFD\uFFFD'],
      ['a NUL', 'clinic-a\u0000'],
      ['3,000 characters (a 3 KB index key)', 'a'.repeat(3000)],
    ])('%s: 404 unknown_endpoint, nothing read or written', async (_, slug) => {
      const body = JSON.stringify(stripeEvent('customer.created', current.customer()));
      // dynalite takes an index query on a 3 KB key that DynamoDB would refuse: count the calls.
      const sends = awsSends();
      const response = await postTenant(body, slug);
      expect(sends).not.toHaveBeenCalled();
      sends.mockRestore();
      expect(response.statusCode).toBe(404);
      expect(response.json()).toEqual({ error: 'unknown_endpoint', message: expect.any(String) });
      expect(await written()).toEqual([]);
    });
  });

  describe('a signed body whose account cannot be a Stripe account is not a Stripe event', () => {
    it.each([
      ['10 KB long', `acct_${'x'.repeat(10_000)}`],
      ['of another kind', 'cus_QFixturePatient1'],
      ['empty', ''],
      ['with a NUL', 'acct_1\u0000'],
    ])('%s: 400 not_a_stripe_event on both endpoints, nothing written', async (_, account) => {
      const body = JSON.stringify(stripeEvent('customer.created', current.customer(), { account }));
      for (const response of [await postConnect(body), await postTenant(body)]) {
        expect(response.statusCode).toBe(400);
        expect(response.json()).toEqual({ error: 'not_a_stripe_event', message: expect.any(String) });
      }
      expect(await written()).toEqual([]);
    });

    it('an account of sane shape that no tenant holds is still ignored with 200', async () => {
      const body = JSON.stringify(
        stripeEvent('customer.created', current.customer(), { account: 'acct_1NobodysAccount' }),
      );
      const response = await postConnect(body);
      expect(response.statusCode).toBe(200);
      expect(response.json()).toMatchObject({ received: true, outcome: 'ignored' });
    });
  });

  describe('event ids (journal sort key `{ISO}#{eventId}`, ledger key)', () => {
    it.each([
      ['300 characters', `evt_${'x'.repeat(300)}`],
      ['a NUL', 'evt_1\u0000'],
      ['non-ASCII', 'evt_1€'],
      ['another kind of id', 'cus_1'],
    ])('%s: 400 not_a_stripe_event, nothing written', async (_, id) => {
      const response = await postTenant(
        JSON.stringify(stripeEvent('customer.created', current.customer(), { id })),
      );
      expect(response.statusCode).toBe(400);
      expect(response.json()).toMatchObject({ error: 'not_a_stripe_event' });
      expect(await written()).toEqual([]);
    });
  });

  describe('object ids (record sort keys `{id}` and `{created}#{id}`)', () => {
    it.each([
      ['300 characters', `cus_${'x'.repeat(300)}`],
      ['a NUL', 'cus_1\u0000'],
      ['a lone surrogate', 'cus_1\uD800'],
    ])('a data.object.id of %s is refused before the ledger: 400, nothing written', async (_, id) => {
      const response = await postTenant(
        JSON.stringify(stripeEvent('customer.created', current.customer({ id }))),
      );
      expect(response.statusCode).toBe(400);
      expect(response.json()).toMatchObject({ error: 'not_a_stripe_event' });
      expect(await written()).toEqual([]);
    });

    it('an id that is not key-safe (250 × "€", 750 bytes) is ignored as malformed: no record, no journal', async () => {
      const response = await postTenant(
        JSON.stringify(stripeEvent('customer.created', current.customer({ id: `cus_${'€'.repeat(250)}` }))),
      );
      expect(response.statusCode).toBe(200);
      expect(response.json()).toMatchObject({ outcome: 'ignored', reason: 'malformed_customer' });
      expect(await ledgerOutcomes()).toEqual(['ignored:malformed_customer']);
      expect((await written()).filter((item) => !item.startsWith('LEDGER#'))).toEqual([]);
    });

    it.each([
      [
        'the invoice a payment intent names',
        'payment_intent.succeeded',
        () => legacy.paymentIntent({ invoice: `in_${'€'.repeat(200)}` }),
        'malformed_payment_intent',
      ],
      [
        'the payment intent a refunded charge names',
        'charge.refunded',
        () => current.charge({ payment_intent: `pi_${'\u00e9'.repeat(200)}` }),
        'malformed_charge',
      ],
      [
        'the invoice an InvoicePayment names',
        'invoice_payment.paid',
        () => current.invoicePayment({ invoice: `in_ ${'"'.repeat(10)}` }),
        'malformed_invoice_payment',
      ],
    ])(
      '%s, when not key-safe, makes the event ignored: nothing but the ledger entry',
      async (_, type, object, reason) => {
        const response = await postTenant(JSON.stringify(stripeEvent(type, object())));
        expect(response.statusCode).toBe(200);
        expect(response.json()).toMatchObject({ outcome: 'ignored', reason });
        expect((await written()).filter((item) => !item.startsWith('LEDGER#'))).toEqual([]);
      },
    );

    it('price and product ids are fields only: a plan id of long ago, spaces and accents and all, is kept', async () => {
      const subscription = legacy.subscription({
        items: list([
          {
            id: 'si_QLegacyPlan',
            object: 'subscription_item',
            quantity: 1,
            plan: {
              id: 'Plan Été 2015',
              object: 'plan',
              amount: 4900,
              currency: 'usd',
              interval: 'month',
              interval_count: 1,
              product: 'Thérapie de groupe',
            },
          },
        ]),
      });
      const response = await postTenant(
        JSON.stringify(stripeEvent('customer.subscription.created', subscription)),
      );
      expect(response.json()).toMatchObject({ outcome: 'processed' });
      const [record] = await readAll(handlers, token, 'subscriptions');
      expect(record?.items).toEqual([
        expect.objectContaining({
          priceId: 'Plan Été 2015',
          productId: 'Thérapie de groupe',
          unitAmount: 4900,
        }),
      ]);
    });
  });

  describe('record sizes (DynamoDB refuses an item over 400 KB)', () => {
    const item = {
      object: 'subscription_item',
      quantity: 1,
      price: { id: 'p', unit_amount: 1, recurring: { interval: 'month' } },
    };
    it.each([
      [
        'a 500 KB subscription status',
        () =>
          stripeEvent('customer.subscription.created', current.subscription({ status: 'a'.repeat(500_000) })),
        'malformed_subscription',
      ],
      [
        'a 500 KB invoice currency',
        () => stripeEvent('invoice.paid', current.invoice({ currency: 'u'.repeat(500_000) })),
        'malformed_invoice',
      ],
      [
        'a subscription of 15,000 items (Stripe allows 20)',
        () =>
          stripeEvent(
            'customer.subscription.created',
            current.subscription({ items: list(Array(15_000).fill(item)) }),
          ),
        'malformed_subscription',
      ],
    ])('%s is ignored as malformed: 200, no record, no journal', async (_, event, reason) => {
      const body = JSON.stringify(event());
      expect(body.length).toBeGreaterThan(400_000);
      const response = await postTenant(body);
      expect(response.statusCode).toBe(200);
      expect(response.json()).toMatchObject({ outcome: 'ignored', reason });
      expect((await written()).filter((entry) => !entry.startsWith('LEDGER#'))).toEqual([]);
    });
  });

  it('a signed 1,000,000-deep nested value in the payload is processed, not a 500', async () => {
    const nested = `${'['.repeat(1_000_000)}${']'.repeat(1_000_000)}`;
    const event = JSON.stringify(stripeEvent('customer.created', current.customer({ id: 'cus_Nested' })));
    const body = event.replace('"object":"customer"', `"object":"customer","metadata_blob":${nested}`);
    expect(body.length).toBeGreaterThan(2_000_000);
    const response = await postTenant(body);
    expect(response.statusCode).toBe(200);
    expect(response.json()).toMatchObject({ outcome: 'processed' });
  });

  describe('read-API cursors', () => {
    const forged = (k: Record<string, string>) =>
      Buffer.from(JSON.stringify({ v: 1, c: 'customers', k })).toString('base64url');

    it.each([
      ['a 1,100-byte gsi1sk', { sk: 'a', gsi1sk: `${'x'.repeat(1100)}#a` }],
      ['a 1,030-byte sk', { sk: 'b'.repeat(1030), gsi1sk: `x#${'b'.repeat(1030)}` }],
    ])(
      'refuses a forged cursor with %s: 400 invalid_cursor, not a DynamoDB ValidationException',
      async (_, keys) => {
        const cursor = forged({ pk: 'REC#tenant_a#customers', gsi1pk: 'LIST#tenant_a#customers', ...keys });
        const response = await handlers.records('customers', {
          headers: bearer(token),
          query: `cursor=${cursor}`,
        });
        expect(response.statusCode).toBe(400);
        expect(response.json()).toEqual({ error: 'invalid_cursor', message: expect.any(String) });
      },
    );

    it('still follows the longest cursor the store issues (128-character tenant, 255-character ids, year 275760)', async () => {
      const tenantId = `t${'x'.repeat(127)}`;
      const longToken = await app.session({ tenantId, tenantSlug: 'clinic-long', userId: 'user_long' });
      const created = '+275760-09-13T00:00:00.000Z';
      for (const tail of ['A', 'B']) {
        const id = `cus_${tail}${'9'.repeat(250)}`;
        await app.deps.records.apply(
          tenantId,
          { kind: 'customer', record: { id, created, deleted: false } },
          { created: T0, rank: 1, eventId: `evt_Long${tail}` },
        );
      }
      // The biggest collection name makes the longest cursor; customers are 4 characters shorter.
      const first = await handlers.records('customers', { headers: bearer(longToken), query: 'limit=1' });
      const { nextCursor } = first.json<{ nextCursor: string }>();
      expect(nextCursor.length).toBeGreaterThan(MAX_CURSOR_LENGTH - 100);
      expect(nextCursor.length).toBeLessThanOrEqual(MAX_CURSOR_LENGTH);
      const second = await handlers.records('customers', {
        headers: bearer(longToken),
        query: `limit=1&cursor=${nextCursor}`,
      });
      expect(second.statusCode).toBe(200);
      expect(second.json<{ data: { id: string }[] }>().data.map((c) => c.id[4])).toEqual(['A']);
    });
  });

  describe('session claims (tenant ids and slugs are key parts)', () => {
    it.each([
      ['a 3,000-character tenantId', { tenantId: 'a'.repeat(3000), tenantSlug: 'clinic-a' }],
      ['a tenantId with a key separator', { tenantId: 'tenant_a#customers', tenantSlug: 'clinic-a' }],
      ['a non-ASCII tenantId', { tenantId: 'tenant_é', tenantSlug: 'clinic-a' }],
      ['a 3,000-character tenantSlug', { tenantId: 'tenant_c', tenantSlug: 'c'.repeat(3000) }],
      ['an upper-case tenantSlug', { tenantId: 'tenant_c', tenantSlug: 'Clinic-C' }],
    ])('%s: 401 on every tenant route, nothing written', async (_, claims) => {
      const forgedToken = await app.session({ ...claims, userId: 'user_x' });
      for (const response of [
        await handlers.records('customers', { headers: bearer(forgedToken) }),
        await handlers.status({ headers: bearer(forgedToken) }),
        await handlers.start({ headers: bearer(forgedToken) }),
      ]) {
        expect(response.statusCode).toBe(401);
        expect(response.json()).toMatchObject({ error: 'unauthorized' });
      }
    });
  });

  describe('OAuth callback parameters', () => {
    it.each([
      ['10 KB long', 's'.repeat(10_000)],
      ['an undecodable escape', '%zz%E0%A4%A'],
    ])('a state %s is stripe_state_invalid, with no AWS call and no token request', async (_, state) => {
      const flow = await beginConnect(handlers, token);
      const code = app.stripe.issueCode(CONNECTED_ACCOUNT_ID);
      const sends = awsSends();
      const response = await handlers.callback({
        query: `code=${code}&state=${state}`,
        cookies: [flow.cookie],
      });
      expect(sends).not.toHaveBeenCalled();
      sends.mockRestore();
      expect(response.statusCode).toBe(302);
      expect(response.headers.location).toMatch(/\?error=stripe_state_invalid$/);
      expect(app.stripe.requestsTo('/oauth/token')).toHaveLength(1);
    });

    it('a 10 KB code is stripe_exchange_failed without a token request', async () => {
      const flow = await beginConnect(handlers, token);
      const response = await handlers.callback({
        query: callbackQuery({ code: `ac_${'x'.repeat(10_000)}`, state: flow.state }),
        cookies: [flow.cookie],
      });
      expect(response.headers.location).toMatch(/\?error=stripe_exchange_failed$/);
      // The one of connectWithSecret, none for this callback.
      expect(app.stripe.requestsTo('/oauth/token')).toHaveLength(1);
    });
  });

  describe('webhook secret body', () => {
    it.each([
      [
        'a 300-character secret',
        400,
        'invalid_webhook_secret',
        JSON.stringify({ secret: `whsec_${'a'.repeat(300)}` }),
      ],
      [
        'a secret with a NUL',
        400,
        'invalid_webhook_secret',
        JSON.stringify({ secret: `whsec_${'a'.repeat(20)}\u0000` }),
      ],
      ['an object for a secret', 400, 'invalid_webhook_secret', JSON.stringify({ secret: { $gt: '' } })],
      ['a 5 KB body', 413, 'payload_too_large', JSON.stringify({ secret: `whsec_${'a'.repeat(5000)}` })],
      ['a body that is not JSON', 400, 'invalid_json', '{"secret": "whsec_'],
    ])('%s: %i %s, and the saved secret still verifies', async (_, status, error, body) => {
      const response = await handlers.webhookSecret({ headers: bearer(token), body });
      expect(response.statusCode).toBe(status);
      expect(response.json()).toEqual({ error, message: expect.any(String) });
      const event = JSON.stringify(stripeEvent('customer.created', current.customer({ id: ids.customer })));
      expect((await postTenant(event)).json()).toMatchObject({ outcome: 'processed' });
    });
  });
});
