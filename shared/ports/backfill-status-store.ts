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
  /** The end-of-run journal replay, once the lists are done: where it resumes after a hand-over. */
  readonly replay?: ReplayProgress;
}

/** How far the journal replay of a run has got. */
export interface ReplayProgress {
  /** The journal position of the last entry applied (see `ChangeJournal.since`); null before the first. */
  readonly after: string | null;
  /** Entries applied so far, across slices. */
  readonly entries: number;
  /** Read through to the journal's end after the run's last batch: nothing more to replay. */
  readonly done?: boolean;
}

/** How a run ends: `replayPending` marks a failed run whose journal replay is still to finish. */
export type BackfillOutcome =
  | { readonly status: 'succeeded'; readonly result: BackfillResult }
  | { readonly status: 'failed'; readonly error: string; readonly replayPending?: boolean };

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
  /**
   * A failed run whose journal replay has not finished: its continuation replays the rest (see
   * `advancePendingReplay`), and a run that replaces it replays from this run's start.
   */
  readonly replayPending: boolean;
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
  /**
   * Whether the run may still write (a strongly consistent read): it is the tenant's current run
   * and running, or failed with its replay pending. False once a disconnect deleted the status.
   */
  isCurrent(tenantId: string, runId: string): Promise<boolean>;
  /** Gives the lease up early, so the continuation message can take the run over at once. */
  release(tenantId: string, runId: string): Promise<void>;
  /**
   * Ends a queued or running run; true when this call ended it (false when it had already ended,
   * or is not the current run: a finished run is never changed).
   */
  finish(tenantId: string, runId: string, outcome: BackfillOutcome, at: Date): Promise<boolean>;
  /**
   * Records how far a failed run's pending replay got (`done` clears `replayPending`); false when
   * the run is no longer current or has no replay pending.
   */
  advancePendingReplay(
    tenantId: string,
    runId: string,
    progress: BackfillProgress,
    at: Date,
    done: boolean,
  ): Promise<boolean>;
  delete(tenantId: string): Promise<void>;
}
