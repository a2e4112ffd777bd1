import { randomUUID } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import type { APIGatewayProxyEventV2, Context } from 'aws-lambda';
import { SignJWT } from 'jose';
import { inject } from 'vitest';
import { createTableIfMissing } from '#shared/adapters/dynamodb/table-definition.ts';
import { InProcessQueues } from '#shared/adapters/local/in-process-queues.ts';
import { createSessionVerifier } from '#shared/adapters/session/session-verifier.ts';
import { loadConfig } from '#shared/config/config.ts';
import type { TenantIdentity } from '#shared/domain/tenant.ts';
import type { Clock } from '#shared/ports/clock.ts';
import type { Log } from '#shared/ports/log.ts';
import type { AppDependencies } from '../../functions/commons/dependencies.ts';
import { createLocalDependencies } from '../../scripts/local/local-dependencies.ts';
import { FakeStripe } from '../fake-stripe/fake-stripe-server.ts';

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
  readonly deps: AppDependencies;
  readonly stripe: FakeStripe;
  readonly queues: InProcessQueues;
  readonly clock: TestClock;
  readonly log: CapturingLog;
  readonly tableName: string;
  readonly dynamoEndpoint: string;
  readonly secretsDir: string;
  session(
    identity: TenantIdentity,
    options?: { expiresInSeconds?: number; secret?: string },
  ): Promise<string>;
  close(): Promise<void>;
}

/** Real dynalite table, real Stripe SDK against the fake, file secrets, in-process queues. */
export async function createTestApp(): Promise<TestApp> {
  const dynamoEndpoint = inject('dynamoEndpoint');
  const tableName = `test-${randomUUID()}`;
  const raw = new DynamoDBClient({
    endpoint: dynamoEndpoint,
    region: 'us-east-1',
    credentials: { accessKeyId: 'test', secretAccessKey: 'test' },
  });
  await createTableIfMissing(raw, tableName);
  raw.destroy();

  const stripe = new FakeStripe();
  const stripeUrl = await stripe.start();
  const secretsDir = await mkdtemp(join(tmpdir(), 'compass-secrets-'));
  const clock = new TestClock();
  const log = new CapturingLog();
  const queues = new InProcessQueues();
  const config = loadConfig(
    {
      STRIPE_CONNECT_CLIENT_ID: stripe.clientId,
      STRIPE_API_BASE_URL: stripeUrl,
      STRIPE_CONNECT_BASE_URL: 'https://connect.stripe.test',
      OAUTH_REDIRECT_BASE_URL: 'https://api.compass.test',
      APP_BASE_URL,
      SESSION_JWT_SECRET: SESSION_SECRET,
    },
    ['stripe', 'oauth', 'session'],
  );
  const deps = createLocalDependencies({
    dynamoEndpoint,
    tableName,
    secretsDir,
    stripe: config.stripe,
    stripeSecretKey: stripe.secretKey,
    oauth: config.oauth,
    sessions: createSessionVerifier(config.session),
    queues,
    clock,
    log,
    connectWebhookSecret: CONNECT_WEBHOOK_SECRET,
  });
  return {
    deps,
    stripe,
    queues,
    clock,
    log,
    tableName,
    dynamoEndpoint,
    secretsDir,
    session: (identity, options) => signSession(identity, options),
    async close() {
      queues.close();
      await stripe.stop();
      await rm(secretsDir, { recursive: true, force: true });
    },
  };
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
