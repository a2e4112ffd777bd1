import type { StripeIntegration } from '../domain/integration.ts';
import type { StoreChange, StripeEventEnvelope } from '../domain/records.ts';
import { mapStripeEvent, parseStripeEvent } from '../domain/stripe-event-mapping.ts';
import { TENANT_SLUG_PATTERN } from '../domain/tenant.ts';
import { InvalidSignatureError } from '../errors/invalid-signature-error.ts';
import { NotConnectedError } from '../errors/not-connected-error.ts';
import { UnknownEndpointError } from '../errors/unknown-endpoint-error.ts';
import { ValidationError } from '../errors/validation-error.ts';
import type { BackfillStatusStore } from '../ports/backfill-status-store.ts';
import type { ChangeJournal } from '../ports/change-journal.ts';
import type { Clock } from '../ports/clock.ts';
import type { EventLedger, InvocationClock, LedgerEntry } from '../ports/event-ledger.ts';
import type { IntegrationRepository } from '../ports/integration-repository.ts';
import type { RevocationQueue } from '../ports/job-queues.ts';
import type { Log } from '../ports/log.ts';
import type { RecordStore } from '../ports/record-store.ts';
import type { SignatureVerifier } from '../ports/signature-verifier.ts';
import type { StripeOAuth } from '../ports/stripe-oauth.ts';
import type { TokenStore } from '../ports/token-store.ts';
import type { StoredWebhookSecret, WebhookSecretStore } from '../ports/webhook-secret-store.ts';
import { TtlCache } from '../support/ttl-cache.ts';
import { disconnectStripe } from './disconnect-stripe.ts';

export interface WebhookDeps {
  readonly integrations: IntegrationRepository;
  /** Read to verify the tenant endpoint's signatures; a deauthorization deletes it. */
  readonly webhookSecrets: WebhookSecretStore;
  /** Never read here: only a deauthorization deletes the token. */
  readonly tokens: TokenStore;
  readonly backfillStatus: BackfillStatusStore;
  readonly revocationQueue: RevocationQueue;
  readonly oauth: StripeOAuth;
  readonly records: RecordStore;
  /** Written before the records: a backfill in flight replays it over its batched writes. */
  readonly journal: ChangeJournal;
  readonly ledger: EventLedger;
  readonly verifier: SignatureVerifier;
  /** The platform's Connect client id: a deauthorization of another application is not ours. */
  readonly platformClientId: string;
  /** The Connect endpoint's signing secret; undefined when the platform has not configured it. */
  readonly connectWebhookSecret: () => Promise<string | undefined>;
  readonly clock: Clock;
  readonly log: Log;
}

export type Endpoint = 'tenant' | 'connect';

export interface WebhookRequest {
  readonly rawBody: Buffer;
  readonly signature: string | undefined;
  readonly invocation: InvocationClock | undefined;
}

export type WebhookReceipt =
  | { readonly outcome: 'processed' | 'ignored'; readonly reason?: string }
  | { readonly outcome: 'duplicate'; readonly inProgress: boolean };

/** Integrations change rarely; a stale entry for 30 s costs at most a few late events. */
const INTEGRATION_TTL_MS = 30_000;
/** Secrets change on rotation only; a failed verification re-reads one older than 10 s. */
const SECRET_TTL_MS = 300_000;
const SECRET_REFRESH_AFTER_MS = 10_000;
/** `lastEventAt` is written at most once a minute per tenant and endpoint from one container. */
const ACTIVITY_WRITE_INTERVAL_MS = 60_000;
const CACHE_ENTRIES = 5000;

/**
 * Receives Stripe events on the per-tenant and the Connect endpoint: resolve the tenant, verify
 * the signature on the raw bytes before parsing anything, then apply the event exactly once
 * through the ledger. One instance lives per warm container, so its caches spare the tenant's
 * secret and integration lookups on every event.
 */
export class StripeWebhookReceiver {
  private readonly bySlug = new TtlCache<StripeIntegration>(INTEGRATION_TTL_MS, CACHE_ENTRIES);
  private readonly secrets = new TtlCache<StoredWebhookSecret>(SECRET_TTL_MS, CACHE_ENTRIES);
  private readonly activity = new TtlCache<true>(ACTIVITY_WRITE_INTERVAL_MS, CACHE_ENTRIES);

  constructor(private readonly deps: WebhookDeps) {}

