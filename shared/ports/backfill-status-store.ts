import type { BackfillPhase } from './stripe-backfill-source.ts';

export type BackfillState = 'queued' | 'running' | 'succeeded' | 'failed';

export interface BackfillResult {
  readonly customersUpserted: number;
  readonly subscriptionsCreated: number;
  readonly ordersCreated: number;
}

/** Where a run stands: checkpointed after every page, so a cut-off run resumes right there. */
export interface BackfillProgress {
  readonly phase: BackfillPhase | 'counting';
  /** `starting_after` for the next page of `phase`; null at the start of a phase. */
  readonly cursor: string | null;
  readonly pages: number;
  /** Stripe requests made, retries included. */
  readonly requests: number;
  /** Stripe objects read, per phase. */
  readonly objects: Readonly<Partial<Record<BackfillPhase, number>>>;
  /**
   * Where each lane of lists resumes (see `BACKFILL_LANES`), null once a lane is done. `phase` and
   * `cursor` above repeat the first unfinished lane's, for display.
   */
  readonly lanes?: readonly ({ readonly phase: BackfillPhase; readonly cursor: string | null } | null)[];
  /** Slices in a row that ended throttled (429/5xx beyond their retries); reset by any page. */
  readonly stalls?: number;
}

export interface BackfillStatus {
  readonly status: BackfillState;
  readonly runId: string | null;
  readonly days: number;
  /** Epoch seconds: the window's first second. */
  readonly windowStart: number;
  readonly queuedAt: string;
  readonly startedAt: string | null;
  /**
   * Where this run's journal replay begins when that is before its own start: a run it replaced
   * (its worker died without giving up) never replayed the events its batches overwrote.
   */
  readonly replayFrom: string | null;
  readonly finishedAt: string | null;
  readonly error: string | null;
  readonly result: BackfillResult | null;
  readonly progress: BackfillProgress | null;
  /** Epoch ms until which a worker holds the run; another may take it over after. */
  readonly leaseUntil: number | null;
}

export interface BackfillRunRequest {
  readonly runId: string;
  readonly days: number;
  readonly at: Date;
  /** Inherited from the run this one replaces (see `BackfillStatus.replayFrom`). */
  readonly replayFrom?: string | undefined;
}

export interface BackfillStatusStore {
  get(tenantId: string): Promise<BackfillStatus | undefined>;
  /**
   * Queues a new run unless one is queued or running (at most one per tenant). A queued run
   * that no worker picked up within `staleQueuedMs` may be replaced.
   */
  requestRun(tenantId: string, request: BackfillRunRequest, staleQueuedMs: number): Promise<boolean>;
  /** Takes the run's lease; undefined when another worker holds it or the run is not this one. */
  begin(tenantId: string, runId: string, now: Date, leaseUntil: number): Promise<BackfillStatus | undefined>;
  /** False when the run is no longer this one, or no longer running (nothing was written). */
  checkpoint(tenantId: string, runId: string, progress: BackfillProgress, at: Date): Promise<boolean>;
  /** Gives the lease up early, so the continuation message can take the run over at once. */
  release(tenantId: string, runId: string): Promise<void>;
  finish(
    tenantId: string,
    runId: string,
    outcome: { status: 'succeeded'; result: BackfillResult } | { status: 'failed'; error: string },
    at: Date,
  ): Promise<void>;
  delete(tenantId: string): Promise<void>;
}
