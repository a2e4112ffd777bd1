/** By name rather than `instanceof`, which breaks when two SDK copies are installed. */
export function isConditionFailure(error: unknown): boolean {
  return (error as { name?: unknown } | null)?.name === 'ConditionalCheckFailedException';
}
