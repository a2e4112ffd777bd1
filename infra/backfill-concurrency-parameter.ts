import { CfnParameter, type Stack } from 'aws-cdk-lib';
import {
  backfillSecondsPerTenant,
  DEFAULT_BACKFILL_CONCURRENCY,
  MAX_BACKFILL_CONCURRENCY,
  SQS_EVENT_SOURCE_MIN_CONCURRENCY,
} from './capacity-model.ts';

/**
 * The `BackfillConcurrency` parameter: how many backfill workers run at once. It sets both the
 * SQS event source's maximum concurrency and the worker's reserved concurrency, so the poller is
 * never throttled by the reservation. Its bounds and default come from infra/capacity-model.ts.
 * Returns the value as a (deploy-time) number.
 */
export function createBackfillConcurrencyParameter(stack: Stack): number {
  return new CfnParameter(stack, 'BackfillConcurrency', {
    type: 'Number',
    description:
      `Backfill workers running at once (one tenant each). The default onboards 10,000 tenants a day ` +
      `with a safety factor of 2 (a large clinic takes about ${backfillSecondsPerTenant()} s); the maximum ` +
      "is what the table's default write quota carries.",
    default: DEFAULT_BACKFILL_CONCURRENCY,
    minValue: SQS_EVENT_SOURCE_MIN_CONCURRENCY,
    maxValue: MAX_BACKFILL_CONCURRENCY,
    constraintDescription: `must be a whole number from ${SQS_EVENT_SOURCE_MIN_CONCURRENCY} to ${MAX_BACKFILL_CONCURRENCY}`,
  }).valueAsNumber;
}
