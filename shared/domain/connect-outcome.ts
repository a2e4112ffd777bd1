/**
 * The five answers the OAuth callback can give; each becomes exactly one query parameter on
 * the redirect to the settings page (README "Routes", the callback's answers).
 */
export type ConnectOutcome =
  | 'connected'
  | 'stripe_denied'
  | 'stripe_state_invalid'
  | 'stripe_exchange_failed'
  | 'stripe_account_in_use';

export function outcomeQuery(outcome: ConnectOutcome): string {
  return outcome === 'connected' ? 'connected=stripe' : `error=${outcome}`;
}
