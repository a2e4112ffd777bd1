import { SendMessageCommand, type SQSClient } from '@aws-sdk/client-sqs';
import type { BackfillJob, BackfillQueue, RevocationJob, RevocationQueue } from '../../ports/job-queues.ts';

/** SQS's limit on DelaySeconds. */
const MAX_DELAY_SECONDS = 900;

/** SQS rejects a delay outside 0..900 or not an integer; a NaN would become a lost retry. */
function clampDelay(seconds: number): number {
  if (!Number.isFinite(seconds)) return seconds > 0 ? MAX_DELAY_SECONDS : 0;
  return Math.max(0, Math.min(MAX_DELAY_SECONDS, Math.round(seconds)));
}

export class SqsRevocationQueue implements RevocationQueue {
  constructor(
    private readonly client: SQSClient,
    private readonly queueUrl: string,
  ) {}

  async enqueueRevocation(job: RevocationJob, delaySeconds: number): Promise<void> {
    await this.client.send(
      new SendMessageCommand({
        QueueUrl: this.queueUrl,
        MessageBody: JSON.stringify(job),
        DelaySeconds: clampDelay(delaySeconds),
      }),
    );
  }
}

export class SqsBackfillQueue implements BackfillQueue {
  constructor(
    private readonly client: SQSClient,
    private readonly queueUrl: string,
  ) {}

  async enqueueBackfill(job: BackfillJob, delaySeconds = 0): Promise<void> {
    await this.client.send(
      new SendMessageCommand({
        QueueUrl: this.queueUrl,
        MessageBody: JSON.stringify(job),
        DelaySeconds: clampDelay(delaySeconds),
      }),
    );
  }
}
