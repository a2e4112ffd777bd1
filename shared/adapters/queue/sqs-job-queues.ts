import { SendMessageBatchCommand, SendMessageCommand, type SQSClient } from '@aws-sdk/client-sqs';
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

/** SQS's limit on DelaySeconds. */
const MAX_DELAY_SECONDS = 900;

/** SQS rejects a delay outside 0..900 or not an integer; a NaN would become a lost retry. */
function clampDelay(seconds: number): number {
  if (!Number.isFinite(seconds)) return seconds > 0 ? MAX_DELAY_SECONDS : 0;
  return Math.max(0, Math.min(MAX_DELAY_SECONDS, Math.round(seconds)));
}

/** One queue, one JSON message per job: what every single-job queue port needs. */
class SqsJobSender {
  constructor(
    private readonly client: SQSClient,
    private readonly queueUrl: string,
  ) {}

  protected async send(job: object, delaySeconds: number): Promise<void> {
    await this.client.send(
      new SendMessageCommand({
        QueueUrl: this.queueUrl,
        MessageBody: JSON.stringify(job),
        DelaySeconds: clampDelay(delaySeconds),
      }),
    );
  }
}

export class SqsRevocationQueue extends SqsJobSender implements RevocationQueue {
  enqueueRevocation(job: RevocationJob, delaySeconds: number): Promise<void> {
    return this.send(job, delaySeconds);
  }
}

export class SqsBackfillQueue extends SqsJobSender implements BackfillQueue {
  enqueueBackfill(job: BackfillJob, delaySeconds = 0): Promise<void> {
    return this.send(job, delaySeconds);
  }
}

export class SqsErasureQueue extends SqsJobSender implements ErasureQueue {
  enqueueErasure(job: ErasureJob, delaySeconds = 0): Promise<void> {
    return this.send(job, delaySeconds);
  }
}

/** SQS's limit of entries per SendMessageBatch. */
const MAX_BATCH_ENTRIES = 10;
/** Entries SQS failed to take (throttled, internal error) are sent again this many times. */
const MAX_BATCH_ATTEMPTS = 3;

export class SqsReconcileQueue implements ReconcileQueue {
  constructor(
    private readonly client: SQSClient,
    private readonly queueUrl: string,
  ) {}

  async enqueueReconcile(jobs: readonly ReconcileJob[], delaySeconds = 0): Promise<void> {
    for (let start = 0; start < jobs.length; start += MAX_BATCH_ENTRIES) {
      let entries = jobs.slice(start, start + MAX_BATCH_ENTRIES).map((job, index) => ({
        Id: String(index),
        MessageBody: JSON.stringify(job),
        DelaySeconds: clampDelay(delaySeconds),
      }));
      for (let attempt = 1; entries.length > 0; attempt++) {
        const { Failed = [] } = await this.client.send(
          new SendMessageBatchCommand({ QueueUrl: this.queueUrl, Entries: entries }),
        );
        const failed = new Set(Failed.map((failure) => failure.Id));
        entries = entries.filter((entry) => failed.has(entry.Id));
        // A partial failure that persists must not be a silent loss: the tick is retried whole.
        if (entries.length > 0 && attempt >= MAX_BATCH_ATTEMPTS) {
          throw new Error(`SQS refused ${entries.length} reconcile messages after ${attempt} attempts`);
        }
      }
    }
  }
}
