import type { StripeEventEnvelope } from '../domain/records.ts';
import { parseStripeEvent } from '../domain/stripe-event-envelope.ts';
import { TENANT_SLUG_PATTERN } from '../domain/tenant.ts';
import { UnknownEndpointError } from '../errors/unknown-endpoint-error.ts';
import { ValidationError } from '../errors/validation-error.ts';
import type { InvocationClock } from '../ports/event-ledger.ts';
import type { SignatureVerifier } from '../ports/signature-verifier.ts';
import type { TenantIntakeState, TenantStateReader } from '../ports/tenant-state-reader.ts';
import type { StoredWebhookSecret, WebhookSecretStore } from '../ports/webhook-secret-store.ts';
import { TtlCache } from '../support/ttl-cache.ts';
import {
  applyStripeEvent,
  type EventIntakeDeps,
  type IntakeReceipt,
  recordIgnored,
} from './apply-stripe-event.ts';

export interface WebhookDeps extends EventIntakeDeps {
  /** Read to verify the tenant endpoint's signatures; a deauthorization deletes it. */
  readonly webhookSecrets: WebhookSecretStore;
  /** Read once per event: the connection, the secret's version, a running backfill. */
  readonly tenantState: TenantStateReader;
  readonly verifier: SignatureVerifier;
  /** The Connect endpoint's signing secret; undefined when the platform has not configured it. */
  readonly connectWebhookSecret: () => Promise<string | undefined>;
}

export type Endpoint = 'tenant' | 'connect';

export interface WebhookRequest {
  readonly rawBody: Buffer;
  readonly signature: string | undefined;
  readonly invocation: InvocationClock | undefined;
}

export interface WebhookReceipt {
  readonly outcome: 'processed' | 'ignored' | 'duplicate';
  readonly reason?: string;
}

/**
 * Which tenant a slug or an account belongs to changes only on a (re)connect, and every entry is
 * checked against the tenant's row read for the event, so a stale one costs one more lookup,
 * never a wrong answer.
 */
const ROUTING_TTL_MS = 300_000;
/** A secret is re-read when the row names another save of it; this bounds the memory only. */
const SECRET_TTL_MS = 3_600_000;
/** `lastEventAt` is written at most once a minute per tenant and endpoint from one container. */
const ACTIVITY_WRITE_INTERVAL_MS = 60_000;
const CACHE_ENTRIES = 5000;

/**
 * Receives Stripe events on the per-tenant and the Connect endpoint: resolve the tenant, read its
 * state (one strongly consistent read), verify the signature on the raw bytes before parsing
 * anything, then apply the event exactly once through the ledger. One instance lives per warm
 * container; its caches only spare lookups that the per-event read confirms, so a disconnect or
 * a new secret takes effect on the next event in every container.
 */
export class StripeWebhookReceiver {
  private readonly tenantBySlug = new TtlCache<string>(ROUTING_TTL_MS, CACHE_ENTRIES);
  private readonly tenantByAccount = new TtlCache<string>(ROUTING_TTL_MS, CACHE_ENTRIES);
  private readonly secrets = new TtlCache<StoredWebhookSecret>(SECRET_TTL_MS, CACHE_ENTRIES);
  private readonly activity = new TtlCache<true>(ACTIVITY_WRITE_INTERVAL_MS, CACHE_ENTRIES);

  constructor(private readonly deps: WebhookDeps) {}

  /** `POST /api/webhooks/stripe/{slug}`: the endpoint a tenant adds in its own Stripe dashboard. */
  async receiveTenantEvent(slug: string, request: WebhookRequest): Promise<WebhookReceipt> {
    const header = requireSignatureHeader(request.signature);
    if (!TENANT_SLUG_PATTERN.test(slug))
      throw new UnknownEndpointError('No webhook endpoint at this address');
    const { tenantId, state } = await this.tenantOfSlug(slug);
    const integration = state.integration;
    if (integration?.status !== 'connected' || integration.tenantSlug !== slug)
      throw new UnknownEndpointError('No webhook endpoint at this address');
    // Answered from the row: a slug without a secret never costs a Secrets Manager read.
    if (!integration.webhookSecretConfigured) {
      throw new UnknownEndpointError('No webhook signing secret is configured for this endpoint');
    }
    await this.verifyWithTenantSecret(tenantId, state, request.rawBody, header);
    const event = parseEvent(request.rawBody);
    // A tenant that is itself a platform may forward its connected accounts' events: not its data.
    if (event.account && event.account !== integration.stripeAccountId) {
      return this.answer(
        tenantId,
        'tenant',
        await this.ignore(tenantId, event, 'tenant', 'foreign_account', request),
      );
    }
    const receipt = await applyStripeEvent(this.deps, state, tenantId, event, 'tenant', request.invocation);
    return this.answer(tenantId, 'tenant', receipt);
  }

