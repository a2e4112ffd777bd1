import { DependencyUnavailableError } from '../../errors/dependency-unavailable-error.ts';
import { nameOf } from './time-limits.ts';

/** DynamoDB's throttling errors, by name (two SDK copies break `instanceof`). */
const THROTTLING = new Set([
  'ProvisionedThroughputExceededException',
  'ThrottlingException',
  'RequestLimitExceeded',
]);

/**
 * DynamoDB kept throttling past the retries: the batch reader/writer's back-off (which ends in
 * `DependencyUnavailableError` when the slice's time is up), or the SDK's own for a single write.
 * A run hands such work over to a later slice instead of crashing: nothing it has not
 * checkpointed counts as done, so nothing is lost.
 */
export function isThrottled(error: unknown): boolean {
  return error instanceof DependencyUnavailableError || THROTTLING.has(nameOf(error));
}
