import { randomBytes } from 'node:crypto';
import { mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { paginateScan } from '@aws-sdk/lib-dynamodb';
import { SignJWT } from 'jose';
import { createDocumentClient } from '#shared/adapters/dynamodb/document-client.ts';
import { TENANT_DATA_SK } from '#shared/adapters/dynamodb/tenant-data-store-dynamodb.ts';
import { type RunningDynalite, startDynaliteWithTable } from '#shared/adapters/local/dynalite-server.ts';
import { migrateLegacyFileSecrets } from '#shared/adapters/local/file-credential-stores.ts';
import { InProcessQueues } from '#shared/adapters/local/in-process-queues.ts';
import { createSessionVerifier } from '#shared/adapters/session/session-verifier.ts';
import { type Env, loadConfig } from '#shared/config/config.ts';
import { TENANT_ID_PATTERN, TENANT_SLUG_PATTERN } from '#shared/domain/tenant.ts';
import { systemClock } from '#shared/ports/clock.ts';
import { processBackfillJob } from '#shared/use-cases/backfill/process-backfill-job.ts';
import { eraseTenantData } from '#shared/use-cases/data/erase-tenant-data.ts';
import { scheduleSweeps } from '#shared/use-cases/reconcile/schedule-sweeps.ts';
import { sweepAccountEvents } from '#shared/use-cases/reconcile/sweep-account-events.ts';
import { retryRevocation } from '#shared/use-cases/retry-revocation.ts';
import type { AppDependencies } from '../../functions/commons/dependencies.ts';
import type { HttpHandler } from '../../functions/commons/http-handler.ts';
import { logger } from '../../functions/commons/logger.ts';
import { handler as notFound } from '../../functions/not-found.ts';
import { type HttpRoute, httpRoutes } from '../../functions/routes.ts';
import { matchPath, parseRequestUrl, toApiGatewayEvent, writeApiGatewayResult } from './api-gateway-event.ts';
import { type DevStackState, readDevStackState, STACK_STATE_FILE } from './dev-stack-state.ts';
import { createLocalDependencies } from './local-dependencies.ts';
import { renderSettingsPage } from './settings-page.ts';
import { type StripeEmulator, startStripeEmulator } from './stripe-emulator.ts';

export const LOCAL_TABLE_NAME = 'compass-stripe-connect-local';
/** The Host names the local stack answers (anything else: 421). */
const LOOPBACK_HOSTS = ['localhost', '127.0.0.1', '[::1]'];

// `npm run backfill` finds the running stack's DynamoDB through this file.
export { STACK_STATE_FILE } from './dev-stack-state.ts';

const MAX_BODY_BYTES = 10 * 1024 * 1024;

export interface LocalStackOptions {
  readonly env: Env;
  /** Where dynalite data and the stand-in secrets live (default `.data/`). */
  readonly dataDir?: string;
  readonly port?: number;
  /** Keep dynalite in memory (tests). */
  readonly inMemory?: boolean;
  readonly reset?: boolean;
  /** Port of the embedded Stripe emulator (started when no Stripe is configured); 0 picks one. */
  readonly emulatorPort?: number;
}

export interface LocalStack {
  readonly url: string;
  readonly deps: AppDependencies;
  readonly queues: InProcessQueues;
  /** Set when no Stripe was configured and the embedded emulator serves instead. */
  readonly stripeEmulator: StripeEmulator | undefined;
  /** A link that signs the browser in as a demo tenant (local only). */
  signInUrl(tenant?: { tenantId: string; tenantSlug: string }): string;
  close(): Promise<void>;
}

/** The repository root: route entries are relative to it. */
const REPO_ROOT = fileURLToPath(new URL('../../', import.meta.url));

/** The route's handler over the local composition, from the module the route table names. */
async function loadRouteHandler(route: HttpRoute, deps: AppDependencies): Promise<HttpHandler> {
  const module = (await import(pathToFileURL(join(REPO_ROOT, route.entry)).href)) as {
    createHandler?: (deps: AppDependencies) => HttpHandler;
  };
  if (typeof module.createHandler !== 'function') {
    throw new Error(`${route.entry} (route ${route.name}) exports no createHandler`);
  }
  return module.createHandler(deps);
}

/**
 * The API on localhost: the same handler factories the Lambdas use, fed API Gateway v2 events,
 * with dynalite for DynamoDB, files for Secrets Manager and in-process queues for SQS.
 */
export async function startLocalStack(options: LocalStackOptions): Promise<LocalStack> {
  const port = options.port ?? Number(options.env.PORT ?? 3000);
  const dataDir = resolve(options.dataDir ?? options.env.LOCAL_DATA_DIR ?? '.data');
  if (options.reset) {
    // Wiping a running stack's data would leave it serving from deleted files (and still fail here
    // on its ports): refuse first.
    const running = await readDevStackState(dataDir);
    if (running) {
      throw new Error(
        `Another npm run dev (process ${running.pid}, ${running.url}) uses ${dataDir}: stop it before --reset`,
      );
    }
    await rm(dataDir, { recursive: true, force: true });
  }
  await mkdir(dataDir, { recursive: true, mode: 0o700 });

  const sessionSecret = options.env.SESSION_JWT_SECRET ?? (await localSessionSecret(dataDir));
  // No Stripe configured at all: the embedded emulator stands in (real variables switch it off).
  const stripeConfigured = ['STRIPE_API_BASE_URL', 'STRIPE_SECRET_KEY', 'STRIPE_CONNECT_CLIENT_ID'].some(
    (name) => options.env[name],
  );
  const stripeEmulator = stripeConfigured
    ? undefined
    : await startStripeEmulator({
        port: options.emulatorPort ?? Number(options.env.STRIPE_EMULATOR_PORT ?? 12111),
      }).catch((error: NodeJS.ErrnoException) => {
        throw error.code === 'EADDRINUSE'
          ? new Error(
              'The Stripe emulator port is already in use (another npm run dev or npm run stripe:fake?): stop what uses it or set STRIPE_EMULATOR_PORT',
            )
          : error;
      });
  const stripeEnv: Env = stripeEmulator
    ? {
        STRIPE_CONNECT_CLIENT_ID: stripeEmulator.stripe.clientId,
        STRIPE_SECRET_KEY: stripeEmulator.stripe.secretKey,
        STRIPE_API_BASE_URL: stripeEmulator.url,
        STRIPE_CONNECT_BASE_URL: stripeEmulator.url,
        // The emulator signs the events it fires with this, so the Connect endpoint needs no setup.
        STRIPE_CONNECT_WEBHOOK_SECRET:
          options.env.STRIPE_CONNECT_WEBHOOK_SECRET || `whsec_${randomBytes(24).toString('base64url')}`,
      }
    : {};
  const configFor = (baseUrl: string) => {
    const env: Env = {
      OAUTH_REDIRECT_BASE_URL: baseUrl,
      ...options.env,
      ...stripeEnv,
      ...(options.env.SESSION_JWKS_URL ? {} : { SESSION_JWT_SECRET: sessionSecret }),
    };
    const config = loadConfig(env, ['stripe', 'stripeKey', 'oauth', 'session', 'connectWebhook']);
    if (config.stripeKey.secretKey.kind !== 'value') {
      throw new Error(
        'The local stack reads the platform key from STRIPE_SECRET_KEY, not from Secrets Manager',
      );
    }
    const connect = config.connectWebhook.secret;
    if (connect && connect.kind !== 'value') {
      throw new Error('The local stack reads the Connect webhook secret from STRIPE_CONNECT_WEBHOOK_SECRET');
    }
    return { config, secretKey: config.stripeKey.secretKey.value, connectWebhookSecret: connect?.value };
  };
  const stopEmulator = async () => {
    await stripeEmulator?.stripe.stop();
  };
  // Fail on bad configuration before taking the port.
  try {
    configFor(`http://localhost:${port}`);
  } catch (error) {
    await stopEmulator();
    throw error;
  }

  // Listen first: with port 0 the callback URL depends on the port the system picks.
  let serve: (req: IncomingMessage, res: ServerResponse) => Promise<void> = async (_req, res) => {
    res.writeHead(503, { 'content-type': 'application/json' });
    res.end('{"error":"starting","message":"The local stack is starting"}');
  };
  const handle = (req: IncomingMessage, res: ServerResponse) => {
    // Only loopback names: a page whose own name resolves to 127.0.0.1 (DNS rebinding) must not
    // sign in, read records or disconnect.
    const host = (req.headers.host ?? '').replace(/:\d+$/, '');
    if (!LOOPBACK_HOSTS.includes(host)) {
      writeApiGatewayResult(res, {
        statusCode: 421,
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({
          error: 'misdirected_request',
          message: 'The local stack answers localhost only',
        }),
      });
      return;
    }
    serve(req, res).catch((error: unknown) => {
      logger.error('local_server_error', { errorName: String((error as Error)?.name) });
      if (!res.headersSent)
        writeApiGatewayResult(res, {
          statusCode: 500,
          headers: { 'content-type': 'application/json' },
          body: '{"error":"internal_error","message":"Something went wrong on our side"}',
        });
    });
  };
  const server = createServer(handle);
  // `localhost` is ::1 as well as 127.0.0.1, and browsers try ::1 first: take the port on both.
  const server6 = createServer(handle);
  await new Promise<void>((resolvePromise, reject) => {
    server.once('error', (error: NodeJS.ErrnoException) => {
      reject(
        error.code === 'EADDRINUSE'
          ? new Error(`Port ${port} is already in use: stop what uses it or set PORT to another port`)
          : error,
      );
    });
    server.listen(port, '127.0.0.1', () => resolvePromise());
  }).catch(async (error) => {
    await stopEmulator();
    throw error;
  });
  const boundPort = (server.address() as AddressInfo).port;
  const ipv6 = await new Promise<boolean>((resolvePromise, reject) => {
    server6.once('error', (error: NodeJS.ErrnoException) => {
      // No IPv6 on this machine: 127.0.0.1 alone is what localhost means here.
      if (error.code === 'EADDRNOTAVAIL' || error.code === 'EAFNOSUPPORT') resolvePromise(false);
      else
        reject(
          error.code === 'EADDRINUSE'
            ? new Error(`Port ${boundPort} is already in use: stop what uses it or set PORT to another port`)
            : error,
        );
    });
    server6.listen(boundPort, '::1', () => resolvePromise(true));
  }).catch(async (error) => {
    await new Promise<void>((r) => server.close(() => r()));
    await stopEmulator();
    throw error;
  });
  const url = `http://localhost:${boundPort}`;
  const closeServer = async () => {
    const closing = [server, ...(ipv6 ? [server6] : [])].map(
      (s) =>
        new Promise<void>((r) => {
          s.closeAllConnections();
          s.close(() => r());
        }),
    );
    await Promise.all(closing);
  };

  const { config, secretKey, connectWebhookSecret } = configFor(url);
  const settingsUrl = `${url}/settings/integrations`;
  // Like Stripe's Connect settings: codes go only to the platform's registered redirect URI.
  if (stripeEmulator) stripeEmulator.stripe.redirectUris = [config.oauth.redirectUri];
  if (stripeEmulator && connectWebhookSecret) {
    stripeEmulator.deliverTo({
      connectUrl: `${url}/api/webhooks/stripe-connect`,
      secret: connectWebhookSecret,
      settingsUrl,
    });
  }
  let dynalite: RunningDynalite;
  try {
    dynalite = await startDynaliteWithTable(
      LOCAL_TABLE_NAME,
      options.inMemory ? {} : { path: join(dataDir, 'dynamodb') },
    );
  } catch (error) {
    await closeServer();
    await stopEmulator();
    throw new Error(
      `Cannot open the local DynamoDB data in ${dataDir} (is another npm run dev running?): ${(error as Error).message}`,
    );
  }
  // Lets `npm run backfill` use this stack's DynamoDB while it runs (its files are locked).
  const stateFile = join(dataDir, STACK_STATE_FILE);
  if (!options.inMemory) {
    // No secrets in it: `npm run dev:events` asks the emulator (which holds the signing secret) to fire.
    const state: DevStackState = {
      pid: process.pid,
      dynamoEndpoint: dynalite.endpoint,
      url,
      emulatorUrl: stripeEmulator?.url ?? null,
    };
    await writeFile(stateFile, JSON.stringify(state), { mode: 0o600 });
  }

  let deps: AppDependencies | undefined;
  const queues = new InProcessQueues(
    {
      revocation: async (job) => {
        if (deps) await retryRevocation(deps, job);
      },
      // The worker's 15 minutes, as on Lambda; a longer run continues through the queue.
      backfill: async (job) => {
        if (deps) {
          await processBackfillJob(
            { ...deps, source: deps.backfillSource },
            job,
            systemClock.now().getTime() + 15 * 60_000,
          );
        }
      },
      // As the deployed workers: 5 minutes an invocation, continuations through the queue.
      erasure: async (job) => {
        if (deps) await eraseTenantData(deps, job, systemClock.now().getTime() + WORKER_MS);
      },
      reconcile: async (job) => {
        if (!deps) return;
        const invocation = localWorkerContext();
        if (job.kind === 'all') {
          // No spread locally: the interval is short and there are few tenants.
          await scheduleSweeps(deps, job.cursor, () => invocation.getRemainingTimeInMillis(), 0);
        } else {
          await sweepAccountEvents({ ...deps, events: deps.stripeEvents }, job.tenantId, invocation);
        }
      },
    },
    (error, message) =>
      logger.error('local_queue_delivery_failed', {
        queue: message.queue,
        errorName: String((error as Error)?.name),
      }),
  );
  const moved = await migrateLegacyFileSecrets(join(dataDir, 'secrets'));
  if (moved > 0) logger.info('local_secrets_migrated', { tenants: moved });
  deps = createLocalDependencies({
    dynamoEndpoint: dynalite.endpoint,
    tableName: LOCAL_TABLE_NAME,
    secretsDir: join(dataDir, 'secrets'),
    stripe: config.stripe,
    stripeSecretKey: secretKey,
    connectWebhookSecret,
    oauth: config.oauth,
    sessions: createSessionVerifier(config.session),
    queues,
    clock: systemClock,
    log: logger,
  });
  const appDeps = deps;
  if (stripeEmulator) {
    await restoreEmulatorConnection(appDeps, stripeEmulator).catch((error: unknown) =>
      logger.warn('local_emulator_connection_not_restored', { errorName: String((error as Error)?.name) }),
    );
  }

  // A backfill the last run left queued or running died with its in-process queue: hand it back
  // to the queue (its lease released: that process is gone), so it resumes from its checkpoint
  // instead of showing "importing" until it goes stale an hour later.
  await resumeLeftBackfills(dynalite.endpoint, appDeps, queues).catch((error: unknown) =>
    logger.warn('local_backfill_not_resumed', { errorName: String((error as Error)?.name) }),
  );
  // Erasures died with the in-process queue too: each resumes from its checkpoint.
  await resumeLeftErasures(dynalite.endpoint, queues).catch((error: unknown) =>
    logger.warn('local_erasure_not_resumed', { errorName: String((error as Error)?.name) }),
  );
  // The deployed schedule's tick (every 15 minutes) every RECONCILE_INTERVAL_S seconds; 0: never.
  const reconcileEverySeconds = reconcileInterval(options.env.RECONCILE_INTERVAL_S);
  const reconcileTimer =
    reconcileEverySeconds > 0
      ? setInterval(() => {
          queues.enqueueReconcile([{ kind: 'all' }]).catch(() => undefined);
        }, reconcileEverySeconds * 1000)
      : undefined;
  reconcileTimer?.unref();

  // API Gateway prefers the most specific route (`/api/stripe/metrics` over `/api/stripe/{collection}`).
  const routes = await Promise.all(
    [...httpRoutes]
      .sort((a, b) => routeParameters(a.path) - routeParameters(b.path))
      .map(async (route) => ({ route, handler: await loadRouteHandler(route, appDeps) })),
  );

  serve = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    const requestUrl = parseRequestUrl(req, url);
    if (!requestUrl) {
      writeApiGatewayResult(res, {
        statusCode: 400,
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ error: 'bad_request', message: 'The request target is not a valid URL' }),
      });
      return;
    }
    const method = req.method ?? 'GET';
    if (method === 'GET' && requestUrl.pathname === '/dev/sign-in') return signIn(requestUrl, res);
    if (
      method === 'GET' &&
      (requestUrl.pathname === '/' || requestUrl.pathname === '/settings/integrations')
    ) {
      if (requestUrl.pathname === '/') return redirectTo(res, '/settings/integrations');
      res.writeHead(200, { 'content-type': 'text/html; charset=utf-8', 'cache-control': 'no-store' });
      res.end(renderSettingsPage({ emulatorUrl: stripeEmulator?.url }));
      return;
    }
    const body = await readBody(req);
    if (body === undefined) {
      writeApiGatewayResult(res, {
        statusCode: 413,
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ error: 'payload_too_large', message: 'Request bodies are limited to 10 MB' }),
      });
      return;
    }
    for (const { route, handler } of routes) {
      if (route.method !== method) continue;
      const params = matchPath(route.path, requestUrl.pathname);
      if (!params) continue;
      const event = toApiGatewayEvent(req, body, `${route.method} ${route.path}`, params);
      writeApiGatewayResult(res, await handler(event, localContext(route.name)));
      return;
    }
    writeApiGatewayResult(
      res,
      await notFound(toApiGatewayEvent(req, body, '$default'), localContext('NotFound')),
    );
  };

  async function signIn(url: URL, res: ServerResponse): Promise<void> {
    const tenantId = url.searchParams.get('tenantId') ?? 'demo-clinic';
    const tenantSlug = url.searchParams.get('tenantSlug') ?? 'demo-clinic';
    if (!TENANT_ID_PATTERN.test(tenantId) || !TENANT_SLUG_PATTERN.test(tenantSlug)) {
      writeApiGatewayResult(res, {
        statusCode: 400,
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ error: 'invalid_tenant', message: 'tenantId or tenantSlug is malformed' }),
      });
      return;
    }
    const token = await new SignJWT({ tenantId, tenantSlug })
      .setProtectedHeader({ alg: 'HS256' })
      .setSubject('dev-user')
      .setIssuedAt()
      .setExpirationTime('12h')
      .sign(new TextEncoder().encode(sessionSecret));
    res.writeHead(302, {
      location: '/settings/integrations',
      'set-cookie': `compass_session=${token}; Path=/; HttpOnly; SameSite=Lax; Max-Age=43200`,
    });
    res.end();
  }

  return {
    url,
    deps: appDeps,
    queues,
    stripeEmulator,
    signInUrl: (tenant) =>
      `${url}/dev/sign-in${tenant ? `?${new URLSearchParams({ tenantId: tenant.tenantId, tenantSlug: tenant.tenantSlug })}` : ''}`,
    async close() {
      if (reconcileTimer) clearInterval(reconcileTimer);
      queues.close();
      await closeServer();
      if (!options.inMemory) await rm(stateFile, { force: true });
      await dynalite.close();
      await stopEmulator();
    },
  };
}

