import { ValidationError } from '../errors/validation-error.ts';
import type { ErasureJob, ReconcileJob } from '../ports/job-queues.ts';
import { STRIPE_ACCOUNT_ID_PATTERN } from './integration.ts';
import { TENANT_ID_PATTERN } from './tenant.ts';

const CURSOR_PATTERN = /^[A-Za-z0-9_-]{1,4096}$/;

function fields(input: unknown): Record<string, unknown> {
  const value = typeof input === 'string' ? safeJson(input) : input;
  if (!value || typeof value !== 'object' || Array.isArray(value)) {
    throw new ValidationError('invalid_job', 'The job must be a JSON object');
  }
  return value as Record<string, unknown>;
}

function safeJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    throw new ValidationError('invalid_job', 'The job is not JSON');
  }
}

function tenantIdOf(value: unknown): string {
  if (typeof value !== 'string' || !TENANT_ID_PATTERN.test(value)) {
    throw new ValidationError('invalid_job', 'tenantId is required and must be a tenant id');
  }
  return value;
}

export function parseReconcileJob(input: unknown): ReconcileJob {
  const job = fields(input);
  if (job.kind === 'all') {
    if (job.cursor === undefined) return { kind: 'all' };
    if (typeof job.cursor !== 'string' || !CURSOR_PATTERN.test(job.cursor)) {
      throw new ValidationError('invalid_job', 'cursor is malformed');
    }
    return { kind: 'all', cursor: job.cursor };
  }
  if (job.kind === 'tenant' || (job.kind === undefined && job.tenantId !== undefined)) {
    return { kind: 'tenant', tenantId: tenantIdOf(job.tenantId) };
  }
  throw new ValidationError('invalid_job', 'kind must be "all" or "tenant"');
}

export function parseErasureJob(input: unknown): ErasureJob {
  const job = fields(input);
  if (typeof job.stripeAccountId !== 'string' || !STRIPE_ACCOUNT_ID_PATTERN.test(job.stripeAccountId)) {
    throw new ValidationError('invalid_job', 'stripeAccountId must be a Stripe account id (acct_…)');
  }
  return { tenantId: tenantIdOf(job.tenantId), stripeAccountId: job.stripeAccountId };
}
