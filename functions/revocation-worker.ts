import { BatchProcessor, EventType, processPartialResponse } from '@aws-lambda-powertools/batch';
import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import middy from '@middy/core';
import type { Context, SQSBatchResponse, SQSEvent, SQSRecord } from 'aws-lambda';
import { parseRevocationJob } from '#shared/domain/revocation-job.ts';
import { retryRevocation } from '#shared/use-cases/retry-revocation.ts';
import { createAwsDependencies } from './commons/aws-dependencies.ts';
import type { AppDependencies } from './commons/dependencies.ts';
import { memo } from './commons/dependencies.ts';
import { logger } from './commons/logger.ts';

type Deps = Pick<AppDependencies, 'integrations' | 'oauth' | 'revocationQueue' | 'clock' | 'log'>;

/**
 * Retries revocations that failed during a disconnect. A record that throws is reported as a
 * batch item failure, so SQS redelivers only it, and after the redrive limit moves it to the DLQ
 * (which alarms).
 */
export function createRevocationWorker(deps: Deps) {
  const processor = new BatchProcessor(EventType.SQS);
  const processRecord = async (record: SQSRecord) => {
    await retryRevocation(deps, parseRevocationJob(record.body));
  };
  return middy<SQSEvent, SQSBatchResponse>(async (event: SQSEvent, context: Context) =>
    processPartialResponse(event, processRecord, processor, { context }),
  ).use(injectLambdaContext(logger, { resetKeys: true }));
}

const worker = memo(() => createRevocationWorker(createAwsDependencies()));
export const handler = (event: SQSEvent, context: Context) => worker()(event, context);
