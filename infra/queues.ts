import { Duration } from 'aws-cdk-lib';
import { Queue, QueueEncryption } from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';
import { BACKFILL_MAX_RECEIVES } from '../functions/routes.ts';

/**
 * A received message stays hidden for six times its consumer's timeout (AWS's guidance for
 * Lambda event sources): a batch whose invocation is throttled or retried is never handed to a
 * second consumer meanwhile. The cost is the wait after a crash: the message comes back only then.
 */
export const VISIBILITY_TIMEOUTS_PER_CONSUMER_TIMEOUT = 6;

/**
 * How long a work queue keeps a message: SQS's maximum, far beyond the 3 days a revocation is
 * retried for, so a backlog (or a consumer switched off for days) never loses work.
 */
export const WORK_QUEUE_RETENTION = Duration.days(14);

/**
 * Receives of one erasure message before SQS moves it to the DLQ. Each receive resumes from the
 * last checkpoint, so five failures in a row (30 minutes apart) are a fault a person must see,
 * not a slow erasure; the tick also re-queues an erasure that stopped checkpointing.
 */
export const ERASURE_MAX_RECEIVES = 5;

/**
 * Receives of one sweep (or tick) message before the DLQ. A sweep's cursor moves only once its
 * events are applied, and the next tick queues the tenant again anyway, so a message that fails
 * five times is a tenant (or a tick) that keeps failing: the DLQ alarm says so.
 */
export const RECONCILE_MAX_RECEIVES = 5;

export interface QueuesProps {
  /** Timeout of the revocation worker, the revocation queue's consumer. */
  readonly revocationWorkerTimeout: Duration;
  /** Timeout of the backfill worker, the backfill queue's consumer. */
  readonly backfillWorkerTimeout: Duration;
  /** Timeout of the erasure worker, the erasure queue's consumer. */
  readonly erasureWorkerTimeout: Duration;
  /** Timeout of the reconcile worker, the reconcile queue's consumer. */
  readonly reconcileWorkerTimeout: Duration;
}

/** A work queue and the dead-letter queue that catches what its consumer could not process. */
export interface QueueWithDlq {
  readonly queue: Queue;
  readonly deadLetterQueue: Queue;
}

/**
 * The connector's asynchronous work (README "Architecture"):
 * - revocation: `oauth.deauthorize` calls that failed at disconnect time, retried until they
 *   succeed (the worker re-enqueues with a growing delay; a message that still fails lands in the
 *   DLQ and raises an alarm);
 * - backfill: the history import started after a connect, split into resumable slices;
 * - erasure: the deletion of a disconnected (or replaced) account's data, in resumable steps;
 * - reconcile: the catch-up sweep, fed by the schedule's tick (`{"kind":"all"}`, every 15
 *   minutes) and by the tick itself (one message per connected tenant).
 */
export class Queues extends Construct {
  readonly revocation: QueueWithDlq;
  readonly backfill: QueueWithDlq;
  readonly erasure: QueueWithDlq;
  readonly reconcile: QueueWithDlq;

  constructor(scope: Construct, id: string, props: QueuesProps) {
    super(scope, id);

    this.revocation = this.queueWithDlq('Revocation', {
      visibilityTimeout: visibilityFor(props.revocationWorkerTimeout),
      maxReceiveCount: 3,
    });
    // 90 minutes against the worker's 15: a slice that crashed resumes from its checkpoint after
    // that long (a run whose lease expired and that has not progressed for an hour can also be
    // replaced by a re-sync; see the README's Backfill section).
    this.backfill = this.queueWithDlq('Backfill', {
      visibilityTimeout: visibilityFor(props.backfillWorkerTimeout),
      maxReceiveCount: BACKFILL_MAX_RECEIVES,
    });
    this.erasure = this.queueWithDlq('Erasure', {
      visibilityTimeout: visibilityFor(props.erasureWorkerTimeout),
      maxReceiveCount: ERASURE_MAX_RECEIVES,
    });
    // Visibility 30 minutes: a crashed sweep comes back after the next tick has already queued
    // the tenant again; the two are harmless together (the ledger applies each event once and
    // the cursor is saved conditionally).
    this.reconcile = this.queueWithDlq('Reconcile', {
      visibilityTimeout: visibilityFor(props.reconcileWorkerTimeout),
      maxReceiveCount: RECONCILE_MAX_RECEIVES,
    });
  }

  private queueWithDlq(
    id: string,
    options: { readonly visibilityTimeout: Duration; readonly maxReceiveCount: number },
  ): QueueWithDlq {
    const deadLetterQueue = new Queue(this, `${id}Dlq`, {
      encryption: QueueEncryption.SQS_MANAGED,
      enforceSSL: true,
      // The longest SQS allows: time to investigate and redrive before anything is lost.
      retentionPeriod: Duration.days(14),
    });
    const queue = new Queue(this, `${id}Queue`, {
      encryption: QueueEncryption.SQS_MANAGED,
      enforceSSL: true,
      retentionPeriod: WORK_QUEUE_RETENTION,
      visibilityTimeout: options.visibilityTimeout,
      deadLetterQueue: { queue: deadLetterQueue, maxReceiveCount: options.maxReceiveCount },
    });
    return { queue, deadLetterQueue };
  }
}

/** Six times the consumer's timeout (see {@link VISIBILITY_TIMEOUTS_PER_CONSUMER_TIMEOUT}). */
export function visibilityFor(consumerTimeout: Duration): Duration {
  return Duration.seconds(consumerTimeout.toSeconds() * VISIBILITY_TIMEOUTS_PER_CONSUMER_TIMEOUT);
}
