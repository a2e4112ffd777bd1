import type { StripeIntegration } from '../domain/integration.ts';
import type { StoreChange, StripeEventEnvelope } from '../domain/records.ts';
import { mapStripeEvent } from '../domain/stripe-event-mapping.ts';
import { DEAUTHORIZATION } from '../domain/stripe-kinds/account.ts';
import { eventRank } from '../domain/stripe-kinds/registry.ts';
import { NotConnectedError } from '../errors/not-connected-error.ts';
import { RetryLaterError } from '../errors/retry-later-error.ts';
import type { ChangeJournal } from '../ports/change-journal.ts';
import type { Clock } from '../ports/clock.ts';
import type { EventLedger, EventSource, InvocationClock, LedgerEntry } from '../ports/event-ledger.ts';
import type { Log } from '../ports/log.ts';
import type { RecordStore } from '../ports/record-store.ts';
import type { TenantIntakeState } from '../ports/tenant-state-reader.ts';
import { type DisconnectStripeDeps, disconnectStripe } from './disconnect-stripe.ts';

export interface EventIntakeDeps extends DisconnectStripeDeps {
  readonly records: RecordStore;
  /** Written before the records, and only while a backfill is queued or running: its replay reads it. */
  readonly journal: ChangeJournal;
  readonly ledger: EventLedger;
  /** The platform's Connect client id: a deauthorization of another application is not ours. */
  readonly platformClientId: string;
  readonly clock: Clock;
  readonly log: Log;
}

export type IntakeReceipt =
  | {
      readonly outcome: 'processed';
      /** Whether any record changed (false when every change was older than the record). */
      readonly changed: boolean;
    }
  | { readonly outcome: 'ignored'; readonly reason: string }
  | { readonly outcome: 'duplicate' };

/** Seconds Stripe (or the sweep) is asked to wait when the same event is being applied elsewhere. */
export const IN_PROGRESS_RETRY_AFTER_SECONDS = 10;
/** While the previous account's data is erased; a big tenant's erasure takes minutes. */
export const ERASING_RETRY_AFTER_SECONDS = 60;

/**
 * Applies one verified Stripe event for a tenant, whichever way it arrived (the tenant's own
 * endpoint, the Connect endpoint, or the Events API sweep): the same ledger, the same ordering
 * guard, so an event seen twice counts once.
 *
 * `state` is the tenant's intake state read (strongly consistent) for this very event, so a
 * disconnect, an account switch or a backfill that began a moment ago is already seen.
 */
export async function applyStripeEvent(
  deps: EventIntakeDeps,
  state: TenantIntakeState,
  tenantId: string,
  event: StripeEventEnvelope,
  source: EventSource,
  invocation: InvocationClock | undefined,
): Promise<IntakeReceipt> {
  const integration = state.integration;
  if (integration?.status !== 'connected') {
    return recordIgnored(deps, tenantId, event, source, 'not_connected', invocation);
  }
  if (event.livemode !== integration.livemode) {
    return recordIgnored(deps, tenantId, event, source, 'livemode_mismatch', invocation);
  }
  if (event.type === DEAUTHORIZATION) {
    const reason = deauthorizationRefusal(deps, integration, event);
    if (reason) return recordIgnored(deps, tenantId, event, source, reason, invocation);
  } else if (state.data?.state === 'erasing') {
    // The previous account's data is still being erased: this account's events wait for it.
    throw new RetryLaterError(
      503,
      'previous_account_data_erasing',
      "The workspace's previous Stripe account data is being erased; retry later",
      ERASING_RETRY_AFTER_SECONDS,
    );
  }
  let changed = false;
  const result = await deps.ledger.once(
    tenantId,
    event.id,
    async () => {
      const applied = await applyChanges(deps, state, tenantId, event, source);
      changed = applied.changed;
      return applied.entry;
    },
    invocation,
  );
  if (result.duplicate) {
    if (result.inProgress) throw inProgress();
    return { outcome: 'duplicate' };
  }
  const { outcome } = result.entry;
  return outcome.startsWith('ignored:')
    ? { outcome: 'ignored', reason: outcome.slice('ignored:'.length) }
    : { outcome: 'processed', changed };
}

