import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDbBackfillStatusStore } from '#shared/adapters/dynamodb/backfill-status-store-dynamodb.ts';
import { DynamoDbChangeJournal } from '#shared/adapters/dynamodb/change-journal-dynamodb.ts';
import { createDocumentClient } from '#shared/adapters/dynamodb/document-client.ts';
import { PowertoolsEventLedger } from '#shared/adapters/dynamodb/event-ledger-powertools.ts';
import { DynamoDbIntegrationRepository } from '#shared/adapters/dynamodb/integration-repository-dynamodb.ts';
import { DynamoDbOAuthStateStore } from '#shared/adapters/dynamodb/oauth-state-store-dynamodb.ts';
import { DynamoDbRecordStore } from '#shared/adapters/dynamodb/record-store-dynamodb.ts';
import { DynamoDbMetricsSource } from '#shared/adapters/dynamodb/subscription-history-dynamodb.ts';
import {
  DEFAULT_ERASER_PACING,
  DynamoDbTenantDataEraser,
} from '#shared/adapters/dynamodb/tenant-data-eraser-dynamodb.ts';
import { DynamoDbTenantDataStore } from '#shared/adapters/dynamodb/tenant-data-store-dynamodb.ts';
import { DynamoDbTenantStateReader } from '#shared/adapters/dynamodb/tenant-state-reader-dynamodb.ts';
import type { SessionVerifier } from '#shared/adapters/session/session-verifier.ts';
import { LazyBackfillSource } from '#shared/adapters/stripe/lazy-backfill-source.ts';
import { LazyStripeOAuth } from '#shared/adapters/stripe/lazy-stripe-oauth.ts';
import { RateLimitedBackfillSource } from '#shared/adapters/stripe/rate-limited-backfill-source.ts';
import { lazyPlatformClient, StripeSdkEventSource } from '#shared/adapters/stripe/stripe-sdk-event-source.ts';
import { StripeSignatureVerifier } from '#shared/adapters/stripe/stripe-signature-verifier.ts';
import type { OAuthConfig, StripeConfig } from '#shared/config/config.ts';
import type { Clock } from '#shared/ports/clock.ts';
import type {
  BackfillQueue,
  ErasureQueue,
  ReconcileQueue,
  RevocationQueue,
} from '#shared/ports/job-queues.ts';
import type { Log } from '#shared/ports/log.ts';
import type { TokenStore } from '#shared/ports/token-store.ts';
import type { WebhookSecretStore } from '#shared/ports/webhook-secret-store.ts';
import { StripeWebhookReceiver } from '#shared/use-cases/receive-stripe-webhook.ts';
import { type AppDependencies, memo } from './dependencies.ts';

/**
 * What differs between the deployed functions and the local stack: where the table, the
 * secrets and the queues are, and how the platform key and settings are found. Each member is
 * read on first use only, so a function needs the configuration (and the IAM grants) of what it
 * touches and nothing else.
 */
export interface Infrastructure {
  readonly dynamoDb: () => DynamoDBClient;
  readonly tableName: () => string;
  readonly tokens: () => TokenStore;
  readonly webhookSecrets: () => WebhookSecretStore;
  readonly revocationQueue: () => RevocationQueue;
  readonly backfillQueue: () => BackfillQueue;
  readonly erasureQueue: () => ErasureQueue;
  readonly reconcileQueue: () => ReconcileQueue;
  /** The platform's Stripe secret key, resolved per call (it may rotate). */
  readonly platformKey: () => Promise<string>;
  /** The Connect endpoint's signing secret, per call; undefined when none is configured. */
  readonly connectWebhookSecret: () => Promise<string | undefined>;
  readonly stripe: () => StripeConfig;
  readonly oauth: () => OAuthConfig;
  readonly sessions: () => SessionVerifier;
  readonly clock: Clock;
  readonly log: Log;
}

/**
 * The one composition root: every port the handlers and workers use, over the given
 * infrastructure (functions/commons/aws-dependencies.ts deployed, scripts/local/local-dependencies.ts
 * in the local stack), each built once, on first access.
 */
export function composeDependencies(infra: Infrastructure): AppDependencies {
  const db = memo(() => createDocumentClient({}, infra.dynamoDb()));
  const table = infra.tableName;
  const stripe = memo(infra.stripe);
  const deps: AppDependencies = lazily<AppDependencies>({
    states: () => new DynamoDbOAuthStateStore(db(), table()),
    integrations: () => new DynamoDbIntegrationRepository(db(), table()),
    tokens: infra.tokens,
    webhookSecrets: infra.webhookSecrets,
    backfillStatus: () => new DynamoDbBackfillStatusStore(db(), table()),
    revocationQueue: infra.revocationQueue,
    backfillQueue: infra.backfillQueue,
    erasureQueue: infra.erasureQueue,
    reconcileQueue: infra.reconcileQueue,
    oauth: () => new LazyStripeOAuth(infra.platformKey, stripe()),
    sessions: infra.sessions,
    oauthSettings: () => ({
      ...infra.oauth(),
      clientId: stripe().clientId,
      connectBaseUrl: stripe().connectBaseUrl,
    }),
    records: () => new DynamoDbRecordStore(db(), table()),
    metrics: () => new DynamoDbMetricsSource(db(), table()),
    journal: () => new DynamoDbChangeJournal(db(), table(), infra.clock),
    backfillSource: () =>
      new RateLimitedBackfillSource(new LazyBackfillSource(infra.platformKey, stripe().apiBaseUrl)),
    webhooks: () =>
      new StripeWebhookReceiver({
        integrations: deps.integrations,
        webhookSecrets: deps.webhookSecrets,
        // Only a deauthorization reaches this, and it only deletes the token.
        get tokens() {
          return deps.tokens;
        },
        backfillStatus: deps.backfillStatus,
        tenantState: deps.tenantState,
        // A deauthorization keeps the data (disconnect); only `erase=now` queues an erasure.
        tenantData: deps.tenantData,
        get erasureQueue() {
          return deps.erasureQueue;
        },
        // Only a deauthorized event reaches these, and it never calls Stripe nor queues anything.
        get revocationQueue() {
          return deps.revocationQueue;
        },
        get oauth() {
          return deps.oauth;
        },
        records: deps.records,
        journal: deps.journal,
        ledger: deps.ledger,
        verifier: new StripeSignatureVerifier(),
        connectWebhookSecret: infra.connectWebhookSecret,
        platformClientId: stripe().clientId,
        clock: infra.clock,
        log: infra.log,
      }),
    ledger: () => new PowertoolsEventLedger(infra.dynamoDb(), table()),
    tenantState: () => new DynamoDbTenantStateReader(db(), table()),
    tenantData: () => new DynamoDbTenantDataStore(db(), table()),
    // Paced and bounded on the composition's clock, the one its callers' deadlines come from.
    eraser: () =>
      new DynamoDbTenantDataEraser(db(), table(), {
        ...DEFAULT_ERASER_PACING,
        now: () => infra.clock.now().getTime(),
      }),
    stripeEvents: () =>
      new StripeSdkEventSource({ stripe: lazyPlatformClient(infra.platformKey, stripe().apiBaseUrl) }),
    platformClientId: () => stripe().clientId,
    clock: () => infra.clock,
    log: () => infra.log,
  });
  return deps;
}

/** An object whose every member is built by its function on first access, then kept. */
function lazily<T extends object>(builders: { readonly [K in keyof T]: () => T[K] }): T {
  const out = {} as T;
  for (const key of Object.keys(builders) as (keyof T & string)[]) {
    Object.defineProperty(out, key, { get: memo(builders[key]), enumerable: true });
  }
  return out;
}
