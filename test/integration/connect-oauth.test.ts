import { ScanCommand } from '@aws-sdk/lib-dynamodb';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createDocumentClient } from '#shared/adapters/dynamodb/document-client.ts';
import { beginConnect, callbackQuery, type Handlers, handlersFor } from '../support/handlers.ts';
import { APP_BASE_URL, createTestApp, type TestApp, tenantA, tenantB } from '../support/harness.ts';

const SETTINGS = `${APP_BASE_URL}/settings/integrations`;
const OUTCOMES = [
  `${SETTINGS}?connected=stripe`,
  `${SETTINGS}?error=stripe_denied`,
  `${SETTINGS}?error=stripe_state_invalid`,
  `${SETTINGS}?error=stripe_exchange_failed`,
  `${SETTINGS}?error=stripe_account_in_use`,
];

let app: TestApp;
let handlers: Handlers;
let tokenA: string;
let tokenB: string;

beforeEach(async () => {
  app = await createTestApp();
  handlers = handlersFor(app);
  tokenA = await app.session(tenantA);
  tokenB = await app.session(tenantB);
});
afterEach(() => app.close());

async function scanTable(): Promise<Record<string, unknown>[]> {
  const db = createDocumentClient({ endpoint: app.dynamoEndpoint });
  const { Items } = await db.send(new ScanCommand({ TableName: app.tableName }));
  return Items ?? [];
}

/** Full happy path for one tenant; returns the account id connected. */
async function connect(token: string, accountId = 'acct_1ClinicA') {
  const flow = await beginConnect(handlers, token);
  const code = app.stripe.issueCode(accountId);
  const response = await handlers.callback({
    query: callbackQuery({ code, state: flow.state, scope: 'read_write' }),
    cookies: [flow.cookie],
  });
  return { response, code, flow };
}

describe('GET /api/connect/stripe (start)', () => {
  it('redirects to Stripe with the contract parameters and binds the flow to the browser', async () => {
    const { response, location, state } = await beginConnect(handlers, tokenA);

    expect(response.statusCode).toBe(302);
    expect(`${location.origin}${location.pathname}`).toBe('https://connect.stripe.test/oauth/authorize');
    expect(location.searchParams.get('response_type')).toBe('code');
    expect(location.searchParams.get('client_id')).toBe(app.stripe.clientId);
    expect(location.searchParams.get('scope')).toBe('read_write');
    expect(location.searchParams.get('redirect_uri')).toBe(
      'https://api.compass.test/api/connect/stripe/callback',
    );
    expect(state).toMatch(/^[A-Za-z0-9_-]{43}$/);
    const cookie = response.cookies[0] ?? '';
    expect(cookie).toMatch(/^__Host-compass_stripe_oauth=[A-Za-z0-9_-]{43};/);
    expect(cookie).toContain('HttpOnly');
    expect(cookie).toContain('SameSite=Lax');
    expect(cookie).toContain('Secure');
    expect(cookie).toContain('Max-Age=600');
    expect(cookie).toContain('Path=/;');
  });

  it('stores only hashes of the state and the browser binding, with a 10-minute expiry', async () => {
    const { state, cookie } = await beginConnect(handlers, tokenA);

    const items = await scanTable();
    expect(items).toHaveLength(1);
    const text = JSON.stringify(items);
    expect(text).not.toContain(state);
    expect(text).not.toContain(cookie.split('=')[1]);
    expect(items[0]?.expiresAt).toBe(Math.floor(app.clock.now().getTime() / 1000) + 600);
    expect(items[0]?.tenantId).toBe('tenant_a');
  });

  it('gives a new state each time', async () => {
    const first = await beginConnect(handlers, tokenA);
    const second = await beginConnect(handlers, tokenA);
    expect(first.state).not.toBe(second.state);
  });

  it('refuses a request without a session with a JSON 401 and stores nothing', async () => {
    const response = await handlers.start();
    expect(response.statusCode).toBe(401);
    expect(response.json()).toEqual({ error: 'unauthorized', message: expect.any(String) });
    expect(await scanTable()).toHaveLength(0);
  });
});

