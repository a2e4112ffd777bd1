import { ValidationError } from '../../errors/validation-error.ts';
import { acquisitionKey, cohortKey, type FactSheet, mrrKey, revenueKey } from './metric-facts.ts';
import { isMonth, monthIndex, monthOfIndex, monthOfInstant, monthStartSeconds } from './months.ts';

/**
 * `GET /api/stripe/metrics` (README "Metrics", design §3): the query's rules, and the answer
 * rendered from a tenant's fact sums (metric-facts.ts).
 *
 * @module
 */

export const MAX_MONTHS = 36;
export const DEFAULT_MONTHS = 12;

export interface MetricsQuery {
  readonly from: string;
  readonly to: string;
  /** Lower-case; undefined: the currency with the largest MRR now. */
  readonly currency: string | undefined;
}

const CURRENCY = /^[A-Za-z]{3}$/;

/**
 * The query's months and currency, or a ValidationError saying what is wrong: `YYYY-MM` months,
 * `from` ≤ `to`, neither in the future (UTC), at most 36 months. `to` defaults to the current
 * month and `from` to 11 months before `to`. Whether the currency is the tenant's is judged later,
 * against its data ({@link renderMetrics}).
 */
export function parseMetricsQuery(
  params: Readonly<Record<string, readonly string[]>>,
  now: number,
): MetricsQuery {
  const single = (name: string): string | undefined => {
    const values = params[name] ?? [];
    if (values.length > 1) throw new ValidationError(`invalid_${name}`, `${name} may be given once`);
    return values[0];
  };
  const current = monthIndex(monthOfInstant(now));
  const month = (name: 'from' | 'to', value: string): number => {
    if (!isMonth(value))
      throw new ValidationError(`invalid_${name}`, `${name} must be a month written YYYY-MM`);
    const index = monthIndex(value);
    if (index > current) {
      throw new ValidationError(
        `invalid_${name}`,
        `${name} is in the future (the current month is ${monthOfIndex(current)})`,
      );
    }
    return index;
  };
  const toValue = single('to');
  const fromValue = single('from');
  const to = toValue === undefined ? current : month('to', toValue);
  const from = fromValue === undefined ? to - (DEFAULT_MONTHS - 1) : month('from', fromValue);
  if (from > to) throw new ValidationError('invalid_range', 'from must not be after to');
  if (to - from + 1 > MAX_MONTHS) {
    throw new ValidationError('invalid_range', `at most ${MAX_MONTHS} months can be asked for at once`);
  }
  const currency = single('currency');
  if (currency !== undefined && !CURRENCY.test(currency)) {
    throw new ValidationError('invalid_currency', 'currency must be a three-letter ISO code such as usd');
  }
  return { from: monthOfIndex(from), to: monthOfIndex(to), currency: currency?.toLowerCase() };
}

export interface MonthMetrics {
  readonly month: string;
  readonly start: string;
  readonly end: string;
  readonly mrr: {
    readonly start: number;
    readonly end: number;
    readonly new: number;
    readonly expansion: number;
    readonly contraction: number;
    readonly churn: number;
    readonly reactivation: number;
  };
  readonly customers: {
    readonly start: number;
    readonly end: number;
    readonly new: number;
    readonly churned: number;
    readonly reactivated: number;
  };
  readonly revenue: { readonly gross: number; readonly refunded: number; readonly net: number };
  readonly acquisition: {
    readonly signups: number;
    readonly trialsStarted: number;
    readonly trialConversions: number;
  };
  readonly retention: {
    readonly customerChurnRate: number | null;
    readonly grossMrrChurnRate: number | null;
    readonly netMrrRetention: number | null;
  };
}

export interface CohortMetrics {
  readonly cohort: string;
  readonly customers: number;
  /** One value per month from the cohort's to `to`: its customers paying at that month's end. */
  readonly active: number[];
  readonly mrr: number[];
}

export interface MetricsAnswer {
  readonly currency: string | null;
  readonly asOf: string;
  readonly months: MonthMetrics[];
  readonly cohorts: CohortMetrics[];
}

/** The currencies the tenant's subscriptions and orders use, with their MRR now. */
export function currenciesInUse(sheet: FactSheet): Map<string, number> {
  const currencies = new Map<string, number>();
  for (const [key, values] of sheet) {
    const [kind, currency] = key.split('|');
    if (kind === 'currency' && currency && (values.uses ?? 0) > 0) currencies.set(currency, 0);
  }
  for (const [key, values] of sheet) {
    const [kind, currency] = key.split('|');
    if (kind !== 'mrr' || !currency) continue;
    currencies.set(currency, (currencies.get(currency) ?? 0) + netMovement(values));
  }
  return currencies;
}

const netMovement = (values: Readonly<Record<string, number>>) =>
  (values.new ?? 0) +
  (values.reactivation ?? 0) +
  (values.expansion ?? 0) -
  (values.contraction ?? 0) -
  (values.churn ?? 0);

