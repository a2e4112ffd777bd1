import { randomUUID } from 'node:crypto';
import { type DynamoDBClient, DynamoDBServiceException } from '@aws-sdk/client-dynamodb';
import { SecretsManagerClient, SecretsManagerServiceException } from '@aws-sdk/client-secrets-manager';
import { SQSClient, SQSServiceException } from '@aws-sdk/client-sqs';
import type { APIGatewayProxyEventV2, Context } from 'aws-lambda';
import { SignJWT } from 'jose';
import { inject } from 'vitest';
import { createDynamoDbClient } from '#shared/adapters/dynamodb/document-client.ts';
import { createTableIfMissing } from '#shared/adapters/dynamodb/table-definition.ts';
import type { TenantIdentity } from '#shared/domain/tenant.ts';
import type { Clock } from '#shared/ports/clock.ts';
import type {
  BackfillJob,
  BackfillQueue,
  ErasureJob,
  ErasureQueue,
  ReconcileJob,
  ReconcileQueue,
  RevocationJob,
  RevocationQueue,
} from '#shared/ports/job-queues.ts';
import type { Log } from '#shared/ports/log.ts';
import { createAwsDependencies } from '../../functions/commons/aws-dependencies.ts';
import type { AppDependencies } from '../../functions/commons/dependencies.ts';
import { FakeStripe } from '../../scripts/stripe-emulator/fake-stripe-server.ts';
import { InMemorySecretsManager, InMemorySqs } from './aws-stand-ins.ts';
import { dynamoDbRequests, secretsManagerRequests, sqsRequests } from './iam/aws-requests.ts';
import { enforceIam } from './iam/iam-enforcement.ts';
import { iamModelFor } from './iam/iam-model.ts';

export const SESSION_SECRET = 'test-session-secret-of-at-least-32-bytes!!';
/** The platform's Connect endpoint secret in tests. */
export const CONNECT_WEBHOOK_SECRET = `whsec_${'c0nnect'.repeat(5)}`;
export const APP_BASE_URL = 'https://app.compass.test';

/** A clock the test moves by hand. */
export class TestClock implements Clock {
  constructor(private current = new Date('2026-11-27T12:00:00Z')) {}
  now(): Date {
    return new Date(this.current);
  }
  advance(ms: number): void {
    this.current = new Date(this.current.getTime() + ms);
  }
}

/** Keeps every log line as JSON text, the way a log sink would receive it. */
export class CapturingLog implements Log {
  readonly lines: string[] = [];
  info(message: string, ...extra: Record<string, unknown>[]) {
    this.lines.push(JSON.stringify({ level: 'INFO', message, ...Object.assign({}, ...extra) }));
  }
  warn(message: string, ...extra: Record<string, unknown>[]) {
    this.lines.push(JSON.stringify({ level: 'WARN', message, ...Object.assign({}, ...extra) }));
  }
  error(message: string, ...extra: Record<string, unknown>[]) {
    this.lines.push(JSON.stringify({ level: 'ERROR', message, ...Object.assign({}, ...extra) }));
  }
  messages(): string[] {
    return this.lines.map((line) => JSON.parse(line).message as string);
  }
}

export const tenantA: TenantIdentity = { tenantId: 'tenant_a', tenantSlug: 'clinic-a', userId: 'user_a' };
export const tenantB: TenantIdentity = { tenantId: 'tenant_b', tenantSlug: 'clinic-b', userId: 'user_b' };

export interface TestApp {
  /**
   * The deployed composition (functions/commons/aws-dependencies.ts) over dynalite, the fake
   * Stripe and in-memory Secrets Manager and SQS, through SDK clients that enforce, inside
   * `asFunction(name, …)`, the role the synthesized template gives that function.
   */
  readonly deps: AppDependencies;
  /**
   * The composition one deployed function has: its own caches (secrets, integrations, Stripe
   * pacing), as a container of that function would, over the same stores and queues.
   */
  depsFor(functionName: string): AppDependencies;
  readonly stripe: FakeStripe;
  readonly queues: TestQueues;
  readonly clock: TestClock;
  readonly log: CapturingLog;
  readonly tableName: string;
  readonly dynamoEndpoint: string;
  /**
   * The SDK clients every container of this app shares (their middleware stacks are where a
   * test injects faults, e.g. test/support/fault-injection.ts).
   */
  readonly dynamoDb: DynamoDBClient;
  readonly secretsManager: SecretsManagerClient;
  session(
    identity: TenantIdentity,
    options?: { expiresInSeconds?: number; secret?: string },
  ): Promise<string>;
  close(): Promise<void>;
}

