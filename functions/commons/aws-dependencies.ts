import { SecretsProvider } from '@aws-lambda-powertools/parameters/secrets';
import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { SQSClient } from '@aws-sdk/client-sqs';
import { DynamoDbBackfillStatusStore } from '#shared/adapters/dynamodb/backfill-status-store-dynamodb.ts';
import { DynamoDbChangeJournal } from '#shared/adapters/dynamodb/change-journal-dynamodb.ts';
import { createDocumentClient, createDynamoDbClient } from '#shared/adapters/dynamodb/document-client.ts';
import { PowertoolsEventLedger } from '#shared/adapters/dynamodb/event-ledger-powertools.ts';
import { DynamoDbIntegrationRepository } from '#shared/adapters/dynamodb/integration-repository-dynamodb.ts';
import { DynamoDbOAuthStateStore } from '#shared/adapters/dynamodb/oauth-state-store-dynamodb.ts';
import { DynamoDbRecordStore } from '#shared/adapters/dynamodb/record-store-dynamodb.ts';
import {
  DEFAULT_ERASER_PACING,
  DynamoDbTenantDataEraser,
} from '#shared/adapters/dynamodb/tenant-data-eraser-dynamodb.ts';
import { DynamoDbTenantDataStore } from '#shared/adapters/dynamodb/tenant-data-store-dynamodb.ts';
import { DynamoDbTenantStateReader } from '#shared/adapters/dynamodb/tenant-state-reader-dynamodb.ts';
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
import { LazyBackfillSource } from '#shared/adapters/stripe/lazy-backfill-source.ts';
import { LazyStripeOAuth } from '#shared/adapters/stripe/lazy-stripe-oauth.ts';
import { RateLimitedBackfillSource } from '#shared/adapters/stripe/rate-limited-backfill-source.ts';
import { lazyPlatformClient, StripeSdkEventSource } from '#shared/adapters/stripe/stripe-sdk-event-source.ts';
import { StripeSignatureVerifier } from '#shared/adapters/stripe/stripe-signature-verifier.ts';
import { type Env, loadConfig, type SecretSource } from '#shared/config/config.ts';
import { type Clock, systemClock } from '#shared/ports/clock.ts';
import type { Log } from '#shared/ports/log.ts';
import { StripeWebhookReceiver } from '#shared/use-cases/receive-stripe-webhook.ts';
import type { AppDependencies } from './dependencies.ts';
import { memo } from './dependencies.ts';
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
  const clock = overrides.clock ?? systemClock;
  const log = overrides.log ?? logger;
  const storage = memo(() => loadConfig(env, ['storage']).storage);
  const dynamo = memo(
    () => overrides.dynamoDb ?? createDynamoDbClient({ endpoint: storage().dynamoDbEndpoint }),
  );
  const db = memo(() => createDocumentClient({}, dynamo()));
  const sqs = memo(() => overrides.sqs ?? new SQSClient({}));
  const secretsManager = memo(() => overrides.secretsManager ?? new SecretsManagerClient({}));
  const secretValues = memo(() => new SecretsProvider({ awsSdkV3Client: secretsManager() }));
  const stripe = memo(() => loadConfig(env, ['stripe']).stripe);

  const states = memo(() => new DynamoDbOAuthStateStore(db(), storage().tableName));
  const integrations = memo(() => new DynamoDbIntegrationRepository(db(), storage().tableName));
  const backfillStatus = memo(() => new DynamoDbBackfillStatusStore(db(), storage().tableName));
  const tokens = memo(
    () => new SecretsManagerTokenStore(secretsManager(), storage().credentialsSecretPrefix),
  );
  const webhookSecrets = memo(
    () => new SecretsManagerWebhookSecretStore(secretsManager(), storage().credentialsSecretPrefix),
  );
  const revocationQueue = memo(
    () =>
      new SqsRevocationQueue(sqs(), loadConfig(env, ['revocationQueue']).revocationQueue.revocationQueueUrl),
  );
  const backfillQueue = memo(
    () => new SqsBackfillQueue(sqs(), loadConfig(env, ['backfillQueue']).backfillQueue.backfillQueueUrl),
  );
  const platformKey = memo(() => {
    const { secretKey } = loadConfig(env, ['stripeKey']).stripeKey;
    return () => resolveSecret(secretValues(), secretKey, 'STRIPE_SECRET_KEY_SECRET_ID');
  });
  const oauth = memo(() => new LazyStripeOAuth(platformKey(), stripe()));
  const stripeEvents = memo(
    () => new StripeSdkEventSource({ stripe: lazyPlatformClient(platformKey(), stripe().apiBaseUrl) }),
  );
  const erasureQueue = memo(
    () => new SqsErasureQueue(sqs(), loadConfig(env, ['erasureQueue']).erasureQueue.erasureQueueUrl),
  );
  const reconcileQueue = memo(
    () => new SqsReconcileQueue(sqs(), loadConfig(env, ['reconcileQueue']).reconcileQueue.reconcileQueueUrl),
  );
  const tenantState = memo(() => new DynamoDbTenantStateReader(db(), storage().tableName));
  const tenantData = memo(() => new DynamoDbTenantDataStore(db(), storage().tableName));
  // Paced and bounded on the composition's clock, the one its callers' deadlines come from.
  const eraser = memo(
    () =>
      new DynamoDbTenantDataEraser(db(), storage().tableName, {
        ...DEFAULT_ERASER_PACING,
        now: () => clock.now().getTime(),
      }),
  );
  const ledger = memo(() => new PowertoolsEventLedger(dynamo(), storage().tableName));
  const backfillSource = memo(
    () => new RateLimitedBackfillSource(new LazyBackfillSource(platformKey(), stripe().apiBaseUrl)),
  );
  const sessions = memo(() => createSessionVerifier(loadConfig(env, ['session']).session));
  const oauthSettings = memo(() => {
    const { oauth: o } = loadConfig(env, ['oauth']);
    return { ...o, clientId: stripe().clientId, connectBaseUrl: stripe().connectBaseUrl };
  });

  const records = memo(() => new DynamoDbRecordStore(db(), storage().tableName));
  const journal = memo(() => new DynamoDbChangeJournal(db(), storage().tableName, clock));
  const connectWebhookSecret = memo(() => {
    const { secret } = loadConfig(env, ['connectWebhook']).connectWebhook;
    return async () =>
      secret ? resolveSecret(secretValues(), secret, 'STRIPE_CONNECT_WEBHOOK_SECRET_SECRET_ID') : undefined;
  });
  const webhooks = memo(
    () =>
      new StripeWebhookReceiver({
        integrations: integrations(),
        webhookSecrets: webhookSecrets(),
        // Only a deauthorization reaches this, and it only deletes the token.
        get tokens() {
          return tokens();
        },
        backfillStatus: backfillStatus(),
        tenantState: tenantState(),
        // A deauthorization keeps the data (disconnect); only `erase=now` queues an erasure.
        tenantData: tenantData(),
        get erasureQueue() {
          return erasureQueue();
        },
        // Only a deauthorized event reaches these, and it never calls Stripe nor queues anything.
        get revocationQueue() {
          return revocationQueue();
        },
        get oauth() {
          return oauth();
        },
        records: records(),
        journal: journal(),
        ledger: ledger(),
        verifier: new StripeSignatureVerifier(),
        connectWebhookSecret: connectWebhookSecret(),
        platformClientId: stripe().clientId,
        clock,
        log,
      }),
  );

  return {
    get backfillSource() {
      return backfillSource();
    },
    get records() {
      return records();
    },
    get journal() {
      return journal();
    },
    get webhooks() {
      return webhooks();
    },
    get states() {
      return states();
    },
    get integrations() {
      return integrations();
    },
    get tokens() {
      return tokens();
    },
    get webhookSecrets() {
      return webhookSecrets();
    },
    get backfillStatus() {
      return backfillStatus();
    },
    get revocationQueue() {
      return revocationQueue();
    },
    get backfillQueue() {
      return backfillQueue();
    },
    get erasureQueue() {
      return erasureQueue();
    },
    get reconcileQueue() {
      return reconcileQueue();
    },
    get stripeEvents() {
      return stripeEvents();
    },
    get tenantState() {
      return tenantState();
    },
    get tenantData() {
      return tenantData();
    },
    get eraser() {
      return eraser();
    },
    get ledger() {
      return ledger();
    },
    get platformClientId() {
      return stripe().clientId;
    },
    get oauth() {
      return oauth();
    },
    get sessions() {
      return sessions();
    },
    get oauthSettings() {
      return oauthSettings();
    },
    clock,
    log,
  };
}
