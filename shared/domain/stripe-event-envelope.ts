import type { StripeEventEnvelope } from './records.ts';
import { isImpossibleStripeId, isStripeAccountId, isStripeEventId } from './stripe-ids.ts';
import { isPlainObject } from './stripe-payload-readers.ts';

const MAX_EVENT_TYPE_LENGTH = 100;

/**
 * Reads the envelope of a parsed webhook body. Returns `undefined` unless the value is a Stripe
 * event: `object: 'event'`, an `evt_` id, a type, a positive integer `created`, a boolean
 * `livemode` and an object `data.object`. `account` (set on Connect deliveries) and
 * `api_version` become `null` when absent; a value of the wrong type for either also rejects
 * the event, since routing (`account`) must not guess.
 *
 * The values that become DynamoDB keys are checked here, before any ledger or journal write (see
 * stripe-ids.ts): an event id that is not `evt_…`, an `account` that is not `acct_…` and a
 * `data.object.id` that no Stripe id can be (over 255 characters, control characters) reject the
 * body. The mapping checks every id that becomes a key, and ignores the event when one is not
 * key-safe.
 *
 * Call it only after the signature has been verified: it checks shape, not authenticity.
 */
export function parseStripeEvent(value: unknown): StripeEventEnvelope | undefined {
  if (!isPlainObject(value) || value.object !== 'event') {
    return undefined;
  }
  const { id, type, created, livemode, data, account, api_version: apiVersion } = value;
  if (!isStripeEventId(id)) {
    return undefined;
  }
  if (typeof type !== 'string' || type.length === 0 || type.length > MAX_EVENT_TYPE_LENGTH) {
    return undefined;
  }
  if (typeof created !== 'number' || !Number.isSafeInteger(created) || created <= 0) {
    return undefined;
  }
  if (typeof livemode !== 'boolean') {
    return undefined;
  }
  if (!isPlainObject(data) || !isPlainObject(data.object)) {
    return undefined;
  }
  if (account !== undefined && account !== null && !isStripeAccountId(account)) {
    return undefined;
  }
  // Refused before the ledger; an id that is missing, not a string or merely unusual is the
  // mapping's `malformed_*`.
  if (typeof data.object.id === 'string' && isImpossibleStripeId(data.object.id)) {
    return undefined;
  }
  if (apiVersion !== undefined && apiVersion !== null && typeof apiVersion !== 'string') {
    return undefined;
  }
  return {
    id,
    type,
    created,
    livemode,
    account: account ?? null,
    apiVersion: apiVersion ?? null,
    object: data.object,
  };
}
