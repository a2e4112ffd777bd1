import { STRIPE_ACCOUNT_ID_PATTERN } from './integration.ts';

/**
 * The shapes of Stripe ids that arrive from outside (webhook bodies, API pages) and end up in
 * DynamoDB keys: record sort keys (`{id}`, `{created}#{id}`), journal sort keys
 * (`{ISO}#{eventId}`), account claims (`STRIPE_ACCOUNT#{acct}`) and ledger scopes. DynamoDB refuses
 * a partition key over 2048 bytes and a sort key over 1024 with a ValidationException, which
 * would surface as a 500 and make Stripe redeliver the same body for three days; these checks
 * keep every value that reaches a key a short string of one byte per character.
 *
 * What Stripe generates today is `{prefix}_{base62}`: `evt_` Event, `acct_` Account, `cus_`
 * Customer, `sub_` Subscription, `in_` Invoice, `inpay_` InvoicePayment, `pi_` PaymentIntent,
 * `ch_` Charge (`py_` for some payment methods), `re_` Refund (`pyr_`), `price_`/`plan_` Price,
 * `prod_` Product, `ca_` Application (the Connect client id), `ac_` OAuth authorization code.
 *
 * Only event and account ids are checked by prefix (the code routes by them). Other object ids
 * are opaque: Stripe lists "adding or removing fixed prefixes (such as `ch_`)" among its
 * backward-compatible changes and promises only that ids stay within 255 characters, and
 * customers, products and plans may carry ids their owner chose (alphanumerics, `_` and `-`
 * since 2018-05-21, freer before).
 *
 * @module
 */

/** Stripe: "object IDs we generate will never exceed 255 characters". */
export const MAX_STRIPE_ID_LENGTH = 255;

/** `evt_` and base62 (test events from the Dashboard use `evt_000…`, also alphanumeric). */
export const STRIPE_EVENT_ID_PATTERN = /^evt_[A-Za-z0-9_]{1,251}$/;

/**
 * An object id that may become (part of) a DynamoDB key: 1 to 255 printable ASCII characters
 * other than `"` and `\`, so each is one byte (a 255-character id keeps `{created}#{id}` under
 * DynamoDB's 1024-byte sort key) and nothing a JSON cursor or a log line has to escape.
 */
export const STRIPE_OBJECT_ID_PATTERN = /^[\x20\x21\x23-\x5B\x5D-\x7E]{1,255}$/;

export function isStripeEventId(value: unknown): value is string {
  return typeof value === 'string' && STRIPE_EVENT_ID_PATTERN.test(value);
}

/** `acct_` and up to 64 alphanumerics: the shape connections are stored under. */
export function isStripeAccountId(value: unknown): value is string {
  return typeof value === 'string' && STRIPE_ACCOUNT_ID_PATTERN.test(value);
}

/** An id that may become a key: see {@link STRIPE_OBJECT_ID_PATTERN}. */
export function isStripeObjectId(value: unknown): value is string {
  return typeof value === 'string' && STRIPE_OBJECT_ID_PATTERN.test(value);
}

/** Controls (C0, DEL, C1) and lone surrogates, which no well-formed text contains. */
const NOT_TEXT = /[\p{Cc}\p{Cs}]/u;

/**
 * Text that no Stripe id can be: longer than 255 characters, with control characters, or not
 * even well-formed Unicode (a lone surrogate from a `\ud800` escape). A body carrying one where
 * an id belongs is refused outright; a merely unusual id (a customer id of long ago in another
 * alphabet) fails {@link isStripeObjectId} instead, and its event is ignored as malformed.
 */
export function isImpossibleStripeId(value: string): boolean {
  return value.length > MAX_STRIPE_ID_LENGTH || NOT_TEXT.test(value);
}
