import {
  QueueDoesNotExist,
  SendMessageBatchCommand,
  SendMessageCommand,
  SQSClient,
} from '@aws-sdk/client-sqs';
import { mockClient } from 'aws-sdk-client-mock';
import { allCustomMatcher } from 'aws-sdk-client-mock-vitest';
import { beforeEach, describe, expect, it } from 'vitest';
import {
  SqsBackfillQueue,
  SqsErasureQueue,
  SqsReconcileQueue,
  SqsRevocationQueue,
} from '#shared/adapters/queue/sqs-job-queues.ts';
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

describe('SqsErasureQueue and SqsReconcileQueue', () => {
  const ERASURE_QUEUE_URL = 'https://sqs.us-east-1.amazonaws.com/123456789012/erasure';
  const RECONCILE_QUEUE_URL = 'https://sqs.us-east-1.amazonaws.com/123456789012/reconcile';

  beforeEach(() => {
    sqs.reset();
    sqs.on(SendMessageCommand).resolves({ MessageId: 'm-1' });
  });

  it('sends an erasure job as JSON, no delay by default', async () => {
    await new SqsErasureQueue(new SQSClient({}), ERASURE_QUEUE_URL).enqueueErasure({
      tenantId: 'tenant_a',
      stripeAccountId: 'acct_1Abc',
    });
    expect(sentInput()).toEqual({
      QueueUrl: ERASURE_QUEUE_URL,
      MessageBody: '{"tenantId":"tenant_a","stripeAccountId":"acct_1Abc"}',
      DelaySeconds: 0,
    });
  });

  it('sends 23 sweeps in batches of 10, 10 and 3, each with the delay', async () => {
    sqs.on(SendMessageBatchCommand).callsFake((input: { Entries: unknown[] }) => ({
      Successful: input.Entries.map((_, i) => ({ Id: String(i), MessageId: `m${i}`, MD5OfMessageBody: '' })),
      Failed: [],
    }));
    const jobs = Array.from({ length: 23 }, (_, i) => ({ kind: 'tenant' as const, tenantId: `tenant_${i}` }));
    await new SqsReconcileQueue(new SQSClient({}), RECONCILE_QUEUE_URL).enqueueReconcile(jobs, 240);
    const calls = sqs.commandCalls(SendMessageBatchCommand).map((call) => call.args[0].input);
    expect(calls.map((input) => input.Entries?.length)).toEqual([10, 10, 3]);
    expect(
      calls.flatMap((input) => input.Entries ?? []).map((entry) => JSON.parse(entry.MessageBody ?? '')),
    ).toEqual(jobs);
    expect(calls.every((input) => input.Entries?.every((entry) => entry.DelaySeconds === 240))).toBe(true);
  });

  it('sends again only the entries SQS failed to take, and throws when they keep failing', async () => {
    let call = 0;
    sqs.on(SendMessageBatchCommand).callsFake((input: { Entries: { Id: string }[] }) => {
      call += 1;
      // The first answer refuses entry 1; later answers refuse everything.
      const failed = call === 1 ? input.Entries.filter((e) => e.Id === '1') : input.Entries;
      return {
        Successful: [],
        Failed: failed.map((e) => ({ Id: e.Id, SenderFault: false, Code: 'InternalError' })),
      };
    });
    const queue = new SqsReconcileQueue(new SQSClient({}), RECONCILE_QUEUE_URL);
    await expect(
      queue.enqueueReconcile([
        { kind: 'tenant', tenantId: 'a' },
        { kind: 'tenant', tenantId: 'b' },
      ]),
    ).rejects.toThrow('SQS refused 1 reconcile messages after 3 attempts');
    const retried = sqs
      .commandCalls(SendMessageBatchCommand)
      .map((c) => c.args[0].input.Entries?.map((e) => e.Id));
    expect(retried).toEqual([['0', '1'], ['1'], ['1']]);
  });
});