  /** `POST /api/webhooks/stripe/{slug}`: the endpoint a tenant adds in its own Stripe dashboard. */
  async receiveTenantEvent(slug: string, request: WebhookRequest): Promise<WebhookReceipt> {
    const header = requireSignatureHeader(request.signature);
    if (!TENANT_SLUG_PATTERN.test(slug))
      throw new UnknownEndpointError('No webhook endpoint at this address');
    const integration = await this.integrationBySlug(slug);
    if (integration?.status !== 'connected')
      throw new UnknownEndpointError('No webhook endpoint at this address');
    // Answered from the cached row: a slug without a secret never costs a Secrets Manager read.
    if (!integration.webhookSecretConfigured) {
      throw new UnknownEndpointError('No webhook signing secret is configured for this endpoint');
    }
    await this.verifyWithTenantSecret(integration, request.rawBody, header);
    const event = parseEvent(request.rawBody);
    const { tenantId } = integration;
    if (event.livemode !== integration.livemode) {
      return this.ignore(tenantId, event, 'tenant', 'livemode_mismatch', request.invocation);
    }
    // A tenant that is itself a platform may forward its connected accounts' events: not its data.
    if (event.account && event.account !== integration.stripeAccountId) {
      return this.ignore(tenantId, event, 'tenant', 'foreign_account', request.invocation);
    }
    // Only the platform's Connect endpoint speaks for the platform's own authorization.
    if (event.type === 'account.application.deauthorized') {
      return this.ignore(tenantId, event, 'tenant', 'deauthorization_on_tenant_endpoint', request.invocation);
    }
    return this.process(tenantId, event, 'tenant', request.invocation);
  }

  /** `POST /api/webhooks/stripe-connect`: the platform's endpoint, routed by `event.account`. */
  async receiveConnectEvent(request: WebhookRequest): Promise<WebhookReceipt> {
    const header = requireSignatureHeader(request.signature);
    const secret = await this.deps.connectWebhookSecret();
    if (!secret) throw new UnknownEndpointError('The Connect webhook endpoint is not configured');
    this.deps.verifier.verify(request.rawBody, header, secret);
    const event = parseEvent(request.rawBody);
    if (!event.account) return this.ignore('platform', event, 'connect', 'no_account', request.invocation);
    const integration = await this.deps.integrations.findByStripeAccount(event.account);
    if (integration?.status !== 'connected') {
      return this.ignore(`account:${event.account}`, event, 'connect', 'unknown_account', request.invocation);
    }
    const { tenantId } = integration;
    if (event.livemode !== integration.livemode) {
      return this.ignore(tenantId, event, 'connect', 'livemode_mismatch', request.invocation);
    }
    if (event.type === 'account.application.deauthorized') {
      if (event.object.id !== this.deps.platformClientId) {
        return this.ignore(tenantId, event, 'connect', 'other_application', request.invocation);
      }
      // Stripe retries for days: a deauthorization older than the current connection is history.
      if (event.created * 1000 < Date.parse(integration.connectedAt)) {
        return this.ignore(tenantId, event, 'connect', 'stale_deauthorization', request.invocation);
      }
    }
    return this.process(tenantId, event, 'connect', request.invocation);
  }

  private async process(
    tenantId: string,
    event: StripeEventEnvelope,
    endpoint: Endpoint,
    invocation: InvocationClock | undefined,
  ): Promise<WebhookReceipt> {
    const apply = () => this.apply(tenantId, event, endpoint);
    const result = await this.deps.ledger.once(tenantId, event.id, apply, invocation);
    await this.recordActivity(tenantId, endpoint);
    if (result.duplicate) return { outcome: 'duplicate', inProgress: result.inProgress };
    const ignored = result.entry.outcome.startsWith('ignored:');
    return ignored
      ? { outcome: 'ignored', reason: result.entry.outcome.slice('ignored:'.length) }
      : { outcome: 'processed' };
  }

  /** Runs inside the ledger's lease: a throw here releases it, so Stripe's retry runs again. */
  private async apply(
    tenantId: string,
    event: StripeEventEnvelope,
    endpoint: Endpoint,
  ): Promise<LedgerEntry> {
    const mapping = mapStripeEvent(event);
    if (mapping.outcome === 'ignored') return this.entry(event, endpoint, `ignored:${mapping.reason}`);
    const version = { created: event.created, rank: eventRank(event.type), eventId: event.id };
    const stored = mapping.changes.filter((change): change is StoreChange => change.kind !== 'deauthorized');
    if (stored.length > 0) {
      await this.deps.journal.append(
        tenantId,
        { eventId: event.id, version, changes: stored },
        this.deps.clock.now(),
      );
    }
    for (const change of mapping.changes) {
      if (change.kind === 'deauthorized') {
        await this.deauthorized(tenantId);
      } else {
        await this.deps.records.apply(tenantId, change, version);
      }
    }
    return this.entry(event, endpoint, 'processed');
  }