/** Recorded in the ledger (the audit log) under `scope`, so a repeat is answered from it. */
export async function recordIgnored(
  deps: Pick<EventIntakeDeps, 'ledger' | 'clock' | 'log'>,
  scope: string,
  event: StripeEventEnvelope,
  source: EventSource,
  reason: string,
  invocation: InvocationClock | undefined,
): Promise<IntakeReceipt> {
  deps.log.info('stripe_event_ignored', { eventId: event.id, type: event.type, endpoint: source, reason });
  const result = await deps.ledger.once(
    scope,
    event.id,
    async () => ledgerEntry(deps.clock, event, source, `ignored:${reason}`),
    invocation,
  );
  if (result.duplicate && result.inProgress) throw inProgress();
  return result.duplicate ? { outcome: 'duplicate' } : { outcome: 'ignored', reason };
}

/** A lease is not a result: the holder may die, so the sender must come back. */
function inProgress(): RetryLaterError {
  return new RetryLaterError(
    409,
    'event_in_progress',
    'This event is being processed by another delivery; retry later',
    IN_PROGRESS_RETRY_AFTER_SECONDS,
  );
}

/** Why a deauthorization does not end this connection, or undefined when it does. */
function deauthorizationRefusal(
  deps: Pick<EventIntakeDeps, 'platformClientId'>,
  integration: StripeIntegration,
  event: StripeEventEnvelope,
): string | undefined {
  if (event.object.id !== deps.platformClientId) return 'other_application';
  // Stripe retries for days: a deauthorization older than the current connection is history.
  if (event.created * 1000 < Date.parse(integration.connectedAt)) return 'stale_deauthorization';
  return undefined;
}

/** Runs inside the ledger's lease: a throw here releases it, so the sender's retry runs again. */
async function applyChanges(
  deps: EventIntakeDeps,
  state: TenantIntakeState,
  tenantId: string,
  event: StripeEventEnvelope,
  source: EventSource,
): Promise<{ entry: LedgerEntry; changed: boolean }> {
  const mapping = mapStripeEvent(event);
  if (mapping.outcome === 'ignored') {
    return { entry: ledgerEntry(deps.clock, event, source, `ignored:${mapping.reason}`), changed: false };
  }
  const version = { created: event.created, rank: eventRank(event.type), eventId: event.id };
  const stored = mapping.changes.filter((change): change is StoreChange => change.kind !== 'deauthorized');
  if (stored.length > 0 && state.backfillActive) {
    await deps.journal.append(tenantId, { eventId: event.id, version, changes: stored }, deps.clock.now());
  }
  let changed = false;
  for (const change of mapping.changes) {
    if (change.kind === 'deauthorized') {
      await deauthorized(deps, tenantId);
      changed = true;
    } else if ((await deps.records.apply(tenantId, change, version)) === 'applied') {
      changed = true;
    }
  }
  return { entry: ledgerEntry(deps.clock, event, source, 'processed'), changed };
}

/** The tenant revoked access from Stripe's side: same cleanup as a disconnect, minus the call. */
async function deauthorized(deps: EventIntakeDeps, tenantId: string): Promise<void> {
  try {
    await disconnectStripe(deps, tenantId, { revokeAtStripe: false });
  } catch (error) {
    if (!(error instanceof NotConnectedError)) throw error;
  }
}

function ledgerEntry(
  clock: Clock,
  event: StripeEventEnvelope,
  source: EventSource,
  outcome: string,
): LedgerEntry {
  return {
    eventId: event.id,
    type: event.type,
    created: new Date(event.created * 1000).toISOString(),
    received: clock.now().toISOString(),
    endpoint: source,
    outcome,
  };
}
