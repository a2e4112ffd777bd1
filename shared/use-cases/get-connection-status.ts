import type {
  BackfillProgress,
  BackfillResult,
  BackfillState,
  BackfillStatusStore,
} from '../ports/backfill-status-store.ts';
import type { IntegrationRepository } from '../ports/integration-repository.ts';
import type { DataState, TenantDataStore } from '../ports/tenant-data-store.ts';

/** The status contract of README "Routes" (`GET /api/connect/stripe/status`); absent fields are null. */
export interface ConnectionStatus {
  connected: boolean;
  /** `disconnecting`: a disconnect started but did not finish; DELETE again to finish it. */
  state: 'connected' | 'disconnecting' | 'not_connected';
  stripeAccountId: string | null;
  livemode: boolean | null;
  connectedAt: string | null;
  webhookSecretConfigured: boolean;
  webhook: {
    lastEventAt: string | null;
    /** The endpoint the tenant adds in its own Stripe dashboard, signed with its own secret. */
    tenantEndpoint: { url: string | null; secretConfigured: boolean; lastEventAt: string | null };
    /** The platform's Connect endpoint: no setup for the tenant. */
    connectEndpoint: { lastEventAt: string | null };
  };
  backfill: {
    status: BackfillState | null;
    startedAt: string | null;
    finishedAt: string | null;
    error: string | null;
    result: BackfillResult | null;
    /** Live counters while it runs: phase, pages, Stripe requests, objects read per type. */
    progress: { phase: string; pages: number; requests: number; objects: BackfillProgress['objects'] } | null;
  };
  /**
   * What becomes of the Stripe-derived data: null while connected (or when there never was any);
   * `kept` after a disconnect until `eraseAfter`, then `erasing` and `erased` (until the next
   * connect). While connected and a previous account's data is still being erased: `erasing`.
   */
  data: { state: Exclude<DataState, 'active'> | null; eraseAfter: string | null };
  /** The last Events API catch-up sweep (null before the first). */
  reconcile: { lastRunAt: string | null; eventsApplied: number | null };
}

export interface GetConnectionStatusDeps {
  readonly integrations: IntegrationRepository;
  readonly backfillStatus: BackfillStatusStore;
  readonly tenantData: TenantDataStore;
  readonly apiBaseUrl: string;
}

export async function getConnectionStatus(
  deps: GetConnectionStatusDeps,
  tenantId: string,
): Promise<ConnectionStatus> {
  const [integration, backfill, data] = await Promise.all([
    deps.integrations.getByTenant(tenantId),
    deps.backfillStatus.get(tenantId),
    deps.tenantData.get(tenantId),
  ]);
  const connected = integration?.status === 'connected';
  return {
    connected,
    state: connected ? 'connected' : integration ? 'disconnecting' : 'not_connected',
    stripeAccountId: connected ? integration.stripeAccountId : null,
    livemode: connected ? integration.livemode : null,
    connectedAt: connected ? integration.connectedAt : null,
    webhookSecretConfigured: connected && integration.webhookSecretConfigured,
    webhook: {
      lastEventAt: connected ? (integration.lastEventAt ?? null) : null,
      tenantEndpoint: {
        url: connected ? `${deps.apiBaseUrl}/api/webhooks/stripe/${integration.tenantSlug}` : null,
        secretConfigured: connected && integration.webhookSecretConfigured,
        lastEventAt: connected ? (integration.lastTenantEventAt ?? null) : null,
      },
      connectEndpoint: { lastEventAt: connected ? (integration.lastConnectEventAt ?? null) : null },
    },
    backfill: {
      status: connected ? (backfill?.status ?? null) : null,
      startedAt: connected ? (backfill?.startedAt ?? null) : null,
      finishedAt: connected ? (backfill?.finishedAt ?? null) : null,
      error: connected ? (backfill?.error ?? null) : null,
      result: connected ? (backfill?.result ?? null) : null,
      progress:
        connected && backfill?.progress
          ? {
              phase: backfill.progress.phase,
              pages: backfill.progress.pages,
              requests: backfill.progress.requests,
              objects: backfill.progress.objects,
            }
          : null,
    },
    data: {
      state: !data || data.state === 'active' ? null : data.state,
      eraseAfter: data?.state === 'kept' ? data.eraseAfter : null,
    },
    reconcile: {
      lastRunAt: connected && data?.state === 'active' ? (data.sweep?.lastRunAt ?? null) : null,
      eventsApplied: connected && data?.state === 'active' ? (data.sweep?.eventsApplied ?? null) : null,
    },
  };
}
