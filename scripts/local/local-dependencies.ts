import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDbBackfillStatusStore } from '#shared/adapters/dynamodb/backfill-status-store-dynamodb.ts';
import { DynamoDbChangeJournal } from '#shared/adapters/dynamodb/change-journal-dynamodb.ts';
import { createDocumentClient, createDynamoDbClient } from '#shared/adapters/dynamodb/document-client.ts';
import { PowertoolsEventLedger } from '#shared/adapters/dynamodb/event-ledger-powertools.ts';
import { DynamoDbIntegrationRepository } from '#shared/adapters/dynamodb/integration-repository-dynamodb.ts';
import { DynamoDbOAuthStateStore } from '#shared/adapters/dynamodb/oauth-state-store-dynamodb.ts';
import { DynamoDbRecordStore } from '#shared/adapters/dynamodb/record-store-dynamodb.ts';
import { DynamoDbTenantDataEraser } from '#shared/adapters/dynamodb/tenant-data-eraser-dynamodb.ts';
import { DynamoDbTenantDataStore } from '#shared/adapters/dynamodb/tenant-data-store-dynamodb.ts';
import { DynamoDbTenantStateReader } from '#shared/adapters/dynamodb/tenant-state-reader-dynamodb.ts';
import { FileTokenStore, FileWebhookSecretStore } from '#shared/adapters/local/file-credential-stores.ts';
import type { InProcessQueues } from '#shared/adapters/local/in-process-queues.ts';
import type { SessionVerifier } from '#shared/adapters/session/session-verifier.ts';
import { LazyBackfillSource } from '#shared/adapters/stripe/lazy-backfill-source.ts';
import { RateLimitedBackfillSource } from '#shared/adapters/stripe/rate-limited-backfill-source.ts';
import { createStripeClient } from '#shared/adapters/stripe/stripe-client.ts';
import { StripeSdkEventSource } from '#shared/adapters/stripe/stripe-sdk-event-source.ts';
import { StripeSdkOAuth } from '#shared/adapters/stripe/stripe-sdk-oauth.ts';
import { StripeSignatureVerifier } from '#shared/adapters/stripe/stripe-signature-verifier.ts';
import type { OAuthConfig, StripeConfig } from '#shared/config/config.ts';
import type { Clock } from '#shared/ports/clock.ts';
import type { Log } from '#shared/ports/log.ts';
import type { WebhookSecretStore } from '#shared/ports/webhook-secret-store.ts';
import { StripeWebhookReceiver } from '#shared/use-cases/receive-stripe-webhook.ts';
import type { AppDependencies } from '../../functions/commons/dependencies.ts';

export interface LocalDependencyOptions {
  readonly dynamoEndpoint: string;
  readonly tableName: string;
  /** Where the file-backed stand-in for Secrets Manager keeps tenant secrets. */
  readonly secretsDir: string;
  readonly stripe: StripeConfig;
  readonly stripeSecretKey: string;
  readonly oauth: OAuthConfig;
  readonly sessions: SessionVerifier;
  readonly queues: InProcessQueues;
  readonly clock: Clock;
  readonly log: Log;
  /** The Connect endpoint's signing secret (STRIPE_CONNECT_WEBHOOK_SECRET), if configured. */
  readonly connectWebhookSecret?: string | undefined;
  /** Replaces the file-backed webhook secrets (the benchmark counts reads through a wrapper). */
  readonly webhookSecrets?: WebhookSecretStore;
  /** Sees the DynamoDB client before use (the benchmark counts requests with a middleware). */
  readonly instrumentDynamoDb?: (client: DynamoDBClient) => void;
}

/**
 * The same ports as the deployed functions, backed by dynalite, files and in-process queues.
 * Stripe stays the real SDK, pointed at whatever `STRIPE_API_BASE_URL` says.
 */
export function createLocalDependencies(options: LocalDependencyOptions): AppDependencies {
  const dynamo = createDynamoDbClient({ endpoint: options.dynamoEndpoint });
  options.instrumentDynamoDb?.(dynamo);
  const db = createDocumentClient({}, dynamo);
  const stripe = createStripeClient({
    secretKey: options.stripeSecretKey,
    apiBaseUrl: options.stripe.apiBaseUrl,
  });
  const integrations = new DynamoDbIntegrationRepository(db, options.tableName);
  const backfillStatus = new DynamoDbBackfillStatusStore(db, options.tableName);
  const tokens = new FileTokenStore(options.secretsDir);
  const webhookSecrets = options.webhookSecrets ?? new FileWebhookSecretStore(options.secretsDir);
  const oauth = new StripeSdkOAuth(stripe, options.stripe.clientId);
  const records = new DynamoDbRecordStore(db, options.tableName);
  const journal = new DynamoDbChangeJournal(db, options.tableName, options.clock);
  const ledger = new PowertoolsEventLedger(dynamo, options.tableName);
  const tenantState = new DynamoDbTenantStateReader(db, options.tableName);
  const tenantData = new DynamoDbTenantDataStore(db, options.tableName);
  return {
    states: new DynamoDbOAuthStateStore(db, options.tableName),
    integrations,
    backfillStatus,
    tokens,
    webhookSecrets,
    revocationQueue: options.queues,
    backfillQueue: options.queues,
    erasureQueue: options.queues,
    reconcileQueue: options.queues,
    ledger,
    tenantState,
    tenantData,
    eraser: new DynamoDbTenantDataEraser(db, options.tableName),
    stripeEvents: new StripeSdkEventSource({
      stripe: createStripeClient({
        secretKey: options.stripeSecretKey,
        apiBaseUrl: options.stripe.apiBaseUrl,
        maxNetworkRetries: 0,
      }),
    }),
    platformClientId: options.stripe.clientId,
    oauth,
    records,
    journal,
    // The deployed composition's source, with the key at hand instead of in Secrets Manager.
    backfillSource: new RateLimitedBackfillSource(
      new LazyBackfillSource(async () => options.stripeSecretKey, options.stripe.apiBaseUrl),
    ),
    webhooks: new StripeWebhookReceiver({
      integrations,
      tokens,
      webhookSecrets,
      backfillStatus,
      tenantState,
      tenantData,
      erasureQueue: options.queues,
      revocationQueue: options.queues,
      oauth,
      records,
      journal,
      ledger,
      verifier: new StripeSignatureVerifier(),
      connectWebhookSecret: async () => options.connectWebhookSecret,
      platformClientId: options.stripe.clientId,
      clock: options.clock,
      log: options.log,
    }),
    sessions: options.sessions,
    oauthSettings: {
      ...options.oauth,
      clientId: options.stripe.clientId,
      connectBaseUrl: options.stripe.connectBaseUrl,
    },
    clock: options.clock,
    log: options.log,
  };
}
