/** How an event arrived: one of the two webhook endpoints, or the Events API sweep. */
export type EventSource = 'tenant' | 'connect' | 'sweep';

/** One processed (or refused-as-ignored) Stripe event: the ledger is also the audit log. */
export interface LedgerEntry {
  readonly eventId: string;
  readonly type: string;
  /** The event's own `created`, ISO-8601. */
  readonly created: string;
  readonly received: string;
  readonly endpoint: EventSource;
  /** `processed`, or `ignored:<reason>`. */
  readonly outcome: string;
}

export type LedgerResult =
  | { readonly duplicate: false; readonly entry: LedgerEntry }
  /** Seen before; `inProgress` when another delivery is processing it right now. */
  | { readonly duplicate: true; readonly inProgress: boolean };

/** Anything with the Lambda context's clock: leases end with the invocation that took them. */
export interface InvocationClock {
  getRemainingTimeInMillis(): number;
}

export interface EventLedger {
  /**
   * Runs `process` at most once per `(scope, eventId)`: an atomic conditional write takes an
   * in-progress lease first, and a throw removes the lease so the sender's retry runs again.
   */
  once(
    scope: string,
    eventId: string,
    process: () => Promise<LedgerEntry>,
    invocation: InvocationClock | undefined,
  ): Promise<LedgerResult>;
}