export type QueuedMessage =
  | { readonly queue: 'revocation'; readonly job: RevocationJob; readonly delaySeconds: number }
  | { readonly queue: 'backfill'; readonly job: BackfillJob; readonly delaySeconds: number }
  | { readonly queue: 'erasure'; readonly job: ErasureJob; readonly delaySeconds: number }
  | { readonly queue: 'reconcile'; readonly job: ReconcileJob; readonly delaySeconds: number };

/** The queue ports, sending through SQS; `sent` reads back what reached the queues, in order. */
export class TestQueues implements RevocationQueue, BackfillQueue, ErasureQueue, ReconcileQueue {
  constructor(
    private readonly ports: RevocationQueue & BackfillQueue & ErasureQueue & ReconcileQueue,
    private readonly sqs: InMemorySqs,
  ) {}

  enqueueRevocation(job: RevocationJob, delaySeconds: number): Promise<void> {
    return this.ports.enqueueRevocation(job, delaySeconds);
  }

  enqueueBackfill(job: BackfillJob, delaySeconds?: number): Promise<void> {
    return this.ports.enqueueBackfill(job, delaySeconds);
  }

  enqueueErasure(job: ErasureJob, delaySeconds?: number): Promise<void> {
    return this.ports.enqueueErasure(job, delaySeconds);
  }

  enqueueReconcile(jobs: readonly ReconcileJob[], delaySeconds?: number): Promise<void> {
    return this.ports.enqueueReconcile(jobs, delaySeconds);
  }

  get sent(): QueuedMessage[] {
    return this.sqs.sent.map(
      (message) =>
        ({
          queue: QUEUE_OF_NAME[message.queueName],
          job: JSON.parse(message.body),
          delaySeconds: message.delaySeconds,
        }) as QueuedMessage,
    );
  }
}

/**
 * Settings the tests give every function though the template does not: Stripe's hosts (the
 * deployed functions use the defaults) and the HS256 session key standing in for the JWKS.
 */
const TEST_ONLY_SETTINGS = ['STRIPE_API_BASE_URL', 'STRIPE_CONNECT_BASE_URL', 'SESSION_JWT_SECRET'];

const REVOCATION_QUEUE = 'compass-revocation';
const BACKFILL_QUEUE = 'compass-backfill';
const ERASURE_QUEUE = 'compass-erasure';
const RECONCILE_QUEUE = 'compass-reconcile';
const QUEUE_OF_NAME: Readonly<Record<string, QueuedMessage['queue']>> = {
  [REVOCATION_QUEUE]: 'revocation',
  [BACKFILL_QUEUE]: 'backfill',
  [ERASURE_QUEUE]: 'erasure',
  [RECONCILE_QUEUE]: 'reconcile',
};
/** The members of the composition that are the queues: every container shares the test's. */
const QUEUE_MEMBERS = new Set<PropertyKey>([
  'revocationQueue',
  'backfillQueue',
  'erasureQueue',
  'reconcileQueue',
]);
export const SECRET_PREFIX = 'compass-stripe-connect';

