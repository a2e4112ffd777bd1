import { changes, type StripeKind } from './stripe-kind.ts';

/** The connected account removed this application: the tenant is disconnected. */
export const DEAUTHORIZATION = 'account.application.deauthorized';

/**
 * The connected account itself: its deauthorization disconnects the tenant (a connection
 * matter, not a record). Not swept from the Events API: Stripe does not show an account the
 * events of an application it removed.
 */
export const accountKind = {
  name: 'account',
  events: {
    [DEAUTHORIZATION]: {
      object: undefined,
      rank: 2,
      map: () => changes({ kind: 'deauthorized' }),
    },
  },
  backfill: [],
} as const satisfies StripeKind;
