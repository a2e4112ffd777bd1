/** Error names and Stripe reasons only: messages can quote codes or tokens. */
export function reasonOf(error: unknown): string {
  if (error && typeof error === 'object') {
    const reason = (error as { reason?: unknown }).reason;
    if (typeof reason === 'string') return reason;
    const name = (error as { name?: unknown }).name;
    if (typeof name === 'string') return name;
  }
  return 'unknown';
}
