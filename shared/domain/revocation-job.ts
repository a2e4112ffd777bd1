import { ValidationError } from '../errors/validation-error.ts';
import type { RevocationJob } from '../ports/job-queues.ts';
import { STRIPE_ACCOUNT_ID_PATTERN } from './integration.ts';
import { TENANT_ID_PATTERN } from './tenant.ts';

const ISO_TIMESTAMP = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{1,9})?Z$/;

/** Parses a queued revocation, refusing anything that did not come from this service. */
export function parseRevocationJob(body: string): RevocationJob {
  let value: unknown;
  try {
    value = JSON.parse(body);
  } catch {
    throw new ValidationError('invalid_revocation_job', 'revocation job is not JSON');
  }
  const job = value as Partial<RevocationJob> | null;
  if (
    !job ||
    typeof job.tenantId !== 'string' ||
    !TENANT_ID_PATTERN.test(job.tenantId) ||
    typeof job.stripeAccountId !== 'string' ||
    !STRIPE_ACCOUNT_ID_PATTERN.test(job.stripeAccountId) ||
    typeof job.firstFailedAt !== 'string' ||
    !ISO_TIMESTAMP.test(job.firstFailedAt) ||
    Number.isNaN(Date.parse(job.firstFailedAt)) ||
    typeof job.attempt !== 'number' ||
    !Number.isInteger(job.attempt) ||
    job.attempt < 0
  ) {
    throw new ValidationError('invalid_revocation_job', 'revocation job has missing or malformed fields');
  }
  return {
    tenantId: job.tenantId,
    stripeAccountId: job.stripeAccountId,
    firstFailedAt: job.firstFailedAt,
    attempt: job.attempt,
  };
}
