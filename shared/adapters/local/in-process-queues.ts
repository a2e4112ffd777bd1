import type { BackfillJob, BackfillQueue, RevocationJob, RevocationQueue } from '../../ports/job-queues.ts';

export type QueuedMessage =
  | { readonly queue: 'revocation'; readonly job: RevocationJob; readonly delaySeconds: number }
  | { readonly queue: 'backfill'; readonly job: BackfillJob; readonly delaySeconds: number };

export interface InProcessConsumers {
  revocation?: (job: RevocationJob) => Promise<void>;
  backfill?: (job: BackfillJob) => Promise<void>;
}

/**
 * The local stack's stand-in for SQS: keeps every message it was given (tests read `sent`) and,
 * when a consumer is attached, delivers it after its delay, as the SQS event source would.
 */
export class InProcessQueues implements RevocationQueue, BackfillQueue {
  readonly sent: QueuedMessage[] = [];
  private readonly timers = new Set<NodeJS.Timeout>();

  constructor(
    private readonly consumers: InProcessConsumers = {},
    private readonly onError: (error: unknown, message: QueuedMessage) => void = () => undefined,
  ) {}

  async enqueueRevocation(job: RevocationJob, delaySeconds: number): Promise<void> {
    this.deliver({ queue: 'revocation', job, delaySeconds });
  }

  async enqueueBackfill(job: BackfillJob, delaySeconds = 0): Promise<void> {
    this.deliver({ queue: 'backfill', job, delaySeconds });
  }

  /** Cancels pending deliveries (on shutdown). */
  close(): void {
    for (const timer of this.timers) clearTimeout(timer);
    this.timers.clear();
  }

  private deliver(message: QueuedMessage): void {
    this.sent.push(message);
    const consumer =
      message.queue === 'revocation'
        ? this.consumers.revocation && (() => this.consumers.revocation?.(message.job as RevocationJob))
        : this.consumers.backfill && (() => this.consumers.backfill?.(message.job as BackfillJob));
    if (!consumer) return;
    const timer = setTimeout(() => {
      this.timers.delete(timer);
      consumer()?.catch((error: unknown) => this.onError(error, message));
    }, message.delaySeconds * 1000);
    timer.unref();
    this.timers.add(timer);
  }
}
