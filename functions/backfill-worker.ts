import { BatchProcessor, EventType, processPartialResponse } from '@aws-lambda-powertools/batch';
import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import middy from '@middy/core';
import type { Context, SQSBatchResponse, SQSEvent, SQSRecord } from 'aws-lambda';
import { parseBackfillJob } from '#shared/domain/backfill-job.ts';
import { abandonBackfill } from '#shared/use-cases/backfill/abandon-backfill.ts';
import {
  type BackfillJobOutcome,
  processBackfillJob,
} from '#shared/use-cases/backfill/process-backfill-job.ts';
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
 * a direct invocation that answers with the run's outcome.
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
  const run = (job: unknown, context: Context) =>
    processBackfillJob(
      jobDeps,
      parseBackfillJob(job),
      deps.clock.now().getTime() + context.getRemainingTimeInMillis(),
    );

  return middy(
    async (
      event: SQSEvent | DirectBackfillRequest,
      context: Context,
    ): Promise<SQSBatchResponse | BackfillJobOutcome> => {
      if (!isSqsEvent(event)) return run(event, context);
      const processRecord = async (record: SQSRecord) => {
        const job = parseBackfillJob(JSON.parse(record.body));
        try {
          await run(job, context);
        } catch (error) {
          // The last receive before the DLQ: say so in the status instead of `running` forever.
          if (job.runId && Number(record.attributes.ApproximateReceiveCount) >= BACKFILL_MAX_RECEIVES) {
            const name = (error as { name?: unknown } | null)?.name;
            await abandonBackfill(
              deps,
              job.tenantId,
              job.runId,
              `Gave up after ${BACKFILL_MAX_RECEIVES} attempts (${String(name)})`,
            );
          }
          throw error;
        }
      };
      return processPartialResponse(event, processRecord, processor, { context });
    },
  ).use(injectLambdaContext(logger, { resetKeys: true }));
}

const worker = memo(() => createBackfillWorker(createAwsDependencies()));
export const handler = (event: SQSEvent | DirectBackfillRequest, context: Context) =>
  worker()(event, context);
