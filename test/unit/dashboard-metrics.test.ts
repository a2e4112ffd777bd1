import { describe, expect, it } from 'vitest';
import { parseMetricsQuery } from '#shared/domain/metrics/dashboard-metrics.ts';
import { subscriptionTimeline } from '#shared/domain/metrics/subscription-history.ts';
import { ValidationError } from '#shared/errors/validation-error.ts';
import { at, entry, metricsOf, monthOf, price } from '../support/metrics-builders.ts';

// Every expected number below is worked out by hand from design §3's definitions.
const NOW = at('2026-06-15T12:00:00');
const H1 = { from: '2026-01', to: '2026-06' };

describe('metrics: MRR movements, hand-computed', () => {
  it('a trial that converts: a trial started, a conversion and a new customer in its month', () => {
    const answer = metricsOf(
      {
        entries: [
          entry('sub_1', at('2026-01-10'), {
            status: 'trialing',
            trialEnd: at('2026-01-24'),
            items: [price(5_000)],
          }),
          entry('sub_1', at('2026-01-24'), { status: 'active', items: [price(5_000)] }),
        ],
      },
      H1,
      NOW,
    );

    const jan = monthOf(answer, '2026-01');
    expect(jan.acquisition).toEqual({ signups: 0, trialsStarted: 1, trialConversions: 1 });
    expect(jan.mrr).toEqual({
      start: 0,
      end: 5_000,
      new: 5_000,
      expansion: 0,
      contraction: 0,
      churn: 0,
      reactivation: 0,
    });
    expect(jan.customers).toEqual({ start: 0, end: 1, new: 1, churned: 0, reactivated: 0 });
    expect(monthOf(answer, '2026-02').mrr).toMatchObject({ start: 5_000, end: 5_000, new: 0 });
  });

  it('a trial that has not converted yet brings no MRR', () => {
    const answer = metricsOf(
      { entries: [entry('sub_1', at('2026-06-01'), { status: 'trialing', trialEnd: at('2026-06-30') })] },
      H1,
      NOW,
    );

    expect(monthOf(answer, '2026-06').acquisition.trialsStarted).toBe(1);
    expect(monthOf(answer, '2026-06').acquisition.trialConversions).toBe(0);
    expect(monthOf(answer, '2026-06').mrr.end).toBe(0);
  });

  it('cancel at period end keeps MRR until the subscription ends, then churns it', () => {
    const answer = metricsOf(
      {
        entries: [
          entry('sub_1', at('2026-01-05'), { items: [price(5_000)] }),
          entry('sub_1', at('2026-02-10'), { items: [price(5_000)], cancelAtPeriodEnd: true }),
          entry('sub_1', at('2026-03-05'), {
            status: 'canceled',
            items: [price(5_000)],
            cancelAtPeriodEnd: true,
            endedAt: at('2026-03-05'),
            rank: 3,
          }),
        ],
      },
      H1,
      NOW,
    );

    expect(monthOf(answer, '2026-02').mrr).toMatchObject({ start: 5_000, end: 5_000, churn: 0 });
    const mar = monthOf(answer, '2026-03');
    expect(mar.mrr).toMatchObject({ start: 5_000, end: 0, churn: 5_000 });
    expect(mar.customers).toMatchObject({ start: 1, end: 0, churned: 1 });
    expect(mar.retention).toEqual({ customerChurnRate: 1, grossMrrChurnRate: 1, netMrrRetention: 0 });
    expect(monthOf(answer, '2026-04').retention).toEqual({
      customerChurnRate: null,
      grossMrrChurnRate: null,
      netMrrRetention: null,
    });
  });

  it('an upgrade is expansion and a downgrade contraction, with their retention rates', () => {
    const answer = metricsOf(
      {
        entries: [
          entry('sub_1', at('2026-01-05'), { items: [price(5_000)] }),
          entry('sub_1', at('2026-02-10'), { items: [price(8_000)] }),
          entry('sub_1', at('2026-03-10'), { items: [price(6_000)] }),
        ],
      },
      H1,
      NOW,
    );

    const feb = monthOf(answer, '2026-02');
    expect(feb.mrr).toMatchObject({ start: 5_000, end: 8_000, expansion: 3_000, contraction: 0 });
    expect(feb.retention).toEqual({ customerChurnRate: 0, grossMrrChurnRate: 0, netMrrRetention: 1.6 });
    const mar = monthOf(answer, '2026-03');
    expect(mar.mrr).toMatchObject({ start: 8_000, end: 6_000, expansion: 0, contraction: 2_000 });
    expect(mar.retention).toEqual({ customerChurnRate: 0, grossMrrChurnRate: 0.25, netMrrRetention: 0.75 });
  });

  it('churn then a return is a reactivation, and the cohort follows the customer', () => {
    const answer = metricsOf(
      {
        entries: [
          entry('sub_1', at('2026-01-05'), { items: [price(5_000)] }),
          entry('sub_1', at('2026-02-10'), {
            status: 'canceled',
            endedAt: at('2026-02-10'),
            items: [price(5_000)],
          }),
          entry('sub_2', at('2026-04-03'), { items: [price(4_000)] }),
        ],
      },
      { from: '2026-01', to: '2026-04' },
      NOW,
    );

    expect(monthOf(answer, '2026-02').mrr).toMatchObject({ churn: 5_000, end: 0 });
    const apr = monthOf(answer, '2026-04');
    expect(apr.mrr).toMatchObject({ start: 0, end: 4_000, new: 0, reactivation: 4_000 });
    expect(apr.customers).toMatchObject({ new: 0, reactivated: 1, end: 1 });
    expect(answer.cohorts[0]).toEqual({
      cohort: '2026-01',
      customers: 1,
      active: [1, 0, 0, 1],
      mrr: [5_000, 0, 0, 4_000],
    });
    expect(answer.cohorts.slice(1).map((c) => c.customers)).toEqual([0, 0, 0]);
    expect(answer.cohorts[3]).toEqual({ cohort: '2026-04', customers: 0, active: [0], mrr: [0] });
  });

  it('a sign-up that pays and churns inside one month moves nothing; its later start is new', () => {
    const answer = metricsOf(
      {
        entries: [
          entry('sub_1', at('2026-01-05'), { items: [price(5_000)] }),
          entry('sub_1', at('2026-01-20'), {
            status: 'canceled',
            endedAt: at('2026-01-20'),
            items: [price(5_000)],
          }),
          entry('sub_2', at('2026-03-02'), { items: [price(2_000)] }),
        ],
        customers: [{ created: '2026-01-03T09:00:00.000Z' }],
      },
      H1,
      NOW,
    );

    const jan = monthOf(answer, '2026-01');
    expect(jan.acquisition.signups).toBe(1);
    expect(jan.mrr).toEqual({
      start: 0,
      end: 0,
      new: 0,
      expansion: 0,
      contraction: 0,
      churn: 0,
      reactivation: 0,
    });
    expect(jan.customers).toEqual({ start: 0, end: 0, new: 0, churned: 0, reactivated: 0 });
    // Never paying at a month's start before March, so March is its new month and its cohort.
    expect(monthOf(answer, '2026-03').mrr).toMatchObject({ new: 2_000, reactivation: 0 });
    expect(answer.cohorts.find((c) => c.cohort === '2026-03')?.customers).toBe(1);
    expect(answer.cohorts.find((c) => c.cohort === '2026-01')?.customers).toBe(0);
  });

  it('yearly, weekly and quantity prices are normalised per item and rounded per item', () => {
    const answer = metricsOf(
      {
        entries: [
          entry('sub_1', at('2026-01-05'), {
            // 120,000/12 = 10,000; 1,000×52/12 = 4,333.33 → 4,333; 1,000×3 = 3,000; a tiered price 0.
            items: [price(120_000, 'year'), price(1_000, 'week'), price(1_000, 'month', 3), price(null)],
          }),
        ],
      },
      H1,
      NOW,
    );

    expect(monthOf(answer, '2026-01').mrr.new).toBe(17_333);
  });

  it('two subscriptions of one customer: the second is expansion, ending one is contraction', () => {
    const answer = metricsOf(
      {
        entries: [
          entry('sub_a', at('2026-01-05'), { items: [price(5_000)] }),
          entry('sub_b', at('2026-02-07'), { items: [price(3_000)] }),
          entry('sub_a', at('2026-03-09'), {
            status: 'canceled',
            endedAt: at('2026-03-09'),
            items: [price(5_000)],
          }),
        ],
      },
      H1,
      NOW,
    );

    expect(monthOf(answer, '2026-02').mrr).toMatchObject({ new: 0, expansion: 3_000, end: 8_000 });
    expect(monthOf(answer, '2026-02').customers).toMatchObject({ new: 0, end: 1 });
    expect(monthOf(answer, '2026-03').mrr).toMatchObject({ churn: 0, contraction: 5_000, end: 3_000 });
    expect(monthOf(answer, '2026-03').customers).toMatchObject({ churned: 0, end: 1 });
  });

  it('past_due still counts as MRR; unpaid stops it', () => {
    const answer = metricsOf(
      {
        entries: [
          entry('sub_1', at('2026-01-05'), { items: [price(5_000)] }),
          entry('sub_1', at('2026-02-05'), { status: 'past_due', items: [price(5_000)] }),
          entry('sub_1', at('2026-03-05'), { status: 'unpaid', items: [price(5_000)] }),
        ],
      },
      H1,
      NOW,
    );

    expect(monthOf(answer, '2026-02').mrr).toMatchObject({ start: 5_000, end: 5_000, churn: 0 });
    expect(monthOf(answer, '2026-03').mrr).toMatchObject({ start: 5_000, end: 0, churn: 5_000 });
  });

  it('past_due straight out of a trial is a conversion', () => {
    const answer = metricsOf(
      {
        entries: [
          entry('sub_1', at('2026-02-01'), { status: 'trialing', trialEnd: at('2026-02-15') }),
          entry('sub_1', at('2026-02-15'), { status: 'past_due' }),
        ],
      },
      H1,
      NOW,
    );

    expect(monthOf(answer, '2026-02').acquisition).toMatchObject({ trialsStarted: 1, trialConversions: 1 });
  });

  it('a trial that ends unpaid (incomplete, then canceled) is no conversion', () => {
    const answer = metricsOf(
      {
        entries: [
          entry('sub_1', at('2026-02-01'), { status: 'trialing', trialEnd: at('2026-02-15') }),
          entry('sub_1', at('2026-02-15'), { status: 'incomplete' }),
          entry('sub_1', at('2026-02-20'), { status: 'active' }),
        ],
      },
      H1,
      NOW,
    );

    expect(monthOf(answer, '2026-02').acquisition).toMatchObject({ trialsStarted: 1, trialConversions: 0 });
    expect(monthOf(answer, '2026-02').mrr.new).toBe(1_000);
  });
});

