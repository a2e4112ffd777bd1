/** How far one call got: `partition` is where the next call resumes. */
export interface ErasureStep {
  readonly partition: number;
  readonly deleted: number;
  readonly done: boolean;
}

/**
 * Deletes a tenant's Stripe-derived items (records, journal, ledger), partition by partition, in
 * batches, paced to stay under the table's limits. Idempotent: what is deleted stays deleted, so a
 * cut-off call is resumed by calling again from the last `partition` it reported.
 */
export interface TenantDataEraser {
  eraseSome(tenantId: string, fromPartition: number, stopAt: number): Promise<ErasureStep>;
}