describe('GET /api/connect/stripe/callback', () => {
  it('connects: stores the token in the secret store, the integration row, and queues a backfill', async () => {
    const { response, code } = await connect(tokenA);

    expect(response.statusCode).toBe(302);
    expect(response.headers.location).toBe(`${SETTINGS}?connected=stripe`);
    expect(response.cookies[0]).toMatch(/^__Host-compass_stripe_oauth=; Max-Age=0;/);
    const integration = await app.deps.integrations.getByTenant('tenant_a');
    expect(integration).toMatchObject({
      tenantId: 'tenant_a',
      tenantSlug: 'clinic-a',
      stripeAccountId: 'acct_1ClinicA',
      livemode: false,
      scope: 'read_write',
      status: 'connected',
      connectedAt: app.clock.now().toISOString(),
    });
    const credential = await app.deps.tokens.get('tenant_a');
    expect(credential?.stripe_user_id).toBe('acct_1ClinicA');
    expect(credential?.access_token).toMatch(/^sk_test_/);
    // Only what is needed of Stripe's token response is kept.
    expect(Object.keys(credential ?? {}).sort()).toEqual(
      ['access_token', 'livemode', 'refresh_token', 'scope', 'stripe_user_id'].sort(),
    );
    expect(app.queues.sent).toEqual([
      {
        queue: 'backfill',
        job: { tenantId: 'tenant_a', days: 90, runId: expect.any(String) },
        delaySeconds: 0,
      },
    ]);
    expect((await app.deps.backfillStatus.get('tenant_a'))?.status).toBe('queued');
    // The DynamoDB side holds no secret at all.
    const table = JSON.stringify(await scanTable());
    expect(table).not.toContain(credential?.access_token);
    expect(table).not.toContain(code);
    expect(app.stripe.requestsTo('/oauth/token')).toHaveLength(1);
    expect(app.stripe.requestsTo('/oauth/token')[0]?.params).toMatchObject({
      grant_type: 'authorization_code',
      code,
    });
  });

  it('is the OAuth state that names the tenant, not a query parameter', async () => {
    const flow = await beginConnect(handlers, tokenA);
    const code = app.stripe.issueCode('acct_1ClinicA');
    await handlers.callback({
      query: `${callbackQuery({ code, state: flow.state })}&tenantId=tenant_b`,
      cookies: [flow.cookie],
    });
    expect(await app.deps.integrations.getByTenant('tenant_b')).toBeUndefined();
    expect((await app.deps.integrations.getByTenant('tenant_a'))?.stripeAccountId).toBe('acct_1ClinicA');
  });

  describe('refuses the state as stripe_state_invalid', () => {
    it('when it is missing', async () => {
      const response = await handlers.callback({ query: callbackQuery({ code: app.stripe.issueCode() }) });
      expect(response.headers.location).toBe(`${SETTINGS}?error=stripe_state_invalid`);
      expect(app.stripe.requestsTo('/oauth/token')).toHaveLength(0);
    });

    it('when it is unknown', async () => {
      const flow = await beginConnect(handlers, tokenA);
      const response = await handlers.callback({
        query: callbackQuery({ code: app.stripe.issueCode(), state: 'A'.repeat(43) }),
        cookies: [flow.cookie],
      });
      expect(response.headers.location).toBe(`${SETTINGS}?error=stripe_state_invalid`);
    });

    it('when it expired (10 minutes), even though DynamoDB TTL has not deleted it yet', async () => {
      const flow = await beginConnect(handlers, tokenA);
      app.clock.advance(600_001);
      const response = await handlers.callback({
        query: callbackQuery({ code: app.stripe.issueCode(), state: flow.state }),
        cookies: [flow.cookie],
      });
      expect(response.headers.location).toBe(`${SETTINGS}?error=stripe_state_invalid`);
      expect(app.stripe.requestsTo('/oauth/token')).toHaveLength(0);
    });

    it('when it was already used', async () => {
      const { flow } = await connect(tokenA);
      const response = await handlers.callback({
        query: callbackQuery({ code: app.stripe.issueCode('acct_1Other'), state: flow.state }),
        cookies: [flow.cookie],
      });
      expect(response.headers.location).toBe(`${SETTINGS}?error=stripe_state_invalid`);
      expect((await app.deps.integrations.getByTenant('tenant_a'))?.stripeAccountId).toBe('acct_1ClinicA');
    });

    it('when it comes back to another browser (no or wrong binding cookie), and the state is used up', async () => {
      const flow = await beginConnect(handlers, tokenA);
      const other = await beginConnect(handlers, tokenA);
      const noCookie = await handlers.callback({
        query: callbackQuery({ code: app.stripe.issueCode(), state: flow.state }),
      });
      expect(noCookie.headers.location).toBe(`${SETTINGS}?error=stripe_state_invalid`);
      const wrongCookie = await handlers.callback({
        query: callbackQuery({ code: app.stripe.issueCode(), state: other.state }),
        cookies: [flow.cookie],
      });
      expect(wrongCookie.headers.location).toBe(`${SETTINGS}?error=stripe_state_invalid`);
      // Used up: the right browser cannot use it afterwards either.
      const retry = await handlers.callback({
        query: callbackQuery({ code: app.stripe.issueCode(), state: other.state }),
        cookies: [other.cookie],
      });
      expect(retry.headers.location).toBe(`${SETTINGS}?error=stripe_state_invalid`);
      expect(app.stripe.requestsTo('/oauth/token')).toHaveLength(0);
      expect(await app.deps.integrations.getByTenant('tenant_a')).toBeUndefined();
    });

    it('when a session of another tenant is presented with it', async () => {
      const flow = await beginConnect(handlers, tokenA);
      const response = await handlers.callback({
        query: callbackQuery({ code: app.stripe.issueCode(), state: flow.state }),
        cookies: [flow.cookie, `compass_session=${tokenB}`],
      });
      expect(response.headers.location).toBe(`${SETTINGS}?error=stripe_state_invalid`);
      expect(await app.deps.integrations.getByTenant('tenant_a')).toBeUndefined();
      expect(await app.deps.integrations.getByTenant('tenant_b')).toBeUndefined();
    });

    it('when the state parameter is duplicated, and both values are used up', async () => {
      const flow = await beginConnect(handlers, tokenA);
      const code = app.stripe.issueCode();
      const response = await handlers.callback({
        query: `code=${code}&state=${flow.state}&state=${flow.state}`,
        cookies: [flow.cookie],
      });
      expect(response.headers.location).toBe(`${SETTINGS}?error=stripe_state_invalid`);
      const retry = await handlers.callback({
        query: callbackQuery({ code, state: flow.state }),
        cookies: [flow.cookie],
      });
      expect(retry.headers.location).toBe(`${SETTINGS}?error=stripe_state_invalid`);
    });
  });

  it('accepts the callback with the matching session present', async () => {
    const flow = await beginConnect(handlers, tokenA);
    const response = await handlers.callback({
      query: callbackQuery({ code: app.stripe.issueCode('acct_1ClinicA'), state: flow.state }),
      cookies: [flow.cookie, `compass_session=${tokenA}`],
    });
    expect(response.headers.location).toBe(`${SETTINGS}?connected=stripe`);
  });

  it('answers stripe_denied when the tenant pressed Cancel, and uses up the state', async () => {
    const flow = await beginConnect(handlers, tokenA);
    const denied = await handlers.callback({
      query: callbackQuery({
        error: 'access_denied',
        error_description: 'The user denied your request',
        state: flow.state,
      }),
      cookies: [flow.cookie],
    });
    expect(denied.headers.location).toBe(`${SETTINGS}?error=stripe_denied`);
    const retry = await handlers.callback({
      query: callbackQuery({ code: app.stripe.issueCode(), state: flow.state }),
      cookies: [flow.cookie],
    });
    expect(retry.headers.location).toBe(`${SETTINGS}?error=stripe_state_invalid`);
  });

  it('answers stripe_denied for error=access_denied without a state', async () => {
    const denied = await handlers.callback({ query: 'error=access_denied' });
    expect(denied.headers.location).toBe(`${SETTINGS}?error=stripe_denied`);
    expect(app.stripe.requestsTo('/oauth/token')).toHaveLength(0);
  });

  it('answers stripe_exchange_failed when the code was already used, without retrying', async () => {
    const { code } = await connect(tokenA);
    const flow = await beginConnect(handlers, tokenB);
    const response = await handlers.callback({
      query: callbackQuery({ code, state: flow.state }),
      cookies: [flow.cookie],
    });
    expect(response.headers.location).toBe(`${SETTINGS}?error=stripe_exchange_failed`);
    expect(app.stripe.requestsTo('/oauth/token')).toHaveLength(2);
    expect(await app.deps.integrations.getByTenant('tenant_b')).toBeUndefined();
  });

  it.each([
    ['a 500', { status: 500, body: { error: { type: 'api_error', message: 'boom' } } }],
    ['a 429', { status: 429, body: { error: { type: 'rate_limit_error', message: 'slow down' } } }],
  ])(
    'answers stripe_exchange_failed on %s from Stripe, with exactly one exchange attempt',
    async (_, fault) => {
      const flow = await beginConnect(handlers, tokenA);
      app.stripe.injectFault('/oauth/token', fault);
      const response = await handlers.callback({
        query: callbackQuery({ code: app.stripe.issueCode(), state: flow.state }),
        cookies: [flow.cookie],
      });
      expect(response.headers.location).toBe(`${SETTINGS}?error=stripe_exchange_failed`);
      expect(app.stripe.requestsTo('/oauth/token')).toHaveLength(1);
      expect(await app.deps.integrations.getByTenant('tenant_a')).toBeUndefined();
      expect(await app.deps.tokens.get('tenant_a')).toBeUndefined();
    },
  );

  it('retries a dropped exchange once (no answer came, so the code is unspent) with the same idempotency key', async () => {
    const flow = await beginConnect(handlers, tokenA);
    app.stripe.injectFault('/oauth/token', { drop: true });
    const response = await handlers.callback({
      query: callbackQuery({ code: app.stripe.issueCode('acct_1ClinicA'), state: flow.state }),
      cookies: [flow.cookie],
    });
    expect(response.headers.location).toBe(`${SETTINGS}?connected=stripe`);
    const [first, second] = app.stripe.requestsTo('/oauth/token');
    expect(second?.headers['idempotency-key']).toBe(first?.headers['idempotency-key']);
  });

  it('answers stripe_exchange_failed when the connection drops twice', async () => {
    const flow = await beginConnect(handlers, tokenA);
    app.stripe.injectFault('/oauth/token', { drop: true }, { drop: true });
    const response = await handlers.callback({
      query: callbackQuery({ code: app.stripe.issueCode(), state: flow.state }),
      cookies: [flow.cookie],
    });
    expect(response.headers.location).toBe(`${SETTINGS}?error=stripe_exchange_failed`);
    expect(app.stripe.requestsTo('/oauth/token')).toHaveLength(2);
    expect(await app.deps.integrations.getByTenant('tenant_a')).toBeUndefined();
  });

  it('answers stripe_exchange_failed for a missing or malformed code without calling Stripe', async () => {
    const queries: Record<string, string>[] = [{}, { code: 'not-a-code' }, { code: `ac_${'x'.repeat(300)}` }];
    for (const query of queries) {
      const flow = await beginConnect(handlers, tokenA);
      const response = await handlers.callback({
        query: callbackQuery({ ...query, state: flow.state }),
        cookies: [flow.cookie],
      });
      expect(response.headers.location).toBe(`${SETTINGS}?error=stripe_exchange_failed`);
    }
    expect(app.stripe.requestsTo('/oauth/token')).toHaveLength(0);
  });

  it('answers stripe_account_in_use when another tenant holds the account, and never revokes it', async () => {
    await connect(tokenA, 'acct_1Shared');
    const { response } = await connect(tokenB, 'acct_1Shared');

    expect(response.headers.location).toBe(`${SETTINGS}?error=stripe_account_in_use`);
    expect(app.stripe.requestsTo('/oauth/deauthorize')).toHaveLength(0);
    expect(app.stripe.isConnected('acct_1Shared')).toBe(true);
    expect(await app.deps.integrations.getByTenant('tenant_b')).toBeUndefined();
    expect(await app.deps.tokens.get('tenant_b')).toBeUndefined();
    expect((await app.deps.integrations.getByTenant('tenant_a'))?.status).toBe('connected');
  });

  it('takes over a claim left behind by a tenant that no longer holds the account', async () => {
    await connect(tokenA, 'acct_1Shared');
    // A crashed disconnect deleted the row but not the claim.
    await app.deps.integrations.delete('tenant_a', 'acct_1Shared');
    const early = await connect(tokenB, 'acct_1Shared');
    // Within the grace period the claim may be a connect still in progress: refused.
    expect(early.response.headers.location).toBe(`${SETTINGS}?error=stripe_account_in_use`);
    app.clock.advance(61_000);
    const { response } = await connect(tokenB, 'acct_1Shared');
    expect(response.headers.location).toBe(`${SETTINGS}?connected=stripe`);
    expect((await app.deps.integrations.findByStripeAccount('acct_1Shared'))?.tenantId).toBe('tenant_b');
  });

  it('gives the account to exactly one of two tenants connecting it at the same moment', async () => {
    const flowA = await beginConnect(handlers, tokenA);
    const flowB = await beginConnect(handlers, tokenB);
    const [a, b] = await Promise.all([
      handlers.callback({
        query: callbackQuery({ code: app.stripe.issueCode('acct_1Race'), state: flowA.state }),
        cookies: [flowA.cookie],
      }),
      handlers.callback({
        query: callbackQuery({ code: app.stripe.issueCode('acct_1Race'), state: flowB.state }),
        cookies: [flowB.cookie],
      }),
    ]);
    expect([a.headers.location, b.headers.location].sort()).toEqual([
      `${SETTINGS}?connected=stripe`,
      `${SETTINGS}?error=stripe_account_in_use`,
    ]);
    const holders = [
      await app.deps.integrations.getByTenant('tenant_a'),
      await app.deps.integrations.getByTenant('tenant_b'),
    ];
    expect(holders.filter((i) => i?.stripeAccountId === 'acct_1Race')).toHaveLength(1);
  });

  it('lets a tenant reconnect the same account, keeping its webhook secret', async () => {
    await connect(tokenA, 'acct_1ClinicA');
    await app.deps.webhookSecrets.save('tenant_a', {
      secret: `whsec_${'a'.repeat(32)}`,
      stripeAccountId: 'acct_1ClinicA',
    });
    await app.deps.integrations.setWebhookSecretConfigured('tenant_a', 'acct_1ClinicA', true);
    const { response } = await connect(tokenA, 'acct_1ClinicA');
    expect(response.headers.location).toBe(`${SETTINGS}?connected=stripe`);
    expect((await app.deps.webhookSecrets.get('tenant_a'))?.secret).toBe(`whsec_${'a'.repeat(32)}`);
    expect((await app.deps.integrations.getByTenant('tenant_a'))?.webhookSecretConfigured).toBe(true);
  });

  it('answers stripe_state_invalid for error=access_denied with a duplicated state', async () => {
    const flow = await beginConnect(handlers, tokenA);
    const response = await handlers.callback({
      query: `error=access_denied&state=${flow.state}&state=${flow.state}`,
      cookies: [flow.cookie],
    });
    expect(response.headers.location).toBe(`${SETTINGS}?error=stripe_state_invalid`);
  });

  it('treats a binding cookie sent twice (one may be planted by a sibling domain) as no binding', async () => {
    const flow = await beginConnect(handlers, tokenA);
    const planted = flow.cookie.replace(/=.*/, `=${'P'.repeat(43)}`);
    const response = await handlers.callback({
      query: callbackQuery({ code: app.stripe.issueCode(), state: flow.state }),
      cookies: [planted, flow.cookie],
    });
    expect(response.headers.location).toBe(`${SETTINGS}?error=stripe_state_invalid`);
  });

  it('when storing fails after the exchange: stripe_exchange_failed, claim freed, the new access queued for revocation', async () => {
    const flow = await beginConnect(handlers, tokenA);
    const tokens = app.depsFor('ConnectCallback').tokens;
    const save = tokens.save.bind(tokens);
    tokens.save = async () => {
      throw Object.assign(new Error('throttled'), { name: 'ThrottlingException', $metadata: {} });
    };
    const response = await handlers.callback({
      query: callbackQuery({ code: app.stripe.issueCode('acct_1Orphan'), state: flow.state }),
      cookies: [flow.cookie],
    });
    tokens.save = save;
    expect(response.statusCode).toBe(302);
    expect(response.headers.location).toBe(`${SETTINGS}?error=stripe_exchange_failed`);
    expect(await app.deps.integrations.accountHolder('acct_1Orphan')).toBeUndefined();
    expect(app.queues.sent).toContainEqual(
      expect.objectContaining({
        queue: 'revocation',
        delaySeconds: 0,
        job: expect.objectContaining({ stripeAccountId: 'acct_1Orphan' }),
      }),
    );
  });

  it('when DynamoDB fails after the exchange: still a redirect (never a 5xx page), with the access queued for revocation', async () => {
    const flow = await beginConnect(handlers, tokenA);
    app.depsFor('ConnectCallback').integrations.claimAccount = async () => {
      throw Object.assign(new Error('down'), { name: 'InternalServerError', $metadata: {} });
    };
    const response = await handlers.callback({
      query: callbackQuery({ code: app.stripe.issueCode('acct_1Orphan'), state: flow.state }),
      cookies: [flow.cookie],
    });
    expect(response.statusCode).toBe(302);
    expect(response.headers.location).toBe(`${SETTINGS}?error=stripe_exchange_failed`);
    expect(app.queues.sent.filter((m) => m.queue === 'revocation')).toHaveLength(1);
  });

  it('a callback arriving while the tenant is disconnecting is refused, and its new access queued for revocation', async () => {
    await connect(tokenA, 'acct_1Old');
    const flow = await beginConnect(handlers, tokenA);
    await app.deps.integrations.markDisconnecting('tenant_a', 'acct_1Old');
    const response = await handlers.callback({
      query: callbackQuery({ code: app.stripe.issueCode('acct_1New'), state: flow.state }),
      cookies: [flow.cookie],
    });
    expect(response.headers.location).toBe(`${SETTINGS}?error=stripe_exchange_failed`);
    expect((await app.deps.integrations.getByTenant('tenant_a'))?.stripeAccountId).toBe('acct_1Old');
    expect(app.queues.sent).toContainEqual(
      expect.objectContaining({
        queue: 'revocation',
        job: expect.objectContaining({ stripeAccountId: 'acct_1New' }),
      }),
    );
  });

  it('switching accounts while the queue is down keeps the old connection whole', async () => {
    await connect(tokenA, 'acct_1Old');
    const oldToken = (await app.deps.tokens.get('tenant_a'))?.access_token;
    app.queues.enqueueRevocation = async () => {
      throw Object.assign(new Error('queue down'), { name: 'ServiceUnavailable', $metadata: {} });
    };
    const flow = await beginConnect(handlers, tokenA);
    const response = await handlers.callback({
      query: callbackQuery({ code: app.stripe.issueCode('acct_1New'), state: flow.state }),
      cookies: [flow.cookie],
    });
    expect(response.headers.location).toBe(`${SETTINGS}?error=stripe_exchange_failed`);
    expect((await app.deps.integrations.getByTenant('tenant_a'))?.stripeAccountId).toBe('acct_1Old');
    expect((await app.deps.tokens.get('tenant_a'))?.access_token).toBe(oldToken);
    expect(await app.deps.integrations.accountHolder('acct_1Old')).toBe('tenant_a');
    expect(await app.deps.integrations.accountHolder('acct_1New')).toBeUndefined();
  });

  it('switching to another account frees the old one and queues its revocation', async () => {
    await connect(tokenA, 'acct_1Old');
    const { response } = await connect(tokenA, 'acct_1New');
    expect(response.headers.location).toBe(`${SETTINGS}?connected=stripe`);
    expect(await app.deps.integrations.findByStripeAccount('acct_1Old')).toBeUndefined();
    expect(app.queues.sent).toContainEqual(
      expect.objectContaining({
        queue: 'revocation',
        job: expect.objectContaining({ stripeAccountId: 'acct_1Old' }),
      }),
    );
    expect(await app.deps.webhookSecrets.get('tenant_a')).toBeUndefined();
    // Another tenant may now connect the old account.
    const other = await connect(tokenB, 'acct_1Old');
    expect(other.response.headers.location).toBe(`${SETTINGS}?connected=stripe`);
  });

  it('turns 10 concurrent callbacks with the same state into exactly one connection', async () => {
    const flow = await beginConnect(handlers, tokenA);
    const code = app.stripe.issueCode('acct_1ClinicA');
    const responses = await Promise.all(
      Array.from({ length: 10 }, () =>
        handlers.callback({ query: callbackQuery({ code, state: flow.state }), cookies: [flow.cookie] }),
      ),
    );
    const locations = responses.map((r) => r.headers.location);
    expect(locations.filter((l) => l === `${SETTINGS}?connected=stripe`)).toHaveLength(1);
    expect(locations.filter((l) => l === `${SETTINGS}?error=stripe_state_invalid`)).toHaveLength(9);
    expect(app.stripe.requestsTo('/oauth/token')).toHaveLength(1);
    expect(app.queues.sent.filter((m) => m.queue === 'backfill')).toHaveLength(1);
  });

  it('never reflects hostile query values into the redirect', async () => {
    const hostile = [
      '\r\nSet-Cookie: pwned=1',
      '<script>alert(1)</script>',
      `"><img src=x onerror=alert(1)>`,
      'x'.repeat(20_000),
      '%0d%0aLocation:%20https://evil.test',
    ];
    for (const value of hostile) {
      const queries: Record<string, string>[] = [
        { state: value, code: value },
        { error: value, error_description: value, state: value },
        { code: value },
      ];
      for (const query of queries) {
        const response = await handlers.callback({ query: callbackQuery(query) });
        expect(OUTCOMES).toContain(response.headers.location);
        expect(JSON.stringify(response)).not.toContain('script');
        expect(JSON.stringify(response)).not.toContain('pwned');
        expect(JSON.stringify(response)).not.toContain('evil');
      }
    }
    expect(app.stripe.requestsTo('/oauth/token')).toHaveLength(0);
  });
});
