import { ValidationError } from '../errors/validation-error.ts';
import type { BackfillJob } from '../ports/job-queues.ts';
import { TENANT_ID_PATTERN } from './tenant.ts';

export const MAX_BACKFILL_DAYS = 365;

/** A backfill request from SQS, a direct invocation or the CLI: `{tenantId, days = 90, runId?}`. */
export function parseBackfillJob(value: unknown): BackfillJob {
  const job = value as { tenantId?: unknown; days?: unknown; runId?: unknown } | null;
  if (
    !job ||
    typeof job !== 'object' ||
    typeof job.tenantId !== 'string' ||
    !TENANT_ID_PATTERN.test(job.tenantId)
  ) {
    throw new ValidationError('invalid_backfill_job', 'tenantId is required and must be a tenant id');
  }
  const days = job.days ?? 90;
  if (typeof days !== 'number' || !Number.isInteger(days) || days < 1 || days > MAX_BACKFILL_DAYS) {
    throw new ValidationError(
      'invalid_backfill_job',
      `days must be a whole number from 1 to ${MAX_BACKFILL_DAYS}`,
    );
  }
  if (job.runId !== undefined && (typeof job.runId !== 'string' || !/^[A-Za-z0-9-]{1,64}$/.test(job.runId))) {
    throw new ValidationError('invalid_backfill_job', 'runId is malformed');
  }
  return { tenantId: job.tenantId, days, ...(typeof job.runId === 'string' ? { runId: job.runId } : {}) };
}

/** The earlier of two ISO-8601 instants, either possibly missing. */
export function earliest(a: string | null | undefined, b: string | null | undefined): string | undefined {
  if (!a) return b ?? undefined;
  if (!b) return a;
  return Date.parse(a) <= Date.parse(b) ? a : b;
}
