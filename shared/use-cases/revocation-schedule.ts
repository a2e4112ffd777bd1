/**
 * When to retry a failed revocation (README "Disconnect and revocation retries"): first retry within 5 minutes, then doubling,
 * capped at SQS's 15-minute maximum delay, for up to 3 days.
 */
export const REVOCATION_FIRST_DELAY_SECONDS = 60;
export const REVOCATION_MAX_DELAY_SECONDS = 900;
export const REVOCATION_GIVE_UP_AFTER_MS = 3 * 24 * 60 * 60 * 1000;

export function revocationDelaySeconds(attempt: number, random: () => number = Math.random): number {
  const base = Math.min(
    REVOCATION_MAX_DELAY_SECONDS,
    REVOCATION_FIRST_DELAY_SECONDS * 2 ** Math.max(0, attempt - 1),
  );
  // Jitter spreads retries of many tenants after a Stripe outage.
  const jitter = Math.floor(random() * Math.min(30, base / 4));
  return Math.min(REVOCATION_MAX_DELAY_SECONDS, base + jitter);
}
