import { DynamoDbBackfillStatusStore } from '#shared/adapters/dynamodb/backfill-status-store-dynamodb.ts';
import { createDocumentClient } from '#shared/adapters/dynamodb/document-client.ts';
import { DynamoDbIntegrationRepository } from '#shared/adapters/dynamodb/integration-repository-dynamodb.ts';
import { DynamoDbOAuthStateStore } from '#shared/adapters/dynamodb/oauth-state-store-dynamodb.ts';
import { FileCredentialStore } from '#shared/adapters/local/file-credential-store.ts';
import type { InProcessQueues } from '#shared/adapters/local/in-process-queues.ts';
import type { SessionVerifier } from '#shared/adapters/session/session-verifier.ts';
import { createStripeClient } from '#shared/adapters/stripe/stripe-client.ts';
import { StripeSdkOAuth } from '#shared/adapters/stripe/stripe-sdk-oauth.ts';
import type { OAuthConfig, StripeConfig } from '#shared/config/config.ts';
import type { Clock } from '#shared/ports/clock.ts';
import type { Log } from '#shared/ports/log.ts';
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
}

/**
 * The same ports as the deployed functions, backed by dynalite, files and in-process queues.
 * Stripe stays the real SDK, pointed at whatever `STRIPE_API_BASE_URL` says.
 */
export function createLocalDependencies(options: LocalDependencyOptions): AppDependencies {
  const db = createDocumentClient({ endpoint: options.dynamoEndpoint });
  const stripe = createStripeClient({
    secretKey: options.stripeSecretKey,
    apiBaseUrl: options.stripe.apiBaseUrl,
  });
  return {
    states: new DynamoDbOAuthStateStore(db, options.tableName),
    integrations: new DynamoDbIntegrationRepository(db, options.tableName),
    backfillStatus: new DynamoDbBackfillStatusStore(db, options.tableName),
    credentials: new FileCredentialStore(options.secretsDir),
    revocationQueue: options.queues,
    backfillQueue: options.queues,
    oauth: new StripeSdkOAuth(stripe, options.stripe.clientId),
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
