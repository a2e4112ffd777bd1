import { BatchProcessor, EventType, processPartialResponse } from '@aws-lambda-powertools/batch';
import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import middy from '@middy/core';
import type { Context, SQSBatchResponse, SQSEvent, SQSRecord } from 'aws-lambda';
import { withBatchDeadline } from '#shared/adapters/dynamodb/batch-io.ts';
import { parseBackfillJob } from '#shared/domain/backfill-job.ts';
import {
  type BackfillJobOutcome,
  type ProcessBackfillJobOptions,
  processBackfillJob,
} from '#shared/use-cases/backfill/process-backfill-job.ts';
import { handOverTime } from '#shared/use-cases/backfill/run-backfill.ts';
import { createAwsDependencies } from './commons/aws-dependencies.ts';
import type { AppDependencies } from './commons/dependencies.ts';
import { memo } from './commons/dependencies.ts';
import { logger } from './commons/logger.ts';
import { BACKFILL_MAX_RECEIVES } from './routes.ts';

type Deps = Pick<
  AppDependencies,
  | 'backfillStatus'
  | 'backfillQueue'
  | 'integrations'
  | 'records'
  | 'journal'
  | 'backfillSource'
  | 'clock'
  | 'log'
>;

/** Direct invocation (`aws lambda invoke … --payload '{"tenantId":"…","days":90}'`). */
export interface DirectBackfillRequest {
  readonly tenantId: string;
  readonly days?: number;
}

function isSqsEvent(event: unknown): event is SQSEvent {
  return Array.isArray((event as SQSEvent | null)?.Records);
}

/**
 * The backfill worker: SQS messages (one per invocation; a throw reports the message as failed,
 * so SQS redelivers it after the visibility timeout and the run resumes from its checkpoint), or
 * a direct invocation that answers with the run's outcome. The receive count tells the job which
 * attempt this is: on the last before the DLQ (and on a direct invocation, which nothing
 * retries) a run that does not end by itself is marked failed.
 */
export function createBackfillWorker(deps: Deps) {
  const processor = new BatchProcessor(EventType.SQS);
  // Named, not spread: spreading the composition would build every adapter, and this function
  // has neither the settings (e.g. the revocation queue's URL) nor the grants for most of them.
  const jobDeps = {
    backfillStatus: deps.backfillStatus,
    backfillQueue: deps.backfillQueue,
    integrations: deps.integrations,
    records: deps.records,
    journal: deps.journal,
    source: deps.backfillSource,
    clock: deps.clock,
    log: deps.log,
  };
  const now = () => deps.clock.now().getTime();
  const run = (job: unknown, context: Context, attempts?: ProcessBackfillJobOptions) => {
    const deadline = now() + context.getRemainingTimeInMillis();
    // Throttled batch writes back off until the slice's hand-over time, not past it.
    return withBatchDeadline(handOverTime(deadline), now, () =>
      processBackfillJob(jobDeps, parseBackfillJob(job), deadline, undefined, attempts),
    );
  };

  return middy(
    async (
      event: SQSEvent | DirectBackfillRequest,
      context: Context,
    ): Promise<SQSBatchResponse | BackfillJobOutcome> => {
      if (!isSqsEvent(event)) return run(event, context);
      const processRecord = async (record: SQSRecord) => {
        await run(JSON.parse(record.body), context, {
          attempt: Number(record.attributes.ApproximateReceiveCount) || 1,
          maxAttempts: BACKFILL_MAX_RECEIVES,
        });
      };
      return processPartialResponse(event, processRecord, processor, { context });
    },
  ).use(injectLambdaContext(logger, { resetKeys: true }));
}

const worker = memo(() => createBackfillWorker(createAwsDependencies()));
export const handler = (event: SQSEvent | DirectBackfillRequest, context: Context) =>
  worker()(event, context);
