import { BatchProcessor, EventType, processPartialResponse } from '@aws-lambda-powertools/batch';
import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import middy from '@middy/core';
import type { Context, SQSBatchResponse, SQSEvent, SQSRecord } from 'aws-lambda';
import { parseErasureJob } from '#shared/domain/maintenance-jobs.ts';
import { eraseTenantData } from '#shared/use-cases/data/erase-tenant-data.ts';
import { createAwsDependencies } from './commons/aws-dependencies.ts';
import type { AppDependencies } from './commons/dependencies.ts';
import { memo } from './commons/dependencies.ts';
import { logger } from './commons/logger.ts';

type Deps = Pick<
  AppDependencies,
  | 'tenantData'
  | 'eraser'
  | 'erasureQueue'
  | 'integrations'
  | 'backfillStatus'
  | 'backfillQueue'
  | 'clock'
  | 'log'
>;

/**
 * Erases a disconnected (or switched) tenant's data: records, journal and ledger, in paced
 * batches, checkpointed; a message that runs out of time queues its continuation. A throw
 * reports the message as failed, so SQS redelivers it and the erasure resumes.
 */
export function createErasureWorker(deps: Deps) {
  const processor = new BatchProcessor(EventType.SQS);
  const jobDeps = {
    get tenantData() {
      return deps.tenantData;
    },
    get eraser() {
      return deps.eraser;
    },
    get erasureQueue() {
      return deps.erasureQueue;
    },
    get integrations() {
      return deps.integrations;
    },
    get backfillStatus() {
      return deps.backfillStatus;
    },
    get backfillQueue() {
      return deps.backfillQueue;
    },
    clock: deps.clock,
    log: deps.log,
  };
  const processRecord = async (record: SQSRecord, context: Context) => {
    const stopAt = deps.clock.now().getTime() + context.getRemainingTimeInMillis();
    await eraseTenantData(jobDeps, parseErasureJob(record.body), stopAt);
  };
  return middy<SQSEvent, SQSBatchResponse>(async (event: SQSEvent, context: Context) =>
    processPartialResponse(event, (record: SQSRecord) => processRecord(record, context), processor, {
      context,
    }),
  ).use(injectLambdaContext(logger, { resetKeys: true }));
}

const worker = memo(() => createErasureWorker(createAwsDependencies()));
export const handler = (event: SQSEvent, context: Context) => worker()(event, context);
