import { buildEmulatorEvents, type EmulatorEventName } from '../local/emulator-events.ts';
import type { FakeStripe } from './fake-stripe-server.ts';
import type { StripeObject } from './stripe-objects.ts';

/**
 * Something happens in a connected account at Stripe: its data at the fake changes as `type`
 * says (the emulator's own builders, so lists and events agree) and the resulting events are
 * recorded in its Events API. Nothing is delivered, which is the "webhooks off" case; a test
 * that wants the webhook too delivers the returned events itself (and may call
 * `fake.markEventDelivered`). Events are created at `now` (default: the fake's clock), oldest first.
 */
export function happenAtStripe(
  fake: FakeStripe,
  accountId: string,
  type: EmulatorEventName,
  options: { readonly now?: number } = {},
): StripeObject[] {
  const events = buildEmulatorEvents(type, {
    data: fake.accountData(accountId),
    accountId,
    clientId: fake.clientId,
    now: options.now ?? fake.now(),
  });
  if (type === 'account.application.deauthorized') fake.connected.delete(accountId);
  return fake.recordEvent(...events);
}
