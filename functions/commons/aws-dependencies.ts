import { SecretsProvider } from '@aws-lambda-powertools/parameters/secrets';
import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { SQSClient } from '@aws-sdk/client-sqs';
import { createDynamoDbClient } from '#shared/adapters/dynamodb/document-client.ts';
import {
  SqsBackfillQueue,
  SqsErasureQueue,
  SqsReconcileQueue,
  SqsRevocationQueue,
} from '#shared/adapters/queue/sqs-job-queues.ts';
import {
  SecretsManagerTokenStore,
  SecretsManagerWebhookSecretStore,
} from '#shared/adapters/secrets/secrets-manager-credential-stores.ts';
import { createSessionVerifier } from '#shared/adapters/session/session-verifier.ts';
import { type Env, loadConfig, type SecretSource } from '#shared/config/config.ts';
import { type Clock, systemClock } from '#shared/ports/clock.ts';
import type { Log } from '#shared/ports/log.ts';
import { composeDependencies } from './compose-dependencies.ts';
import { type AppDependencies, memo } from './dependencies.ts';
import { logger } from './logger.ts';

/** The platform key changes only on rotation; re-reading it every 5 minutes picks that up. */
const PLATFORM_KEY_MAX_AGE_SECONDS = 300;

async function resolveSecret(
  secrets: SecretsProvider,
  source: SecretSource,
  variable: string,
): Promise<string> {
  if (source.kind === 'value') return source.value;
  const value = await secrets.get(source.secretId, { maxAge: PLATFORM_KEY_MAX_AGE_SECONDS });
  if (typeof value !== 'string' || value.length === 0) {
    throw new Error(`Secret named by ${variable} holds no string value`);
  }
  return value.trim();
}

/**
 * What the composition takes from outside instead of building it: the tests pass SDK clients
 * that enforce the function's IAM role (derived from the synthesized template), their clock and
 * their log. A deployed function passes nothing.
 */
export interface AwsDependencyOverrides {
  readonly dynamoDb?: DynamoDBClient;
  readonly secretsManager?: SecretsManagerClient;
  readonly sqs?: SQSClient;
  readonly clock?: Clock;
  readonly log?: Log;
}

/** Adapters for the deployed functions: DynamoDB, Secrets Manager, SQS and Stripe. */
export function createAwsDependencies(
  env: Env = process.env,
  overrides: AwsDependencyOverrides = {},
): AppDependencies {
  const storage = memo(() => loadConfig(env, ['storage']).storage);
  const sqs = memo(() => overrides.sqs ?? new SQSClient({}));
  const secretsManager = memo(() => overrides.secretsManager ?? new SecretsManagerClient({}));
  const secretValues = memo(() => new SecretsProvider({ awsSdkV3Client: secretsManager() }));
  const platformKey = memo(() => loadConfig(env, ['stripeKey']).stripeKey.secretKey);
  const connectWebhookSecret = memo(() => loadConfig(env, ['connectWebhook']).connectWebhook.secret);
  return composeDependencies({
    dynamoDb: memo(
      () => overrides.dynamoDb ?? createDynamoDbClient({ endpoint: storage().dynamoDbEndpoint }),
    ),
    tableName: () => storage().tableName,
    tokens: () => new SecretsManagerTokenStore(secretsManager(), storage().credentialsSecretPrefix),
    webhookSecrets: () =>
      new SecretsManagerWebhookSecretStore(secretsManager(), storage().credentialsSecretPrefix),
    revocationQueue: () =>
      new SqsRevocationQueue(sqs(), loadConfig(env, ['revocationQueue']).revocationQueue.revocationQueueUrl),
    backfillQueue: () =>
      new SqsBackfillQueue(sqs(), loadConfig(env, ['backfillQueue']).backfillQueue.backfillQueueUrl),
    erasureQueue: () =>
      new SqsErasureQueue(sqs(), loadConfig(env, ['erasureQueue']).erasureQueue.erasureQueueUrl),
    reconcileQueue: () =>
      new SqsReconcileQueue(sqs(), loadConfig(env, ['reconcileQueue']).reconcileQueue.reconcileQueueUrl),
    platformKey: () => resolveSecret(secretValues(), platformKey(), 'STRIPE_SECRET_KEY_SECRET_ID'),
    connectWebhookSecret: async () => {
      const secret = connectWebhookSecret();
      return secret
        ? resolveSecret(secretValues(), secret, 'STRIPE_CONNECT_WEBHOOK_SECRET_SECRET_ID')
        : undefined;
    },
    stripe: () => loadConfig(env, ['stripe']).stripe,
    oauth: () => loadConfig(env, ['oauth']).oauth,
    sessions: () => createSessionVerifier(loadConfig(env, ['session']).session),
    clock: overrides.clock ?? systemClock,
    log: overrides.log ?? logger,
  });
}
