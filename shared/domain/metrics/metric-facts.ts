import { monthIndex, monthOfIndex, monthOfInstant, monthStartSeconds } from './months.ts';
import { type SubscriptionTimeline, stateAt, stateMrr } from './subscription-history.ts';

/**
 * The metrics' additive form (README "Metrics"): every customer, subscription and order adds a
 * few sparse numbers per month, and the answer is rendered from their sums. Additive so that what
 * is kept can follow the history: when one customer's history changes, its old facts are taken
 * away and its new ones added, and the sums stay equal to a computation from scratch.
 *
 * Fact keys (`|`-separated; currencies are three letters, months `YYYY-MM`, so no part holds `|`):
 * - `mrr|{currency}|{month}`: the month's MRR movements and the customers they moved;
 * - `cohort|{currency}|{cohort}|{month}`: the change in a cohort's MRR and paying customers;
 * - `revenue|{currency}|{month}`: paid and refunded amounts of orders paid that month;
 * - `acquisition|{month}`: sign-ups, trials started, trial conversions (all currencies);
 * - `currency|{currency}`: how many subscriptions and orders use it.
 *
 * @module
 */

export type FactValues = Readonly<Record<string, number>>;
/** Sums of facts by key; a key or a value that sums to 0 is absent. */
export type FactSheet = Map<string, Record<string, number>>;

export const emptySheet = (): FactSheet => new Map();

export const mrrKey = (currency: string, month: string) => `mrr|${currency}|${month}`;
export const cohortKey = (currency: string, cohort: string, month: string) =>
  `cohort|${currency}|${cohort}|${month}`;
export const revenueKey = (currency: string, month: string) => `revenue|${currency}|${month}`;
export const acquisitionKey = (month: string) => `acquisition|${month}`;
export const currencyKey = (currency: string) => `currency|${currency}`;

/** Adds `values × sign` to `sheet[key]`, dropping what sums to 0 so equal sums compare equal. */
export function addFact(sheet: FactSheet, key: string, values: FactValues, sign = 1): void {
  const target = sheet.get(key) ?? {};
  for (const [name, value] of Object.entries(values)) {
    if (value === 0) continue;
    const sum = (target[name] ?? 0) + sign * value;
    if (sum === 0) delete target[name];
    else target[name] = sum;
  }
  if (Object.keys(target).length === 0) sheet.delete(key);
  else sheet.set(key, target);
}

/** `target += source × sign`, key by key. */
export function addSheet(target: FactSheet, source: FactSheet, sign = 1): FactSheet {
  for (const [key, values] of source) addFact(target, key, values, sign);
  return target;
}

/** `after − before`: what changes in the sums when facts `before` become `after`. */
export function sheetDelta(before: FactSheet, after: FactSheet): FactSheet {
  return addSheet(addSheet(emptySheet(), after), before, -1);
}

/** Change points of a timeline: where a segment starts, and where an ended state's MRR stops. */
function changePoints(timeline: SubscriptionTimeline): number[] {
  const points: number[] = [];
  for (const segment of timeline.segments) {
    points.push(segment.from);
    if (segment.state.endedAt !== null && segment.state.endedAt > segment.from)
      points.push(segment.state.endedAt);
  }
  return points;
}

/**
 * The MRR facts of one customer (design §3 items 4 and 8): its subscriptions' MRR summed per
 * currency at every month boundary of its history, each month's movement judged from the MRR at
 * the month's start (a) and end (b). The first month with b > 0 is its *new* month and its cohort;
 * a later 0 → b is a *reactivation*. After its last change nothing moves, so the facts do not
 * depend on today's date: the current month's end (now) is the value after every change.
 */
export function customerFacts(timelines: readonly SubscriptionTimeline[]): FactSheet {
  const sheet = emptySheet();
  const points = timelines.flatMap(changePoints);
  if (points.length === 0) return sheet;
  const first = monthIndex(monthOfInstant(Math.min(...points)));
  const last = monthIndex(monthOfInstant(Math.max(...points)));
  const currencies = new Set<string>();
  for (const timeline of timelines) {
    for (const segment of timeline.segments)
      if (segment.state.currency) currencies.add(segment.state.currency);
  }
  for (const currency of currencies) {
    const mrrAt = (t: number) => {
      let total = 0;
      for (const timeline of timelines) {
        const state = stateAt(timeline, t);
        if (state?.currency === currency) total += stateMrr(state, t);
      }
      return total;
    };
    let cohort: string | undefined;
    // From the month before the first change: a change at a month's first second is that
    // boundary's value, so the movement is the previous month's.
    let a = mrrAt(monthStartSeconds(first - 1));
    for (let index = first - 1; index <= last; index += 1) {
      const b = mrrAt(monthStartSeconds(index + 1));
      const month = monthOfIndex(index);
      if (a !== b) {
        let movement: Record<string, number>;
        let paying = 0;
        if (a === 0) {
          paying = 1;
          if (cohort === undefined) {
            cohort = month;
            movement = { new: b, newCustomers: 1 };
          } else {
            movement = { reactivation: b, reactivatedCustomers: 1 };
          }
        } else if (b === 0) {
          paying = -1;
          movement = { churn: a, churnedCustomers: 1 };
        } else if (b > a) {
          movement = { expansion: b - a };
        } else {
          movement = { contraction: a - b };
        }
        addFact(sheet, mrrKey(currency, month), movement);
        if (cohort !== undefined)
          addFact(sheet, cohortKey(currency, cohort, month), { mrr: b - a, active: paying });
      }
      a = b;
    }
  }
  return sheet;
}

