import { changes, type StripeKind } from './stripe-kind.ts';

/**
 * The connected account itself: its deauthorization disconnects the tenant (a connection
 * matter, not a record). Not swept from the Events API: Stripe does not show an account the
 * events of an application it removed.
 */
export const accountKind = {
  name: 'account',
  events: {
    'account.application.deauthorized': {
      object: undefined,
      rank: 2,
      map: () => changes({ kind: 'deauthorized' }),
    },
  },
  backfill: [],
} as const satisfies StripeKind;