describe('metrics: currencies', () => {
  const twoCurrencies = {
    entries: [
      entry('sub_usd', at('2026-01-05'), { customer: 'cus_u', currency: 'usd', items: [price(5_000)] }),
      entry('sub_eur', at('2026-01-05'), { customer: 'cus_e', currency: 'eur', items: [price(9_000)] }),
    ],
    orders: [
      { amountPaid: 5_000, amountRefunded: 0, currency: 'usd', paidAt: '2026-01-05T00:00:00.000Z' },
      { amountPaid: 9_000, amountRefunded: 0, currency: 'eur', paidAt: '2026-01-05T00:00:00.000Z' },
    ],
  };

  it('defaults to the currency with the largest MRR now', () => {
    const answer = metricsOf(twoCurrencies, H1, NOW);

    expect(answer.currency).toBe('eur');
    expect(monthOf(answer, '2026-01').mrr.end).toBe(9_000);
    expect(monthOf(answer, '2026-01').revenue.gross).toBe(9_000);
  });

  it('answers another currency when asked, without mixing the two', () => {
    const answer = metricsOf(twoCurrencies, { ...H1, currency: 'usd' }, NOW);

    expect(answer.currency).toBe('usd');
    expect(monthOf(answer, '2026-01').mrr.end).toBe(5_000);
    expect(monthOf(answer, '2026-01').customers.end).toBe(1);
    expect(monthOf(answer, '2026-01').revenue.gross).toBe(5_000);
  });

  it('breaks a tie alphabetically, and counts a currency only orders use', () => {
    const answer = metricsOf(
      { entries: [], orders: [{ amountPaid: 100, amountRefunded: 0, currency: 'gbp', paidAt: null }] },
      H1,
      NOW,
    );
    const tie = metricsOf(
      {
        entries: [
          entry('sub_usd', at('2026-01-05'), { customer: 'cus_u', currency: 'usd', items: [price(5_000)] }),
          entry('sub_chf', at('2026-01-05'), { customer: 'cus_c', currency: 'chf', items: [price(5_000)] }),
        ],
      },
      H1,
      NOW,
    );

    expect(answer.currency).toBe('gbp');
    expect(tie.currency).toBe('chf');
  });

  it('refuses a currency none of the tenant’s subscriptions or orders uses', () => {
    expect(() => metricsOf(twoCurrencies, { ...H1, currency: 'gbp' }, NOW)).toThrow(ValidationError);
    expect(() => metricsOf(twoCurrencies, { ...H1, currency: 'gbp' }, NOW)).toThrow(/gbp is not used/);
  });

  it('a tenant with no data gets no currency and months of zeros', () => {
    const answer = metricsOf({ entries: [] }, H1, NOW);

    expect(answer.currency).toBeNull();
    expect(answer.months).toHaveLength(6);
    expect(
      answer.months.every((m) => m.mrr.end === 0 && m.revenue.gross === 0 && m.customers.end === 0),
    ).toBe(true);
    expect(answer.cohorts.map((c) => c.active.at(-1))).toEqual([0, 0, 0, 0, 0, 0]);
  });
});