/** Real dynalite table, real Stripe SDK against the fake, in-memory Secrets Manager and SQS. */
export async function createTestApp(): Promise<TestApp> {
  const dynamoEndpoint = inject('dynamoEndpoint');
  const { parameters, environmentNames } = inject('iamPolicies');
  const tableName = `test-${randomUUID()}`;
  const dynamoDb = createDynamoDbClient({ endpoint: dynamoEndpoint, region: 'us-east-1' });
  await createTableIfMissing(dynamoDb, tableName);

  const stripe = new FakeStripe();
  const stripeUrl = await stripe.start();
  const clock = new TestClock();
  const log = new CapturingLog();
  const iam = iamModelFor({
    table: tableName,
    revocationQueue: REVOCATION_QUEUE,
    backfillQueue: BACKFILL_QUEUE,
    erasureQueue: ERASURE_QUEUE,
    reconcileQueue: RECONCILE_QUEUE,
  });

  const secrets = new InMemorySecretsManager();
  const platformKeyName = parameters.StripeSecretKeySecretName ?? '';
  const connectSecretName = parameters.ConnectWebhookSecretName ?? '';
  secrets.seed(platformKeyName, stripe.secretKey);
  secrets.seed(connectSecretName, CONNECT_WEBHOOK_SECRET);
  const secretsManager = new SecretsManagerClient({ region: 'us-east-1' });
  enforceIam(
    secretsManager,
    iam,
    (operation, input) => secretsManagerRequests(operation, input, (name) => secrets.arnOf(name)),
    (message) => accessDenied(SecretsManagerServiceException, message),
  );
  secrets.attach(secretsManager);

  const sqsStandIn = new InMemorySqs(Object.keys(QUEUE_OF_NAME));
  const sqs = new SQSClient({ region: 'us-east-1' });
  enforceIam(sqs, iam, sqsRequests, (message) => accessDenied(SQSServiceException, message));
  sqsStandIn.attach(sqs);

  enforceIam(dynamoDb, iam, dynamoDbRequests, (message) => accessDenied(DynamoDBServiceException, message));

  // What the template gives each function, with this app's resources.
  const env = {
    TABLE_NAME: tableName,
    CREDENTIALS_SECRET_PREFIX: SECRET_PREFIX,
    STRIPE_SECRET_KEY_SECRET_ID: platformKeyName,
    STRIPE_CONNECT_WEBHOOK_SECRET_SECRET_ID: connectSecretName,
    REVOCATION_QUEUE_URL: sqsStandIn.urlOf(REVOCATION_QUEUE),
    BACKFILL_QUEUE_URL: sqsStandIn.urlOf(BACKFILL_QUEUE),
    ERASURE_QUEUE_URL: sqsStandIn.urlOf(ERASURE_QUEUE),
    RECONCILE_QUEUE_URL: sqsStandIn.urlOf(RECONCILE_QUEUE),
    STRIPE_CONNECT_CLIENT_ID: stripe.clientId,
    STRIPE_API_BASE_URL: stripeUrl,
    STRIPE_CONNECT_BASE_URL: 'https://connect.stripe.test',
    OAUTH_REDIRECT_BASE_URL: 'https://api.compass.test',
    APP_BASE_URL,
    SESSION_JWT_SECRET: SESSION_SECRET,
  };
  const overrides = { dynamoDb, secretsManager, sqs, clock, log };
  const first = createAwsDependencies(env, overrides);
  const queues = new TestQueues(
    {
      enqueueRevocation: (job, delay) => first.revocationQueue.enqueueRevocation(job, delay),
      enqueueBackfill: (job, delay) => first.backfillQueue.enqueueBackfill(job, delay),
      enqueueErasure: (job, delay) => first.erasureQueue.enqueueErasure(job, delay),
      enqueueReconcile: (jobs, delay) => first.reconcileQueue.enqueueReconcile(jobs, delay),
    },
    sqsStandIn,
  );
  // Lazy like the deployed composition: a member is built when a handler first uses it, so a
  // function never needs settings for adapters it does not touch. Only the queues are shared
  // (their `sent` is what the tests read).
  const compose = (aws: AppDependencies): AppDependencies =>
    new Proxy(aws, {
      get: (target, property, receiver) =>
        QUEUE_MEMBERS.has(property) ? queues : Reflect.get(target, property, receiver),
    });
  const deps = compose(first);
  const byFunction = new Map<string, AppDependencies>();
  return {
    deps,
    depsFor(functionName) {
      let built = byFunction.get(functionName);
      if (!built) {
        // Only what the template sets for this function (plus the tests' stand-ins for Stripe's
        // hosts and the session key), so a setting it lacks in AWS is missing here too.
        const names = new Set([...(environmentNames[functionName] ?? []), ...TEST_ONLY_SETTINGS]);
        const own = Object.fromEntries(Object.entries(env).filter(([name]) => names.has(name)));
        built = compose(createAwsDependencies(own, overrides));
        byFunction.set(functionName, built);
      }
      return built;
    },
    stripe,
    queues,
    clock,
    log,
    tableName,
    dynamoEndpoint,
    dynamoDb,
    secretsManager,
    session: (identity, options) => signSession(identity, options),
    async close() {
      await stripe.stop();
      dynamoDb.destroy();
      secretsManager.destroy();
      sqs.destroy();
    },
  };
}