/** The currency with the largest MRR now, ties alphabetical; null when nothing uses one. */
export function defaultCurrency(sheet: FactSheet): string | null {
  let best: [string, number] | undefined;
  for (const [currency, mrr] of [...currenciesInUse(sheet)].sort(([a], [b]) => (a < b ? -1 : 1))) {
    if (!best || mrr > best[1]) best = [currency, mrr];
  }
  return best?.[0] ?? null;
}

const ratio = (numerator: number, denominator: number) =>
  denominator === 0 ? null : numerator / denominator;
const iso = (epochSeconds: number) => new Date(epochSeconds * 1000).toISOString();

/**
 * The answer for `query` from a tenant's fact sums, at `now` (epoch seconds). A currency the
 * tenant does not use is a ValidationError; a tenant with no data gets `currency: null` and zeros.
 */
export function renderMetrics(sheet: FactSheet, query: MetricsQuery, now: number): MetricsAnswer {
  const currencies = currenciesInUse(sheet);
  if (query.currency !== undefined && !currencies.has(query.currency)) {
    throw new ValidationError(
      'unknown_currency',
      `currency ${query.currency} is not used by this clinic's subscriptions or orders`,
    );
  }
  const currency = query.currency ?? defaultCurrency(sheet);
  const from = monthIndex(query.from);
  const to = monthIndex(query.to);
  const current = monthIndex(monthOfInstant(now));
  const get = (key: string, name: string) => sheet.get(key)?.[name] ?? 0;

  // MRR and paying customers at a month's start are the sums of every earlier month's movements.
  let mrrStart = 0;
  let payingStart = 0;
  if (currency !== null) {
    const prefix = `mrr|${currency}|`;
    for (const [key, values] of sheet) {
      if (!key.startsWith(prefix) || monthIndex(key.slice(prefix.length)) >= from) continue;
      mrrStart += netMovement(values);
      payingStart +=
        (values.newCustomers ?? 0) + (values.reactivatedCustomers ?? 0) - (values.churnedCustomers ?? 0);
    }
  }

  const months: MonthMetrics[] = [];
  for (let index = from; index <= to; index += 1) {
    const month = monthOfIndex(index);
    const m = (name: string) => (currency === null ? 0 : get(mrrKey(currency, month), name));
    const movement = {
      new: m('new'),
      expansion: m('expansion'),
      contraction: m('contraction'),
      churn: m('churn'),
      reactivation: m('reactivation'),
    };
    const mrrEnd =
      mrrStart +
      movement.new +
      movement.reactivation +
      movement.expansion -
      movement.contraction -
      movement.churn;
    const customers = {
      new: m('newCustomers'),
      churned: m('churnedCustomers'),
      reactivated: m('reactivatedCustomers'),
    };
    const payingEnd = payingStart + customers.new + customers.reactivated - customers.churned;
    const gross = currency === null ? 0 : get(revenueKey(currency, month), 'gross');
    const refunded = currency === null ? 0 : get(revenueKey(currency, month), 'refunded');
    months.push({
      month,
      start: iso(monthStartSeconds(index)),
      end: index === current ? iso(now) : iso(monthStartSeconds(index + 1)),
      mrr: { start: mrrStart, end: mrrEnd, ...movement },
      customers: { start: payingStart, end: payingEnd, ...customers },
      revenue: { gross, refunded, net: gross - refunded },
      acquisition: {
        signups: get(acquisitionKey(month), 'signups'),
        trialsStarted: get(acquisitionKey(month), 'trialsStarted'),
        trialConversions: get(acquisitionKey(month), 'trialConversions'),
      },
      retention: {
        customerChurnRate: ratio(customers.churned, payingStart),
        grossMrrChurnRate: ratio(movement.churn + movement.contraction, mrrStart),
        netMrrRetention: ratio(
          mrrStart + movement.expansion - movement.contraction - movement.churn,
          mrrStart,
        ),
      },
    });
    mrrStart = mrrEnd;
    payingStart = payingEnd;
  }

  const cohorts: CohortMetrics[] = [];
  for (let index = from; index <= to; index += 1) {
    const cohort = monthOfIndex(index);
    const active: number[] = [];
    const mrr: number[] = [];
    let paying = 0;
    let sum = 0;
    for (let at = index; at <= to; at += 1) {
      if (currency !== null) {
        const values = sheet.get(cohortKey(currency, cohort, monthOfIndex(at)));
        paying += values?.active ?? 0;
        sum += values?.mrr ?? 0;
      }
      active.push(paying);
      mrr.push(sum);
    }
    const customers = currency === null ? 0 : get(mrrKey(currency, cohort), 'newCustomers');
    cohorts.push({ cohort, customers, active, mrr });
  }
  return { currency, asOf: iso(now), months, cohorts };
}
