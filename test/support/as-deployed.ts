import type { Context } from 'aws-lambda';
import { requestBackfill as requestBackfillOf } from '#shared/use-cases/backfill/request-backfill.ts';
import { runBackfill as runBackfillOf } from '#shared/use-cases/backfill/run-backfill.ts';
import { createBackfillRequestHandler as createBackfillRequestHandlerOf } from '../../functions/backfill-request.ts';
import { createBackfillWorker as createBackfillWorkerOf } from '../../functions/backfill-worker.ts';
import { createErasureWorker as createErasureWorkerOf } from '../../functions/erasure-worker.ts';
import { createReconcileWorker as createReconcileWorkerOf } from '../../functions/reconcile-worker.ts';
import { createRevocationWorker as createRevocationWorkerOf } from '../../functions/revocation-worker.ts';
import { asFunction } from './iam/iam-enforcement.ts';

/**
 * The entry points the tests drive, each run as the Lambda function that runs it when deployed,
 * so every AWS call they make is checked against that function's role in the template.
 */

// biome-ignore lint/suspicious/noExplicitAny: a wrapper that keeps any signature as it is.
function runAs<F extends (...args: any[]) => any>(functionName: string, fn: F): F {
  return ((...args: Parameters<F>) => asFunction(functionName, () => fn(...args))) as F;
}

/** Only the backfill worker runs a backfill. */
export const runBackfill = runAs('BackfillWorker', runBackfillOf);

/** A re-sync as `POST /api/connect/stripe/backfill` asks for it. */
export const requestBackfill = runAs('BackfillRequest', requestBackfillOf);

export function createBackfillWorker(...args: Parameters<typeof createBackfillWorkerOf>) {
  const worker = createBackfillWorkerOf(...args);
  return (event: Parameters<typeof worker>[0], context: Context) =>
    asFunction('BackfillWorker', () => worker(event, { ...context, functionName: 'BackfillWorker' }));
}

export function createRevocationWorker(...args: Parameters<typeof createRevocationWorkerOf>) {
  const worker = createRevocationWorkerOf(...args);
  return (event: Parameters<typeof worker>[0], context: Context) =>
    asFunction('RevocationWorker', () => worker(event, { ...context, functionName: 'RevocationWorker' }));
}

/** The catch-up worker: SQS ticks and sweeps, or a direct `{tenantId}` invocation. */
export function createReconcileWorker(...args: Parameters<typeof createReconcileWorkerOf>) {
  const worker = createReconcileWorkerOf(...args);
  return (event: Parameters<typeof worker>[0], context: Context) =>
    asFunction('ReconcileWorker', () => worker(event, { ...context, functionName: 'ReconcileWorker' }));
}

export function createErasureWorker(...args: Parameters<typeof createErasureWorkerOf>) {
  const worker = createErasureWorkerOf(...args);
  return (event: Parameters<typeof worker>[0], context: Context) =>
    asFunction('ErasureWorker', () => worker(event, { ...context, functionName: 'ErasureWorker' }));
}

export function createBackfillRequestHandler(...args: Parameters<typeof createBackfillRequestHandlerOf>) {
  const handler = createBackfillRequestHandlerOf(...args);
  return (event: Parameters<typeof handler>[0], context: Context) =>
    asFunction('BackfillRequest', () => handler(event, { ...context, functionName: 'BackfillRequest' }));
}
