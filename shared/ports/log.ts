/**
 * The slice of a structured logger the use cases need (Powertools Logger fits it). Callers pass
 * ids, types and reasons only: never tokens, codes, secrets or patient data.
 */
export interface Log {
  info(message: string, ...extra: Record<string, unknown>[]): void;
  warn(message: string, ...extra: Record<string, unknown>[]): void;
  error(message: string, ...extra: Record<string, unknown>[]): void;
}
