export type BackfillState = 'queued' | 'running' | 'succeeded' | 'failed';

export interface BackfillResult {
  readonly customersUpserted: number;
  readonly subscriptionsCreated: number;
  readonly ordersCreated: number;
}

export interface BackfillStatus {
  readonly status: BackfillState;
  readonly queuedAt: string;
  readonly startedAt: string | null;
  readonly finishedAt: string | null;
  readonly error: string | null;
  readonly result: BackfillResult | null;
}

export interface BackfillStatusStore {
  get(tenantId: string): Promise<BackfillStatus | undefined>;
  markQueued(tenantId: string, at: Date): Promise<void>;
  delete(tenantId: string): Promise<void>;
}
