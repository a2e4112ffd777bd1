import type { SQSEvent } from 'aws-lambda';

/** The event the SQS event source hands a worker: one record, its body JSON (or a raw string). */
export function sqsEvent(body: unknown, messageId = 'm-1', receiveCount = 1): SQSEvent {
  return {
    Records: [
      {
        messageId,
        receiptHandle: 'r',
        body: typeof body === 'string' ? body : JSON.stringify(body),
        attributes: {
          ApproximateReceiveCount: String(receiveCount),
          SentTimestamp: '0',
          SenderId: 's',
          ApproximateFirstReceiveTimestamp: '0',
        },
        messageAttributes: {},
        md5OfBody: '',
        eventSource: 'aws:sqs',
        eventSourceARN: 'arn:aws:sqs:us-east-1:123456789012:queue',
        awsRegion: 'us-east-1',
      },
    ],
  };
}
