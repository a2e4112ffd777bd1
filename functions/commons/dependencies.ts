import type { SessionVerifier } from '#shared/adapters/session/session-verifier.ts';
import type { BackfillStatusStore } from '#shared/ports/backfill-status-store.ts';
import type { ChangeJournal } from '#shared/ports/change-journal.ts';
import type { Clock } from '#shared/ports/clock.ts';
import type { EventLedger } from '#shared/ports/event-ledger.ts';
import type { IntegrationRepository } from '#shared/ports/integration-repository.ts';
import type {
  BackfillQueue,
  ErasureQueue,
  ReconcileQueue,
  RevocationQueue,
} from '#shared/ports/job-queues.ts';
import type { Log } from '#shared/ports/log.ts';
import type { MetricsSource } from '#shared/ports/metrics-source.ts';
import type { OAuthStateStore } from '#shared/ports/oauth-state-store.ts';
import type { RecordStore } from '#shared/ports/record-store.ts';
import type { StripeBackfillSource } from '#shared/ports/stripe-backfill-source.ts';
import type { StripeEventSource } from '#shared/ports/stripe-event-source.ts';
import type { StripeOAuth } from '#shared/ports/stripe-oauth.ts';
import type { TenantDataEraser } from '#shared/ports/tenant-data-eraser.ts';
import type { TenantDataStore } from '#shared/ports/tenant-data-store.ts';
import type { TenantStateReader } from '#shared/ports/tenant-state-reader.ts';
import type { TokenStore } from '#shared/ports/token-store.ts';
import type { WebhookSecretStore } from '#shared/ports/webhook-secret-store.ts';
import type { StripeWebhookReceiver } from '#shared/use-cases/receive-stripe-webhook.ts';

/** Non-secret settings the OAuth handlers need. */
export interface OAuthSettings {
  /** Public base of this API; webhook URLs shown to tenants are built from it. */
  readonly apiBaseUrl: string;
  readonly clientId: string;
  readonly connectBaseUrl: URL;
  readonly redirectUri: string;
  readonly appBaseUrl: string;
  readonly secureCookies: boolean;
}

/**
 * Everything a handler may use. Each handler factory takes only the slice it needs, and the AWS
 * implementation builds each member on first use, so a function never needs configuration (or
 * IAM grants) for adapters it does not touch.
 */
export interface AppDependencies {
  readonly states: OAuthStateStore;
  readonly integrations: IntegrationRepository;
  /** The OAuth tokens: no function that answers unauthenticated requests reads them. */
  readonly tokens: TokenStore;
  /** The tenants' own webhook endpoints' signing secrets, each a secret of its own. */
  readonly webhookSecrets: WebhookSecretStore;
  readonly backfillStatus: BackfillStatusStore;
  readonly revocationQueue: RevocationQueue;
  readonly backfillQueue: BackfillQueue;
  readonly oauth: StripeOAuth;
  readonly sessions: SessionVerifier;
  readonly oauthSettings: OAuthSettings;
  readonly records: RecordStore;
  /** The subscription history and what else the dashboard metrics are computed from. */
  readonly metrics: MetricsSource;
  /** Webhooks append to it; a backfill replays it over its batched writes. */
  readonly journal: ChangeJournal;
  /** Paced, retrying reads of a connected account's lists (the backfill's only Stripe access). */
  readonly backfillSource: StripeBackfillSource & { readonly stats?: { readonly requests: number } };
  /** One per container: its caches are what keep warm webhook calls off Secrets Manager. */
  readonly webhooks: StripeWebhookReceiver;
  /** Exactly-once processing of Stripe events (webhooks and the sweep share it). */
  readonly ledger: EventLedger;
  /** One strongly consistent read of a tenant's connection, backfill and data state. */
  readonly tenantState: TenantStateReader;
  /** What becomes of a tenant's data over connections (kept, erased) and the sweep's cursor. */
  readonly tenantData: TenantDataStore;
  readonly eraser: TenantDataEraser;
  readonly erasureQueue: ErasureQueue;
  readonly reconcileQueue: ReconcileQueue;
  /** Paced, retrying reads of a connected account's Events API (the sweep's only Stripe access). */
  readonly stripeEvents: StripeEventSource;
  /** The platform's Connect client id (`ca_…`). */
  readonly platformClientId: string;
  readonly clock: Clock;
  readonly log: Log;
}

/** Builds each value once, on first access. */
export function memo<T>(build: () => T): () => T {
  let built = false;
  let value: T;
  return () => {
    if (!built) {
      value = build();
      built = true;
    }
    return value;
  };
}
