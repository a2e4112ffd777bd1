/** A Stripe revocation that failed and must be retried until Stripe confirms it. */
export interface RevocationJob {
  readonly tenantId: string;
  readonly stripeAccountId: string;
  /** ISO-8601: when the first attempt failed; retries stop (and alarm) 3 days after. */
  readonly firstFailedAt: string;
  readonly attempt: number;
}

export interface BackfillJob {
  readonly tenantId: string;
  readonly days: number;
  /** The run this message starts or continues (absent for a direct request: a run is created). */
  readonly runId?: string;
}

export interface RevocationQueue {
  enqueueRevocation(job: RevocationJob, delaySeconds: number): Promise<void>;
}

export interface BackfillQueue {
  /** `delaySeconds` (0..900) holds a throttled run's continuation back for a while. */
  enqueueBackfill(job: BackfillJob, delaySeconds?: number): Promise<void>;
}

/** Erases one account's data of one tenant; a continuation carries on where the last stopped. */
export interface ErasureJob {
  readonly tenantId: string;
  readonly stripeAccountId: string;
}

export interface ErasureQueue {
  enqueueErasure(job: ErasureJob, delaySeconds?: number): Promise<void>;
}

/**
 * The catch-up sweep's queue: the schedule's tick (`all`: find every connected tenant and every
 * erasure due), and one message per tenant to sweep.
 */
export type ReconcileJob =
  | { readonly kind: 'all'; readonly cursor?: string }
  | { readonly kind: 'tenant'; readonly tenantId: string };

export interface ReconcileQueue {
  /** Sends in batches (SQS takes 10 per call); every job is sent or the call throws. */
  enqueueReconcile(jobs: readonly ReconcileJob[], delaySeconds?: number): Promise<void>;
}
