import { QueueDoesNotExist, SendMessageCommand, SQSClient } from '@aws-sdk/client-sqs';
import { mockClient } from 'aws-sdk-client-mock';
import { allCustomMatcher } from 'aws-sdk-client-mock-vitest';
import { beforeEach, describe, expect, it } from 'vitest';
import { SqsBackfillQueue, SqsRevocationQueue } from '#shared/adapters/queue/sqs-job-queues.ts';
import type { RevocationJob } from '#shared/ports/job-queues.ts';

expect.extend(allCustomMatcher);

const REVOCATION_QUEUE_URL = 'https://sqs.us-east-1.amazonaws.com/123456789012/revocations';
const BACKFILL_QUEUE_URL = 'https://sqs.us-east-1.amazonaws.com/123456789012/backfill';

const JOB: RevocationJob = {
  tenantId: 'tenant_01HX9Z',
  stripeAccountId: 'acct_1Abc',
  firstFailedAt: '2026-01-02T03:04:05.000Z',
  attempt: 2,
};

const sqs = mockClient(SQSClient);

function sentInput() {
  const calls = sqs.commandCalls(SendMessageCommand);
  expect(calls).toHaveLength(1);
  return calls[0]?.args[0].input;
}

describe('SqsRevocationQueue', () => {
  let queue: SqsRevocationQueue;

  beforeEach(() => {
    sqs.reset();
    sqs.on(SendMessageCommand).resolves({ MessageId: 'm-1' });
    queue = new SqsRevocationQueue(new SQSClient({}), REVOCATION_QUEUE_URL);
  });

  it('sends the job as JSON to the revocation queue with the delay', async () => {
    // Act
    await queue.enqueueRevocation(JOB, 120);

    // Assert
    expect(sqs).toHaveReceivedCommandExactlyOnceWith(SendMessageCommand, {
      QueueUrl: REVOCATION_QUEUE_URL,
      DelaySeconds: 120,
    });
    expect(JSON.parse(sentInput()?.MessageBody ?? 'null')).toEqual(JOB);
  });

  it.each([
    [-5, 0],
    [0, 0],
    [12.4, 12],
    [12.5, 13],
    [899.6, 900],
    [900, 900],
    [901, 900],
    [86_400, 900],
    [Number.POSITIVE_INFINITY, 900],
    [Number.NEGATIVE_INFINITY, 0],
  ])('sends DelaySeconds %s as %s', async (delay, expected) => {
    // Act
    await queue.enqueueRevocation(JOB, delay);

    // Assert
    expect(sentInput()?.DelaySeconds).toBe(expected);
  });

  // Math.max(0, NaN) is NaN: without an explicit check SQS would get DelaySeconds=NaN.
  it('sends a whole number of seconds within 0..900 even for a NaN delay', async () => {
    // Act
    await queue.enqueueRevocation(JOB, Number.NaN);

    // Assert
    const delay = sentInput()?.DelaySeconds;
    expect(Number.isInteger(delay)).toBe(true);
    expect(delay).toBeGreaterThanOrEqual(0);
    expect(delay).toBeLessThanOrEqual(900);
  });

  it('propagates a send failure', async () => {
    // Arrange
    sqs.on(SendMessageCommand).rejects(new QueueDoesNotExist({ message: 'no queue', $metadata: {} }));

    // Act & Assert
    await expect(queue.enqueueRevocation(JOB, 60)).rejects.toBeInstanceOf(QueueDoesNotExist);
  });
});

describe('SqsBackfillQueue', () => {
  let queue: SqsBackfillQueue;

  beforeEach(() => {
    sqs.reset();
    sqs.on(SendMessageCommand).resolves({ MessageId: 'm-2' });
    queue = new SqsBackfillQueue(new SQSClient({}), BACKFILL_QUEUE_URL);
  });

  it('sends the job as JSON to the backfill queue without a delay', async () => {
    // Act
    await queue.enqueueBackfill({ tenantId: 'tenant_01HX9Z', days: 90 });

    // Assert
    expect(sqs).toHaveReceivedCommandExactlyOnceWith(SendMessageCommand, { QueueUrl: BACKFILL_QUEUE_URL });
    const input = sentInput();
    expect(JSON.parse(input?.MessageBody ?? 'null')).toEqual({ tenantId: 'tenant_01HX9Z', days: 90 });
    expect(input?.DelaySeconds).toBe(0);
  });

  it('holds a throttled run back with the delay it asks for, within SQS limits', async () => {
    await queue.enqueueBackfill({ tenantId: 'tenant_01HX9Z', days: 90, runId: 'run-1' }, 300);
    expect(sentInput()?.DelaySeconds).toBe(300);
  });

  it('propagates a send failure', async () => {
    // Arrange
    sqs.on(SendMessageCommand).rejects(new Error('socket hang up'));

    // Act & Assert
    await expect(queue.enqueueBackfill({ tenantId: 'tenant_01HX9Z', days: 90 })).rejects.toThrow(
      'socket hang up',
    );
  });
});