  /** The tenant revoked access from Stripe's side: same cleanup as a disconnect, minus the call. */
  private async deauthorized(tenantId: string): Promise<void> {
    try {
      await disconnectStripe(this.deps, tenantId, { revokeAtStripe: false });
    } catch (error) {
      if (!(error instanceof NotConnectedError)) throw error;
    }
    this.secrets.delete(tenantId);
    // This container stops routing the tenant's own endpoint at once (others within 30 s).
    this.bySlug.deleteWhere((integration) => integration.tenantId === tenantId);
  }

  private async ignore(
    scope: string,
    event: StripeEventEnvelope,
    endpoint: Endpoint,
    reason: string,
    invocation: InvocationClock | undefined,
  ): Promise<WebhookReceipt> {
    this.deps.log.info('stripe_event_ignored', { eventId: event.id, type: event.type, endpoint, reason });
    const result = await this.deps.ledger.once(
      scope,
      event.id,
      async () => this.entry(event, endpoint, `ignored:${reason}`),
      invocation,
    );
    return result.duplicate
      ? { outcome: 'duplicate', inProgress: result.inProgress }
      : { outcome: 'ignored', reason };
  }

  private entry(event: StripeEventEnvelope, endpoint: Endpoint, outcome: string): LedgerEntry {
    return {
      eventId: event.id,
      type: event.type,
      created: new Date(event.created * 1000).toISOString(),
      received: this.deps.clock.now().toISOString(),
      endpoint,
      outcome,
    };
  }

  private async integrationBySlug(slug: string): Promise<StripeIntegration | undefined> {
    const cached = this.bySlug.get(slug);
    if (cached) return cached.value;
    const integration = await this.deps.integrations.findBySlug(slug);
    if (integration) this.bySlug.set(slug, integration);
    return integration;
  }

  private async verifyWithTenantSecret(
    integration: StripeIntegration,
    rawBody: Buffer,
    header: string,
  ): Promise<void> {
    const { tenantId } = integration;
    const cached = this.secrets.get(tenantId);
    if (cached && cached.value.stripeAccountId === integration.stripeAccountId) {
      try {
        this.deps.verifier.verify(rawBody, header, cached.value.secret);
        return;
      } catch (error) {
        // The tenant may have rotated its secret since: re-read it, but not on every bad request.
        if (!(error instanceof InvalidSignatureError) || cached.ageMs < SECRET_REFRESH_AFTER_MS) throw error;
      }
    }
    const stored = await this.deps.webhookSecrets.get(tenantId);
    // A secret saved for the tenant's previous account never verifies its current one's events.
    if (!stored || stored.stripeAccountId !== integration.stripeAccountId) {
      throw new UnknownEndpointError('No webhook signing secret is configured for this endpoint');
    }
    this.secrets.set(tenantId, stored);
    this.deps.verifier.verify(rawBody, header, stored.secret);
  }

  /** Best effort: a missed activity timestamp is not worth a Stripe retry. */
  private async recordActivity(tenantId: string, endpoint: Endpoint): Promise<void> {
    const key = `${tenantId}#${endpoint}`;
    if (this.activity.get(key)) return;
    this.activity.set(key, true);
    try {
      await this.deps.integrations.recordWebhookActivity(tenantId, endpoint, this.deps.clock.now());
    } catch (error) {
      this.activity.delete(key);
      this.deps.log.warn('webhook_activity_not_recorded', { tenantId, errorName: (error as Error)?.name });
    }
  }
}

/** Within one second a creation comes first and a deletion last (see `RecordVersion.rank`). */
function eventRank(type: string): 1 | 2 | 3 {
  if (type.endsWith('.created')) return 1;
  if (type.endsWith('.deleted') || type === 'invoice.voided') return 3;
  return 2;
}

function requireSignatureHeader(header: string | undefined): string {
  if (!header || header.length > 4096) {
    throw new ValidationError('missing_signature', 'A Stripe-Signature header is required');
  }
  return header;
}

/** Only after the signature checked out: a signed body that is not a Stripe event is still refused. */
function parseEvent(rawBody: Buffer): StripeEventEnvelope {
  let value: unknown;
  try {
    value = JSON.parse(rawBody.toString('utf8'));
  } catch {
    throw new ValidationError('not_a_stripe_event', 'The body is not JSON');
  }
  const event = parseStripeEvent(value);
  if (!event) throw new ValidationError('not_a_stripe_event', 'The body is not a Stripe event');
  return event;
}
