/** A backfill is already queued or running for the tenant: at most one at a time. Maps to 409. */
export class BackfillInProgressError extends Error {
  override readonly name = 'BackfillInProgressError';
  constructor() {
    super('A backfill is already queued or running for this workspace');
  }
}