type ServiceExceptionClass = new (options: {
  name: string;
  $fault: 'client';
  $metadata: { httpStatusCode: number };
  message: string;
}) => Error;

/** What the SDK throws when AWS answers 400 AccessDeniedException. */
function accessDenied(Exception: ServiceExceptionClass, message: string): Error {
  return new Exception({
    name: 'AccessDeniedException',
    $fault: 'client',
    $metadata: { httpStatusCode: 400 },
    message,
  });
}

export async function signSession(
  identity: Partial<TenantIdentity>,
  options: { expiresInSeconds?: number; secret?: string; alg?: string } = {},
): Promise<string> {
  const claims: Record<string, unknown> = {};
  if (identity.tenantId !== undefined) claims.tenantId = identity.tenantId;
  if (identity.tenantSlug !== undefined) claims.tenantSlug = identity.tenantSlug;
  const jwt = new SignJWT(claims)
    .setProtectedHeader({ alg: options.alg ?? 'HS256' })
    .setIssuedAt()
    .setExpirationTime(Math.floor(Date.now() / 1000) + (options.expiresInSeconds ?? 3600));
  if (identity.userId !== undefined) jwt.setSubject(identity.userId);
  return jwt.sign(new TextEncoder().encode(options.secret ?? SESSION_SECRET));
}

export interface EventOptions {
  readonly query?: string;
  readonly cookies?: string[];
  readonly headers?: Record<string, string>;
  readonly body?: string;
  readonly isBase64Encoded?: boolean;
  readonly pathParameters?: Record<string, string>;
}

/** An API Gateway HTTP API (payload 2.0) event, as the handlers receive it. */
export function httpEvent(method: string, path: string, options: EventOptions = {}): APIGatewayProxyEventV2 {
  const headers = Object.fromEntries(
    Object.entries(options.headers ?? {}).map(([k, v]) => [k.toLowerCase(), v]),
  );
  return {
    version: '2.0',
    routeKey: `${method} ${path}`,
    rawPath: path,
    rawQueryString: options.query ?? '',
    ...(options.cookies ? { cookies: options.cookies } : {}),
    headers,
    requestContext: {
      accountId: '123456789012',
      apiId: 'api',
      domainName: 'api.compass.test',
      domainPrefix: 'api',
      http: { method, path, protocol: 'HTTP/1.1', sourceIp: '127.0.0.1', userAgent: 'vitest' },
      requestId: randomUUID(),
      routeKey: `${method} ${path}`,
      stage: '$default',
      time: new Date().toISOString(),
      timeEpoch: Date.now(),
    },
    ...(options.pathParameters ? { pathParameters: options.pathParameters } : {}),
    body: options.body,
    isBase64Encoded: options.isBase64Encoded ?? false,
  } as APIGatewayProxyEventV2;
}

export const lambdaContext = {
  functionName: 'test',
  functionVersion: '$LATEST',
  invokedFunctionArn: 'arn:aws:lambda:us-east-1:123456789012:function:test',
  memoryLimitInMB: '256',
  awsRequestId: 'req',
  logGroupName: 'group',
  logStreamName: 'stream',
  callbackWaitsForEmptyEventLoop: false,
  getRemainingTimeInMillis: () => 10_000,
  done: () => undefined,
  fail: () => undefined,
  succeed: () => undefined,
} as Context;
