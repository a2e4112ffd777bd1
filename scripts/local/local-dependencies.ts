import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { createDynamoDbClient } from '#shared/adapters/dynamodb/document-client.ts';
import { FileTokenStore, FileWebhookSecretStore } from '#shared/adapters/local/file-credential-stores.ts';
import type { InProcessQueues } from '#shared/adapters/local/in-process-queues.ts';
import type { SessionVerifier } from '#shared/adapters/session/session-verifier.ts';
import type { OAuthConfig, StripeConfig } from '#shared/config/config.ts';
import type { Clock } from '#shared/ports/clock.ts';
import type { Log } from '#shared/ports/log.ts';
import type { WebhookSecretStore } from '#shared/ports/webhook-secret-store.ts';
import { composeDependencies } from '../../functions/commons/compose-dependencies.ts';
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
 * The same ports as the deployed functions (the one composition root), backed by dynalite,
 * files and in-process queues. Stripe stays the real SDK, pointed at whatever
 * `STRIPE_API_BASE_URL` says, with the key at hand instead of in Secrets Manager.
 */
export function createLocalDependencies(options: LocalDependencyOptions): AppDependencies {
  const dynamo = createDynamoDbClient({ endpoint: options.dynamoEndpoint });
  options.instrumentDynamoDb?.(dynamo);
  const tokens = new FileTokenStore(options.secretsDir);
  const webhookSecrets = options.webhookSecrets ?? new FileWebhookSecretStore(options.secretsDir);
  return composeDependencies({
    dynamoDb: () => dynamo,
    tableName: () => options.tableName,
    tokens: () => tokens,
    webhookSecrets: () => webhookSecrets,
    revocationQueue: () => options.queues,
    backfillQueue: () => options.queues,
    erasureQueue: () => options.queues,
    reconcileQueue: () => options.queues,
    platformKey: async () => options.stripeSecretKey,
    connectWebhookSecret: async () => options.connectWebhookSecret,
    stripe: () => options.stripe,
    oauth: () => options.oauth,
    sessions: () => options.sessions,
    clock: options.clock,
    log: options.log,
  });
}