/**
 * The emulator keeps its state in memory, while `.data/` remembers a connection from the last
 * run: grant the demo account again, so the backfill and events keep working after a restart
 * instead of Stripe answering that the account is not connected.
 */
async function restoreEmulatorConnection(deps: AppDependencies, emulator: StripeEmulator): Promise<void> {
  const accountId = emulator.stripe.consentAccount;
  const integration = await deps.integrations.findByStripeAccount(accountId);
  if (integration?.status === 'connected') emulator.stripe.connectAccount(accountId, integration.livemode);
}

/** Re-queues every backfill run a previous process of this stack left queued or running. */
async function resumeLeftBackfills(
  dynamoEndpoint: string,
  deps: AppDependencies,
  queues: InProcessQueues,
): Promise<void> {
  const db = createDocumentClient({ endpoint: dynamoEndpoint });
  for await (const page of paginateScan(
    { client: db },
    {
      TableName: LOCAL_TABLE_NAME,
      FilterExpression: 'sk = :sk AND #status IN (:queued, :running)',
      ExpressionAttributeNames: { '#status': 'status' },
      ExpressionAttributeValues: { ':sk': 'BACKFILL#stripe', ':queued': 'queued', ':running': 'running' },
    },
  )) {
    for (const item of page.Items ?? []) {
      const { tenantId, runId, days } = item as { tenantId?: unknown; runId?: unknown; days?: unknown };
      if (typeof tenantId !== 'string' || typeof runId !== 'string') continue;
      await deps.backfillStatus.release(tenantId, runId);
      await queues.enqueueBackfill({ tenantId, runId, days: typeof days === 'number' ? days : 90 });
      logger.info('local_backfill_resumed', { tenantId, runId });
    }
  }
}