describe('metrics: revenue and sign-ups', () => {
  it('sums paid and refunded amounts in the month of payment, in the chosen currency', () => {
    const answer = metricsOf(
      {
        entries: [entry('sub_1', at('2026-01-05'))],
        orders: [
          { amountPaid: 5_000, amountRefunded: 1_000, currency: 'usd', paidAt: '2026-01-31T23:59:59.000Z' },
          { amountPaid: 2_500, amountRefunded: 0, currency: 'usd', paidAt: '2026-02-01T00:00:00.000Z' },
          { amountPaid: 0, amountRefunded: 0, currency: 'usd', paidAt: null },
          { amountPaid: 7_000, amountRefunded: 7_000, currency: 'eur', paidAt: '2026-01-10T00:00:00.000Z' },
        ],
        customers: [
          { created: '2026-02-03T00:00:00.000Z' },
          { created: '2026-02-28T23:00:00.000Z' },
          { created: null },
        ],
      },
      H1,
      NOW,
    );

    expect(monthOf(answer, '2026-01').revenue).toEqual({ gross: 5_000, refunded: 1_000, net: 4_000 });
    expect(monthOf(answer, '2026-02').revenue).toEqual({ gross: 2_500, refunded: 0, net: 2_500 });
    expect(monthOf(answer, '2026-02').acquisition.signups).toBe(2);
  });
});

