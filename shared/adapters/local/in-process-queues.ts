import type {
  BackfillJob,
  BackfillQueue,
  ErasureJob,
  ErasureQueue,
  ReconcileJob,
  ReconcileQueue,
  RevocationJob,
  RevocationQueue,
} from '../../ports/job-queues.ts';

interface Jobs {
  revocation: RevocationJob;
  backfill: BackfillJob;
  erasure: ErasureJob;
  reconcile: ReconcileJob;
}

export type QueuedMessage = {
  [Q in keyof Jobs]: { readonly queue: Q; readonly job: Jobs[Q]; readonly delaySeconds: number };
}[keyof Jobs];

export type InProcessConsumers = { [Q in keyof Jobs]?: (job: Jobs[Q]) => Promise<void> };

/**
 * The local stack's stand-in for SQS: keeps every message it was given (tests read `sent`) and,
 * when a consumer is attached, delivers it after its delay, as the SQS event source would.
 */
export class InProcessQueues implements RevocationQueue, BackfillQueue, ErasureQueue, ReconcileQueue {
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

  async enqueueErasure(job: ErasureJob, delaySeconds = 0): Promise<void> {
    this.deliver({ queue: 'erasure', job, delaySeconds });
  }

  async enqueueReconcile(jobs: readonly ReconcileJob[], delaySeconds = 0): Promise<void> {
    for (const job of jobs) this.deliver({ queue: 'reconcile', job, delaySeconds });
  }

  /** Cancels pending deliveries (on shutdown). */
  close(): void {
    for (const timer of this.timers) clearTimeout(timer);
    this.timers.clear();
  }

  private deliver(message: QueuedMessage): void {
    this.sent.push(message);
    const handler = this.consumers[message.queue] as ((job: unknown) => Promise<void>) | undefined;
    if (!handler) return;
    const consumer = () => handler(message.job);
    const timer = setTimeout(() => {
      this.timers.delete(timer);
      consumer()?.catch((error: unknown) => this.onError(error, message));
    }, message.delaySeconds * 1000);
    timer.unref();
    this.timers.add(timer);
  }
}
