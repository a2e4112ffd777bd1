import { describe, expect, it } from 'vitest';
import { MRR_STATUSES, monthlyAmount, subscriptionMrr } from '#shared/domain/mrr.ts';
import type { BillingInterval, SubscriptionItemRecord } from '#shared/domain/records.ts';

function item(overrides: Partial<SubscriptionItemRecord> = {}): SubscriptionItemRecord {
  return {
    priceId: 'price_1',
    productId: 'prod_1',
    unitAmount: 4_900,
    quantity: 1,
    interval: 'month',
    intervalCount: 1,
    ...overrides,
  };
}

describe('monthlyAmount', () => {
  it.each<[string, number, number, BillingInterval, number, number]>([
    ['a monthly price as is', 4_900, 1, 'month', 1, 4_900],
    ['a yearly price ÷ 12', 12_000, 1, 'year', 1, 1_000],
    ['a yearly price ÷ 12, rounded down', 9_999, 1, 'year', 1, 833],
    ['a weekly price × 52 / 12', 1_000, 1, 'week', 1, 4_333],
    ['a daily price × 365 / 12', 100, 1, 'day', 1, 3_042],
    ['every 3 months ÷ 3', 3_000, 1, 'month', 3, 1_000],
    ['every 3 months ÷ 3, rounded', 1_000, 1, 'month', 3, 333],
    ['every 2 weeks', 1_000, 1, 'week', 2, 2_167],
    ['every 2 years', 24_000, 1, 'year', 2, 1_000],
    ['every 7 days', 700, 1, 'day', 7, 3_042],
    ['quantity × unit amount', 4_900, 3, 'month', 1, 14_700],
    ['quantity with a yearly price every 3 years', 36_000, 2, 'year', 3, 2_000],
    ['a half rounded up (Math.round)', 6, 1, 'day', 1, 183],
    ['quantity 0', 4_900, 0, 'month', 1, 0],
    ['a free price', 0, 5, 'year', 1, 0],
  ])('normalises %s', (_name, unitAmount, quantity, interval, intervalCount, expected) => {
    // Act
    const amount = monthlyAmount(unitAmount, quantity, interval, intervalCount);

    // Assert
    expect(amount).toBe(expected);
  });

  it.each<[string, number, number, string, number]>([
    ['an interval count of 0', 4_900, 1, 'month', 0],
    ['a negative interval count', 4_900, 1, 'month', -1],
    ['a NaN amount', Number.NaN, 1, 'month', 1],
    ['an infinite quantity', 4_900, Number.POSITIVE_INFINITY, 'month', 1],
    ['a NaN interval count', 4_900, 1, 'month', Number.NaN],
    ['an interval word it does not know', 4_900, 1, 'quarter', 1],
    ['an inherited property name as interval', 4_900, 1, 'constructor', 1],
  ])('gives 0, not NaN or Infinity, for %s', (_name, unitAmount, quantity, interval, intervalCount) => {
    // Act
    const amount = monthlyAmount(unitAmount, quantity, interval as BillingInterval, intervalCount);

    // Assert
    expect(amount).toBe(0);
  });

  it('always returns an integer', () => {
    // Arrange
    const intervals: BillingInterval[] = ['day', 'week', 'month', 'year'];

    // Act
    const amounts = intervals.flatMap((interval) =>
      [1, 2, 3, 5, 7].map((count) => monthlyAmount(1_234, 3, interval, count)),
    );

    // Assert
    for (const amount of amounts) {
      expect(Number.isInteger(amount)).toBe(true);
    }
  });
});

describe('subscriptionMrr', () => {
  it('counts only active and past_due subscriptions', () => {
    expect([...MRR_STATUSES].sort()).toEqual(['active', 'past_due']);
  });

  it.each(['active', 'past_due'])('sums the monthly amount of every item of a %s subscription', (status) => {
    // Arrange
    const items = [
      item({ unitAmount: 4_900, interval: 'month' }),
      item({ priceId: 'price_2', unitAmount: 12_000, quantity: 2, interval: 'year' }),
      item({ priceId: 'price_3', unitAmount: 1_000, interval: 'week', intervalCount: 2 }),
    ];

    // Act
    const mrr = subscriptionMrr(status, items);

    // Assert
    expect(mrr).toBe(4_900 + 2_000 + 2_167);
  });

  it.each([
    'trialing',
    'canceled',
    'incomplete',
    'incomplete_expired',
    'unpaid',
    'paused',
    'a_status_stripe_adds_later',
    '',
  ])('is 0 for a %j subscription, which is not billing', (status) => {
    // Act
    const mrr = subscriptionMrr(status, [item(), item({ unitAmount: 99_900, interval: 'year' })]);

    // Assert
    expect(mrr).toBe(0);
  });

  it('leaves out a tiered price, which has no unit amount, and keeps the other items', () => {
    // Arrange
    const items = [
      item({ unitAmount: null, priceId: 'price_tiered', quantity: 40 }),
      item({ unitAmount: 2_500 }),
    ];

    // Act
    const mrr = subscriptionMrr('active', items);

    // Assert
    expect(mrr).toBe(2_500);
  });

  it('leaves out an item without an interval', () => {
    // Act
    const mrr = subscriptionMrr('active', [item({ interval: null }), item({ unitAmount: 1_000 })]);

    // Assert
    expect(mrr).toBe(1_000);
  });

  it('rounds each item, then sums', () => {
    // Act
    const mrr = subscriptionMrr('active', [
      item({ unitAmount: 1_000, intervalCount: 3 }),
      item({ unitAmount: 1_000, intervalCount: 3 }),
    ]);

    // Assert
    expect(mrr).toBe(333 + 333);
  });

  it('is 0 for a subscription without items', () => {
    expect(subscriptionMrr('active', [])).toBe(0);
  });
});