describe('metrics: history and time', () => {
  it('reconstructs a backfilled snapshot’s trial and end: a trial, a conversion, a churn', () => {
    const snapshot = entry('sub_1', at('2026-05-01'), {
      source: 'backfill',
      status: 'canceled',
      start: at('2026-01-10'),
      trialEnd: at('2026-01-24'),
      endedAt: at('2026-03-15'),
      items: [price(5_000)],
    });
    const answer = metricsOf({ entries: [snapshot] }, H1, NOW);

    expect(monthOf(answer, '2026-01').acquisition).toMatchObject({ trialsStarted: 1, trialConversions: 1 });
    expect(monthOf(answer, '2026-01').mrr.new).toBe(5_000);
    expect(monthOf(answer, '2026-03').mrr.churn).toBe(5_000);
    expect(subscriptionTimeline([snapshot])?.segments.map((s) => [s.from, s.source, s.state.status])).toEqual(
      [
        [at('2026-01-10'), 'reconstructed', 'trialing'],
        [at('2026-01-24'), 'reconstructed', 'active'],
        [at('2026-03-15'), 'reconstructed', 'canceled'],
        [at('2026-05-01'), 'backfill', 'canceled'],
      ],
    );
  });

  it('a subscription that expired incomplete never paid', () => {
    const snapshot = entry('sub_1', at('2026-05-01'), {
      source: 'backfill',
      status: 'incomplete_expired',
      start: at('2026-02-10'),
      endedAt: at('2026-02-11'),
    });
    const answer = metricsOf({ entries: [snapshot] }, H1, NOW);

    expect(answer.months.every((m) => m.mrr.new === 0 && m.mrr.end === 0)).toBe(true);
  });

  it('a late event older than the snapshot moves the reconstruction to it', () => {
    const snapshot = entry('sub_1', at('2026-05-02'), {
      source: 'backfill',
      start: at('2026-01-10'),
      items: [price(8_000)],
    });
    const late = entry('sub_1', at('2026-03-01T10:00:00'), {
      start: at('2026-01-10'),
      items: [price(5_000)],
    });

    const before = metricsOf({ entries: [snapshot] }, H1, NOW);
    const after = metricsOf({ entries: [snapshot, late] }, H1, NOW);

    expect(monthOf(before, '2026-01').mrr.new).toBe(8_000);
    expect(monthOf(after, '2026-01').mrr.new).toBe(5_000);
    expect(monthOf(after, '2026-05').mrr.expansion).toBe(3_000);
  });

  it('within one second, a deletion wins over an update, and then the greater event id', () => {
    const t = at('2026-02-10');
    const updated = entry('sub_1', t, { rank: 2, eventId: 'evt_b', items: [price(9_000)] });
    const deleted = entry('sub_1', t, { rank: 3, eventId: 'evt_a', status: 'canceled', endedAt: t });
    const otherUpdate = entry('sub_1', t, { rank: 2, eventId: 'evt_c', items: [price(7_000)] });
    const start = entry('sub_1', at('2026-01-05'));

    const ended = subscriptionTimeline([deleted, updated, start]);
    const updates = subscriptionTimeline([otherUpdate, updated, start]);

    expect(ended?.segments.at(-1)?.state.status).toBe('canceled');
    expect(updates?.segments.at(-1)?.state.items[0]?.unitAmount).toBe(7_000);
  });

  it('a change at a month’s first second is that month’s start, so it moves the month before', () => {
    const answer = metricsOf(
      { entries: [entry('sub_1', at('2026-03-01'), { items: [price(5_000)] })] },
      H1,
      NOW,
    );

    expect(monthOf(answer, '2026-02').mrr).toMatchObject({ new: 5_000, end: 5_000 });
    expect(monthOf(answer, '2026-03').mrr).toMatchObject({ start: 5_000, new: 0 });
  });

  it('the current month ends now; earlier months at the next month’s start', () => {
    const answer = metricsOf({ entries: [] }, H1, NOW);

    expect(monthOf(answer, '2026-05')).toMatchObject({
      start: '2026-05-01T00:00:00.000Z',
      end: '2026-06-01T00:00:00.000Z',
    });
    expect(monthOf(answer, '2026-06').end).toBe('2026-06-15T12:00:00.000Z');
    expect(answer.asOf).toBe('2026-06-15T12:00:00.000Z');
  });

  it('movements before `from` make up its starting MRR and paying customers', () => {
    const answer = metricsOf(
      {
        entries: [
          entry('sub_1', at('2025-06-05'), { customer: 'cus_1', items: [price(5_000)] }),
          entry('sub_2', at('2025-09-05'), { customer: 'cus_2', items: [price(3_000)] }),
          entry('sub_2', at('2025-11-05'), {
            customer: 'cus_2',
            status: 'canceled',
            endedAt: at('2025-11-05'),
          }),
        ],
      },
      H1,
      NOW,
    );

    expect(monthOf(answer, '2026-01').mrr.start).toBe(5_000);
    expect(monthOf(answer, '2026-01').customers.start).toBe(1);
  });
});

