import { Duration } from 'aws-cdk-lib';
import { Queue, QueueEncryption } from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';
import { BACKFILL_MAX_RECEIVES } from '../functions/routes.ts';

/** How long the backfill worker may hold a message: its 15-minute Lambda timeout plus a margin. */
export const BACKFILL_VISIBILITY_TIMEOUT = Duration.minutes(16);

export interface QueuesProps {
  /**
   * Timeout of the revocation worker. The queue hides a message for six times as long (AWS's
   * guidance for Lambda event sources), so a batch still being retried is never handed out twice.
   */
  readonly revocationWorkerTimeout: Duration;
}

/** A work queue and the dead-letter queue that catches what its consumer could not process. */
export interface QueueWithDlq {
  readonly queue: Queue;
  readonly deadLetterQueue: Queue;
}

/**
 * The connector's asynchronous work (design §3):
 * - revocation: `oauth.deauthorize` calls that failed at disconnect time, retried until they
 *   succeed (the worker re-enqueues with a growing delay; a message that still fails lands in the
 *   DLQ and raises an alarm);
 * - backfill: the history import started after a connect, split into resumable slices.
 */
export class Queues extends Construct {
  readonly revocation: QueueWithDlq;
  readonly backfill: QueueWithDlq;

  constructor(scope: Construct, id: string, props: QueuesProps) {
    super(scope, id);

    this.revocation = this.queueWithDlq('Revocation', {
      visibilityTimeout: Duration.seconds(props.revocationWorkerTimeout.toSeconds() * 6),
      maxReceiveCount: 3,
    });
    this.backfill = this.queueWithDlq('Backfill', {
      visibilityTimeout: BACKFILL_VISIBILITY_TIMEOUT,
      maxReceiveCount: BACKFILL_MAX_RECEIVES,
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
      // Longer than the 3 days a revocation is retried for (design §3), the longest-lived job here.
      retentionPeriod: Duration.days(4),
      visibilityTimeout: options.visibilityTimeout,
      deadLetterQueue: { queue: deadLetterQueue, maxReceiveCount: options.maxReceiveCount },
    });
    return { queue, deadLetterQueue };
  }
}