/**
 * The facts of one subscription (design §3 item 6): the months its history enters `trialing`, the
 * months it moves from `trialing` straight to `active` or `past_due` (each counted once a month),
 * and the currency it uses.
 */
export function subscriptionFacts(timeline: SubscriptionTimeline): FactSheet {
  const sheet = emptySheet();
  const trials = new Set<string>();
  const conversions = new Set<string>();
  let previous: string | undefined;
  let currency: string | null = null;
  for (const segment of timeline.segments) {
    const status = segment.state.status;
    if (status === 'trialing' && previous !== 'trialing') trials.add(monthOfInstant(segment.from));
    if (previous === 'trialing' && (status === 'active' || status === 'past_due')) {
      conversions.add(monthOfInstant(segment.from));
    }
    previous = status;
    currency = segment.state.currency ?? currency;
  }
  for (const month of trials) addFact(sheet, acquisitionKey(month), { trialsStarted: 1 });
  for (const month of conversions) addFact(sheet, acquisitionKey(month), { trialConversions: 1 });
  if (currency) addFact(sheet, currencyKey(currency), { uses: 1 });
  return sheet;
}

/** What the revenue reads of an order: the record's payment and its charge's refunded total. */
export interface OrderFactsInput {
  readonly amountPaid: number;
  readonly amountRefunded: number;
  readonly currency: string | null;
  readonly paidAt: string | null;
}

/** Cash-basis revenue (design §3 item 5): an order counts, refunds too, in the month it was paid. */
export function orderFacts(order: OrderFactsInput): FactSheet {
  const sheet = emptySheet();
  if (!order.currency) return sheet;
  addFact(sheet, currencyKey(order.currency), { uses: 1 });
  const paidAt = order.paidAt === null ? Number.NaN : Date.parse(order.paidAt);
  if (Number.isNaN(paidAt)) return sheet;
  addFact(sheet, revenueKey(order.currency, monthOfInstant(Math.floor(paidAt / 1000))), {
    gross: order.amountPaid,
    refunded: order.amountRefunded,
  });
  return sheet;
}

/** A sign-up (design §3 item 6): a customer counts in the month it was created, deleted or not. */
export function signupFacts(customer: { readonly created: string | null }): FactSheet {
  const sheet = emptySheet();
  const created = customer.created === null ? Number.NaN : Date.parse(customer.created);
  if (!Number.isNaN(created))
    addFact(sheet, acquisitionKey(monthOfInstant(Math.floor(created / 1000))), { signups: 1 });
  return sheet;
}

/** Whose MRR a subscription counts towards: its customer, or itself when it names none. */
export const customerKeyOf = (timeline: SubscriptionTimeline) =>
  timeline.customerId ?? `subscription:${timeline.subscriptionId}`;

/** The facts of a whole tenant, from scratch: the reference the kept sums must always equal. */
export function tenantFacts(input: {
  readonly timelines: readonly SubscriptionTimeline[];
  readonly orders: readonly OrderFactsInput[];
  readonly customers: readonly { readonly created: string | null }[];
}): FactSheet {
  const sheet = emptySheet();
  const byCustomer = new Map<string, SubscriptionTimeline[]>();
  for (const timeline of input.timelines) {
    const key = customerKeyOf(timeline);
    byCustomer.set(key, [...(byCustomer.get(key) ?? []), timeline]);
    addSheet(sheet, subscriptionFacts(timeline));
  }
  for (const timelines of byCustomer.values()) addSheet(sheet, customerFacts(timelines));
  for (const order of input.orders) addSheet(sheet, orderFacts(order));
  for (const customer of input.customers) addSheet(sheet, signupFacts(customer));
  return sheet;
}
