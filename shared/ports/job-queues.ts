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