  /** `POST /api/webhooks/stripe-connect`: the platform's endpoint, routed by `event.account`. */
  async receiveConnectEvent(request: WebhookRequest): Promise<WebhookReceipt> {
    const header = requireSignatureHeader(request.signature);
    const secret = await this.deps.connectWebhookSecret();
    if (!secret) throw new UnknownEndpointError('The Connect webhook endpoint is not configured');
    this.deps.verifier.verify(request.rawBody, header, secret);
    const event = parseEvent(request.rawBody);
    if (!event.account)
      return toWebhookReceipt(await this.ignore('platform', event, 'connect', 'no_account', request));
    const found = await this.tenantOfAccount(event.account);
    const integration = found?.state.integration;
    if (!found || integration?.status !== 'connected' || integration.stripeAccountId !== event.account) {
      const receipt = await this.ignore(
        `account:${event.account}`,
        event,
        'connect',
        'unknown_account',
        request,
      );
      return toWebhookReceipt(receipt);
    }
    const receipt = await applyStripeEvent(
      this.deps,
      found.state,
      found.tenantId,
      event,
      'connect',
      request.invocation,
    );
    return this.answer(found.tenantId, 'connect', receipt);
  }

  private ignore(
    scope: string,
    event: StripeEventEnvelope,
    endpoint: Endpoint,
    reason: string,
    request: WebhookRequest,
  ): Promise<IntakeReceipt> {
    return recordIgnored(this.deps, scope, event, endpoint, reason, request.invocation);
  }

  private async answer(
    tenantId: string,
    endpoint: Endpoint,
    receipt: IntakeReceipt,
  ): Promise<WebhookReceipt> {
    await this.recordActivity(tenantId, endpoint);
    return toWebhookReceipt(receipt);
  }

  private async tenantOfSlug(slug: string): Promise<{ tenantId: string; state: TenantIntakeState }> {
    const cached = this.tenantBySlug.get(slug)?.value;
    if (cached) {
      const state = await this.deps.tenantState.read(cached);
      if (state.integration?.tenantSlug === slug) return { tenantId: cached, state };
      this.tenantBySlug.delete(slug);
    }
    const integration = await this.deps.integrations.findBySlug(slug);
    if (!integration)
      return { tenantId: '', state: { integration: undefined, backfillActive: false, data: undefined } };
    this.tenantBySlug.set(slug, integration.tenantId);
    return { tenantId: integration.tenantId, state: await this.deps.tenantState.read(integration.tenantId) };
  }

  private async tenantOfAccount(
    stripeAccountId: string,
  ): Promise<{ tenantId: string; state: TenantIntakeState } | undefined> {
    const cached = this.tenantByAccount.get(stripeAccountId)?.value;
    if (cached) {
      const state = await this.deps.tenantState.read(cached);
      if (state.integration?.stripeAccountId === stripeAccountId) return { tenantId: cached, state };
      this.tenantByAccount.delete(stripeAccountId);
    }
    const tenantId = await this.deps.integrations.accountHolder(stripeAccountId);
    if (!tenantId) return undefined;
    const state = await this.deps.tenantState.read(tenantId);
    if (state.integration?.stripeAccountId === stripeAccountId)
      this.tenantByAccount.set(stripeAccountId, tenantId);
    return { tenantId, state };
  }

  private async verifyWithTenantSecret(
    tenantId: string,
    state: TenantIntakeState,
    rawBody: Buffer,
    header: string,
  ): Promise<void> {
    const integration = state.integration;
    if (!integration) throw new UnknownEndpointError('No webhook endpoint at this address');
    const current = integration.webhookSecretVersion ?? undefined;
    const cached = this.secrets.get(tenantId)?.value;
    if (cached && cached.stripeAccountId === integration.stripeAccountId && cached.version === current) {
      this.deps.verifier.verify(rawBody, header, cached.secret);
      return;
    }
    const stored = await this.deps.webhookSecrets.get(tenantId);
    // A secret saved for the tenant's previous account never verifies its current one's events.
    if (!stored || stored.stripeAccountId !== integration.stripeAccountId) {
      this.secrets.delete(tenantId);
      throw new UnknownEndpointError('No webhook signing secret is configured for this endpoint');
    }
    // Another version than the row's is a save still under way: used, but not kept.
    if (stored.version === current) this.secrets.set(tenantId, stored);
    else this.secrets.delete(tenantId);
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

function toWebhookReceipt(receipt: IntakeReceipt): WebhookReceipt {
  return receipt.outcome === 'ignored'
    ? { outcome: 'ignored', reason: receipt.reason }
    : { outcome: receipt.outcome };
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
