import type { BillingInterval, SubscriptionItemRecord } from './records.ts';

/**
 * Monthly recurring revenue (MRR), as the revenue dashboard reads it.
 *
 * Definition: the list price of every item of a subscription that is billing, normalised to one
 * month, in minor units of the subscription's currency.
 * - Only `active` and `past_due` subscriptions count. `past_due` is still revenue the tenant
 *   expects (Stripe is retrying the payment). `trialing` is not revenue yet: nothing is charged
 *   until the trial ends, and many trials never convert. `canceled`, `incomplete`,
 *   `incomplete_expired`, `unpaid` and `paused` charge nothing. A status Stripe adds later counts
 *   as 0 until someone decides otherwise.
 * - An item is worth its per-unit price × quantity. Discounts, coupons, customer credit, taxes
 *   and prorations are deliberately ignored: MRR here is the run rate of the price list, which
 *   stays stable where a one-off coupon or a tax rate would make it jump.
 * - Prices without a per-unit amount (tiered prices, metered prices without one) contribute 0:
 *   their monthly value depends on usage that a subscription does not know in advance.
 *
 * @module
 */

/** The subscription statuses that bill, and so count towards MRR. */
export const MRR_STATUSES: ReadonlySet<string> = new Set(['active', 'past_due']);

/**
 * One interval as a fraction of a month, `[numerator, denominator]`: a day is 12/365 of a month,
 * a week 12/52, a year 12/1. Kept as integers so the only inexact step is the one division.
 */
const MONTHLY_FACTOR: Readonly<Record<BillingInterval, readonly [number, number]>> = {
  day: [365, 12],
  week: [52, 12],
  month: [1, 1],
  year: [1, 12],
};

/**
 * Normalises one recurring price to one month, in minor units: `unitAmount × quantity` billed
 * every `intervalCount` `interval`s, so `day` ×365/12, `week` ×52/12, `month` ×1, `year` ÷12, all
 * ÷ `intervalCount`, rounded with `Math.round`.
 *
 * Inputs that describe no real price (a non-finite amount or quantity, an interval count below 1,
 * an unknown interval word) give 0 rather than `NaN` or `Infinity`, which would poison every sum
 * they enter.
 *
 * @example monthlyAmount(12_000, 1, 'year', 1) === 1_000
 * @example monthlyAmount(1_000, 2, 'month', 3) === 667
 */
export function monthlyAmount(
  unitAmount: number,
  quantity: number,
  interval: BillingInterval,
  intervalCount: number,
): number {
  if (!Number.isFinite(unitAmount) || !Number.isFinite(quantity) || !Number.isFinite(intervalCount)) {
    return 0;
  }
  if (intervalCount < 1) {
    return 0;
  }
  // Guards callers outside the type system (an interval word Stripe adds later, say).
  if (!Object.hasOwn(MONTHLY_FACTOR, interval)) {
    return 0;
  }
  const [numerator, denominator] = MONTHLY_FACTOR[interval];
  const monthly = (unitAmount * quantity * numerator) / (denominator * intervalCount);
  // `Math.round` of a negative half rounds up (-0.5 → -0); normalise -0 so records compare equal.
  return Math.round(monthly) + 0;
}

/**
 * The MRR of one subscription: the sum of {@link monthlyAmount} over its items when `status` is
 * `active` or `past_due`, otherwise 0 (trial revenue is not revenue yet). Items without a unit
 * amount or an interval (tiered prices) contribute 0. Discounts and taxes are ignored: this is
 * the list-price run rate (see the module comment for the full definition).
 */
export function subscriptionMrr(status: string, items: readonly SubscriptionItemRecord[]): number {
  if (!MRR_STATUSES.has(status)) {
    return 0;
  }
  let total = 0;
  for (const item of items) {
    if (item.unitAmount === null || item.interval === null) {
      continue;
    }
    total += monthlyAmount(item.unitAmount, item.quantity, item.interval, item.intervalCount);
  }
  return total;
}