describe('parseMetricsQuery', () => {
  const now = at('2026-06-15T12:00:00');
  const parse = (params: Record<string, string[]>) => parseMetricsQuery(params, now);

  it('defaults to the twelve months to the current one', () => {
    expect(parse({})).toEqual({ from: '2025-07', to: '2026-06', currency: undefined });
    expect(parse({ to: ['2026-03'] })).toEqual({ from: '2025-04', to: '2026-03', currency: undefined });
    expect(parse({ from: ['2026-02'], currency: ['EUR'] })).toEqual({
      from: '2026-02',
      to: '2026-06',
      currency: 'eur',
    });
  });

  it.each<[string, Record<string, string[]>, string]>([
    ['a malformed month', { from: ['2026-13'] }, 'invalid_from'],
    ['a day instead of a month', { to: ['2026-06-01'] }, 'invalid_to'],
    ['a future month', { to: ['2026-07'] }, 'invalid_to'],
    ['from after to', { from: ['2026-05'], to: ['2026-04'] }, 'invalid_range'],
    ['37 months', { from: ['2023-06'], to: ['2026-06'] }, 'invalid_range'],
    ['a repeated parameter', { from: ['2026-01', '2026-02'] }, 'invalid_from'],
    ['a currency that is not a code', { currency: ['dollars'] }, 'invalid_currency'],
  ])('refuses %s', (_name, params, code) => {
    expect(() => parse(params)).toThrow(expect.objectContaining({ name: 'ValidationError', code }));
  });

  it('accepts exactly 36 months', () => {
    expect(parse({ from: ['2023-07'], to: ['2026-06'] })).toMatchObject({ from: '2023-07' });
  });
});