async function resumeLeftErasures(dynamoEndpoint: string, queues: InProcessQueues): Promise<void> {
  const db = createDocumentClient({ endpoint: dynamoEndpoint });
  for await (const page of paginateScan(
    { client: db },
    {
      TableName: LOCAL_TABLE_NAME,
      FilterExpression: 'sk = :sk AND #state = :erasing',
      ExpressionAttributeNames: { '#state': 'state' },
      ExpressionAttributeValues: { ':sk': TENANT_DATA_SK, ':erasing': 'erasing' },
    },
  )) {
    for (const item of page.Items ?? []) {
      const tenantId = String(item.pk).slice('TENANT#'.length);
      await queues.enqueueErasure({ tenantId, stripeAccountId: String(item.stripeAccountId) });
      logger.info('local_erasure_resumed', { tenantId });
    }
  }
}

/** README "Catch-up from the Events API": 60 seconds unless RECONCILE_INTERVAL_S says otherwise (0 turns the sweep off). */
export function reconcileInterval(value: string | undefined): number {
  if (value === undefined || value === '') return 60;
  const seconds = Number(value);
  if (!Number.isInteger(seconds) || seconds < 0 || seconds > 86_400) {
    throw new Error('RECONCILE_INTERVAL_S must be a whole number of seconds from 0 to 86400');
  }
  return seconds;
}

