import { BatchProcessor, EventType, processPartialResponse } from '@aws-lambda-powertools/batch';
import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import middy from '@middy/core';
import type { Context, SQSBatchResponse, SQSEvent, SQSRecord } from 'aws-lambda';
import { parseReconcileJob } from '#shared/domain/maintenance-jobs.ts';
import { scheduleSweeps } from '#shared/use-cases/reconcile/schedule-sweeps.ts';
import { type SweepSummary, sweepAccountEvents } from '#shared/use-cases/reconcile/sweep-account-events.ts';
import { createAwsDependencies } from './commons/aws-dependencies.ts';
import type { AppDependencies } from './commons/dependencies.ts';
import { memo } from './commons/dependencies.ts';
import { logger } from './commons/logger.ts';

type Deps = Pick<
  AppDependencies,
  | 'tenantState'
  | 'tenantData'
  | 'stripeEvents'
  | 'reconcileQueue'
  | 'erasureQueue'
  | 'records'
  | 'journal'
  | 'ledger'
  | 'integrations'
  | 'tokens'
  | 'webhookSecrets'
  | 'backfillStatus'
  | 'oauth'
  | 'revocationQueue'
  | 'platformClientId'
  | 'clock'
  | 'log'
>;

/** Direct invocation (`aws lambda invoke … --payload '{"tenantId":"…"}'`): one sweep, its summary back. */
export interface DirectSweepRequest {
  readonly tenantId: string;
}

function isSqsEvent(event: unknown): event is SQSEvent {
  return Array.isArray((event as SQSEvent | null)?.Records);
}

/**
 * The catch-up worker: the schedule's tick (`{"kind":"all"}`, from EventBridge every 15 minutes)
 * queues one sweep per connected tenant and the erasures that are due; each tenant's message
 * sweeps its account's Events API. A throw reports the message as failed, so SQS redelivers it
 * (the sweep's cursor only moves once its events are applied).
 */
export function createReconcileWorker(deps: Deps) {
  const processor = new BatchProcessor(EventType.SQS);
  // Named getters, not a spread: each adapter is built (and needs its grants) only when used.
  const sweepDeps = {
    get tenantState() {
      return deps.tenantState;
    },
    get tenantData() {
      return deps.tenantData;
    },
    get events() {
      return deps.stripeEvents;
    },
    get reconcileQueue() {
      return deps.reconcileQueue;
    },
    get erasureQueue() {
      return deps.erasureQueue;
    },
    get records() {
      return deps.records;
    },
    get journal() {
      return deps.journal;
    },
    get ledger() {
      return deps.ledger;
    },
    get integrations() {
      return deps.integrations;
    },
    get tokens() {
      return deps.tokens;
    },
    get webhookSecrets() {
      return deps.webhookSecrets;
    },
    get backfillStatus() {
      return deps.backfillStatus;
    },
    get oauth() {
      return deps.oauth;
    },
    get revocationQueue() {
      return deps.revocationQueue;
    },
    get platformClientId() {
      return deps.platformClientId;
    },
    clock: deps.clock,
    log: deps.log,
  };
  const sweep = (tenantId: string, context: Context): Promise<SweepSummary> =>
    sweepAccountEvents(sweepDeps, tenantId, context);

  return middy(
    async (
      event: SQSEvent | DirectSweepRequest,
      context: Context,
    ): Promise<SQSBatchResponse | SweepSummary> => {
      if (!isSqsEvent(event)) {
        const job = parseReconcileJob({ kind: 'tenant', tenantId: (event as DirectSweepRequest)?.tenantId });
        if (job.kind !== 'tenant') throw new Error('unreachable');
        return sweep(job.tenantId, context);
      }
      const processRecord = async (record: SQSRecord) => {
        const job = parseReconcileJob(record.body);
        if (job.kind === 'all') {
          await scheduleSweeps(sweepDeps, job.cursor, () => context.getRemainingTimeInMillis());
        } else {
          await sweep(job.tenantId, context);
        }
      };
      return processPartialResponse(event, processRecord, processor, { context });
    },
  ).use(injectLambdaContext(logger, { resetKeys: true }));
}

const worker = memo(() => createReconcileWorker(createAwsDependencies()));
export const handler = (event: SQSEvent | DirectSweepRequest, context: Context) => worker()(event, context);
