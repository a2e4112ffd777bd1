import type { BillingInterval } from './records.ts';
import { isStripeObjectId, MAX_STRIPE_ID_LENGTH } from './stripe-ids.ts';

/**
 * Field readers of Stripe payloads, for the mapping (stripe-event-mapping.ts) and the envelope
 * (stripe-event-envelope.ts): `undefined` and `null` mean "absent"; a present value of the wrong
 * type, or one past its bound, throws {@link MalformedPayloadError}, which the mapping turns into
 * an ignored `malformed_<object>` outcome.
 *
 * @module
 */

/**
 * Status words and currency codes are a few letters: a bound far above keeps a record (and its
 * journal entry) under DynamoDB's 400 KB item limit whatever a 2 MiB body holds.
 */
const MAX_WORD_LENGTH = 100;
/** `Date` accepts ±8.64e15 ms; anything beyond makes `toISOString` throw. */
const MAX_EPOCH_SECONDS = 8.64e12;

export type JsonObject = Record<string, unknown>;

export function isObjectLike(value: unknown): value is object {
  return typeof value === 'object' && value !== null;
}

export function isPlainObject(value: unknown): value is JsonObject {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    return false;
  }
  const prototype = Object.getPrototypeOf(value);
  return prototype === Object.prototype || prototype === null;
}

/** Thrown by the readers; the mapping (stripe-event-mapping.ts) turns it into an ignored outcome. */
export class MalformedPayloadError extends Error {
  constructor(field: string) {
    super(`malformed field: ${field}`);
    this.name = 'MalformedPayloadError';
  }
}

export function whenWellFormed<T>(object: unknown, map: (object: JsonObject) => T): T | undefined {
  if (!isPlainObject(object)) {
    return undefined;
  }
  try {
    return map(object);
  } catch (error) {
    if (error instanceof MalformedPayloadError) {
      return undefined;
    }
    throw error;
  }
}

/** An object id that may become a record key (`{id}`, `{created}#{id}`): see stripe-ids.ts. */
export function readId(value: unknown): string {
  if (!isStripeObjectId(value)) {
    throw new MalformedPayloadError('id');
  }
  return value;
}

/**
 * A price, plan or product id: a field, never a key, and plan and product ids may be ones their
 * owner chose years ago (spaces and all), so only the length is bounded.
 */
export function readFieldId(value: unknown): string {
  if (typeof value !== 'string' || value.length === 0 || value.length > MAX_STRIPE_ID_LENGTH) {
    throw new MalformedPayloadError('id');
  }
  return value;
}

/** An id, or an expanded object's `id`; `null` when absent. */
export function readReference(value: unknown, read: (id: unknown) => string = readId): string | null {
  if (value === undefined || value === null) {
    return null;
  }
  if (typeof value === 'string') {
    return read(value);
  }
  if (isPlainObject(value)) {
    return read(value.id);
  }
  throw new MalformedPayloadError('reference');
}

/** A status word or a currency code: see {@link MAX_WORD_LENGTH}. */
export function readOptionalString(value: unknown): string | null {
  if (value === undefined || value === null) {
    return null;
  }
  if (typeof value !== 'string' || value.length > MAX_WORD_LENGTH) {
    throw new MalformedPayloadError('string');
  }
  return value;
}

export function readOptionalBoolean(value: unknown): boolean | null {
  if (value === undefined || value === null) {
    return null;
  }
  if (typeof value !== 'boolean') {
    throw new MalformedPayloadError('boolean');
  }
  return value;
}

export function readOptionalObject(value: unknown): JsonObject | null {
  if (value === undefined || value === null) {
    return null;
  }
  if (!isPlainObject(value)) {
    throw new MalformedPayloadError('object');
  }
  return value;
}

/**
 * An amount in minor units: a safe integer. Signed, because an invoice's `total` is negative when
 * proration credits exceed its charges.
 */
export function readAmount(value: unknown): number {
  if (typeof value !== 'number' || !Number.isSafeInteger(value)) {
    throw new MalformedPayloadError('amount');
  }
  return value;
}

/** A subscription item's quantity: a non-negative safe integer (0 is allowed by Stripe). */
export function readQuantity(value: unknown): number {
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < 0) {
    throw new MalformedPayloadError('quantity');
  }
  return value;
}

export function readOptionalAmount(value: unknown): number | null {
  return value === undefined || value === null ? null : readAmount(value);
}

/**
 * `unit_amount` (or a plan's `amount`), else the rounded decimal variant Stripe sends alongside
 * for sub-cent prices, else `null` (tiered prices have neither). The decimal is a string in JSON;
 * stripe-node may hand it over as a `Decimal`, whose `valueOf` is that string.
 */
export function readUnitAmount(amount: unknown, decimal: unknown): number | null {
  const integer = readOptionalAmount(amount);
  if (integer !== null) {
    return integer;
  }
  if (decimal === undefined || decimal === null) {
    return null;
  }
  const text =
    typeof decimal === 'string' ||
    typeof decimal === 'number' ||
    (isObjectLike(decimal) && !Array.isArray(decimal))
      ? String(decimal).trim()
      : '';
  const parsed = Number(text);
  if (text === '' || !Number.isFinite(parsed) || parsed < 0) {
    throw new MalformedPayloadError('unit_amount_decimal');
  }
  return Math.round(parsed);
}

const BILLING_INTERVALS: ReadonlySet<string> = new Set<BillingInterval>(['day', 'week', 'month', 'year']);

/** An interval word this code does not know (or none, for a one-time price) is `null`: MRR 0. */
export function readInterval(value: unknown): BillingInterval | null {
  return typeof value === 'string' && BILLING_INTERVALS.has(value) ? (value as BillingInterval) : null;
}

export function readIntervalCount(value: unknown): number {
  if (value === undefined || value === null) {
    return 1;
  }
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < 1) {
    throw new MalformedPayloadError('interval_count');
  }
  return value;
}

/** Epoch seconds → ISO-8601 UTC; `null` stays `null`. */
export function readTimestamp(value: unknown): string | null {
  if (value === undefined || value === null) {
    return null;
  }
  if (typeof value !== 'number' || !Number.isFinite(value) || Math.abs(value) > MAX_EPOCH_SECONDS) {
    throw new MalformedPayloadError('timestamp');
  }
  return new Date(value * 1000).toISOString();
}