/** A per-checkout random session key, so the local stack needs no configuration for sign-in. */
async function localSessionSecret(dataDir: string): Promise<string> {
  const file = join(dataDir, 'session-secret');
  try {
    return (await readFile(file, 'utf8')).trim();
  } catch {
    const secret = randomBytes(32).toString('base64url');
    await writeFile(file, secret, { mode: 0o600 });
    return secret;
  }
}

function redirectTo(res: ServerResponse, location: string): void {
  res.writeHead(302, { location });
  res.end();
}

async function readBody(req: IncomingMessage): Promise<Buffer | undefined> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req) {
    size += (chunk as Buffer).length;
    if (size > MAX_BODY_BYTES) return undefined;
    chunks.push(chunk as Buffer);
  }
  return Buffer.concat(chunks);
}

/** As deployed (HTTP_FUNCTION_TIMEOUT): a ledger lease taken here ends with this deadline. */
const LOCAL_HTTP_TIMEOUT_MS = 10_000;

/** The deployed erasure and reconcile workers' timeout. */
const WORKER_MS = 5 * 60_000;

function localWorkerContext() {
  const deadline = Date.now() + WORKER_MS;
  return { getRemainingTimeInMillis: () => Math.max(0, deadline - Date.now()) };
}

function localContext(functionName: string) {
  const deadline = Date.now() + LOCAL_HTTP_TIMEOUT_MS;
  return {
    functionName,
    functionVersion: '$LATEST',
    invokedFunctionArn: `arn:aws:lambda:local:000000000000:function:${functionName}`,
    memoryLimitInMB: '256',
    awsRequestId: randomBytes(8).toString('hex'),
    logGroupName: 'local',
    logStreamName: 'local',
    callbackWaitsForEmptyEventLoop: false,
    getRemainingTimeInMillis: () => Math.max(0, deadline - Date.now()),
    done: () => undefined,
    fail: () => undefined,
    succeed: () => undefined,
  };
}

/** How many `{parameter}` segments a route path has: literal segments match first. */
function routeParameters(path: string): number {
  return path.split('/').filter((segment) => segment.startsWith('{')).length;
}
