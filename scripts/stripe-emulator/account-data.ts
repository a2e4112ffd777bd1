import type { StripeObject } from './stripe-objects.ts';

/**
 * The objects one Stripe account holds, as the fake Stripe serves them from its list and
 * retrieve endpoints. Each kind of object lives in a {@link Collection} kept in Stripe's list
 * order (newest first: `created` descending, ties by `id` descending), sorted lazily after
 * changes so that bulk seeding stays linear. The account's events live in an {@link EventLog}
 * (events of one second in the order they were recorded).
 *
 * @module
 */

/** The kinds of object the fake stores, by the name of their collection. */
export const COLLECTION_NAMES = [
  'customers',
  'subscriptions',
  'invoices',
  'invoicePayments',
  'paymentIntents',
  'charges',
  'creditNotes',
  'disputes',
] as const;
export type CollectionName = (typeof COLLECTION_NAMES)[number];

/** What {@link Collection} can hold: the stored objects, and the account's Events API log. */
export type StoreName = CollectionName | 'events';

/** Objects to add to an account, by collection (`fake.seed`, `seedClinic().objects`). */
export type SeedObjects = { readonly [K in CollectionName]?: readonly StripeObject[] };

/** Stripe's `object` word of each collection. */
export const OBJECT_NAMES: Readonly<Record<CollectionName, string>> = {
  customers: 'customer',
  subscriptions: 'subscription',
  invoices: 'invoice',
  invoicePayments: 'invoice_payment',
  paymentIntents: 'payment_intent',
  charges: 'charge',
  creditNotes: 'credit_note',
  disputes: 'dispute',
};

const COLLECTION_OF_OBJECT: Readonly<Record<string, CollectionName>> = Object.fromEntries(
  COLLECTION_NAMES.map((name) => [OBJECT_NAMES[name], name]),
);

/** Created bounds of a list request (Stripe's `created[gt|gte|lt|lte]`). */
export interface CreatedRange {
  readonly gt?: number;
  readonly gte?: number;
  readonly lt?: number;
  readonly lte?: number;
}

export interface PageQuery {
  readonly limit: number;
  /** Id of an object of this collection; the page holds the objects listed after it. */
  readonly startingAfter?: string;
  /** Id of an object of this collection; the page holds the objects listed before it. */
  readonly endingBefore?: string;
  readonly created?: CreatedRange;
  readonly filter?: (object: StripeObject) => boolean;
}

export interface Page {
  readonly data: StripeObject[];
  readonly hasMore: boolean;
}

/** Stripe's list order: `created` descending, then `id` descending. */
export function compareNewestFirst(a: StripeObject, b: StripeObject): number {
  const byCreated = (b.created as number) - (a.created as number);
  if (byCreated !== 0) return byCreated;
  const idA = a.id as string;
  const idB = b.id as string;
  return idA < idB ? 1 : idA > idB ? -1 : 0;
}

type Order = (a: StripeObject, b: StripeObject) => number;

/** One kind of object of one account. Adding an object with an existing id replaces it. */
export class Collection {
  readonly name: StoreName;
  readonly objectName: string;
  private readonly byId = new Map<string, StripeObject>();
  private ordered: StripeObject[] | undefined = [];
  private readonly order: Order;
  /** Bumped on every change, so derived indexes know when to rebuild. */
  version = 0;

  constructor(name: CollectionName);
  constructor(name: StoreName, objectName: string, order: Order);
  constructor(name: StoreName, objectName?: string, order: Order = compareNewestFirst) {
    this.name = name;
    this.objectName = objectName ?? OBJECT_NAMES[name as CollectionName];
    this.order = order;
  }

  get size(): number {
    return this.byId.size;
  }

  get(id: string): StripeObject | undefined {
    return this.byId.get(id);
  }

  has(id: string): boolean {
    return this.byId.has(id);
  }

  /** Adds or replaces objects (by `id`). Each needs a string `id` and an integer `created`. */
  add(...objects: StripeObject[]): void {
    this.addAll(objects);
  }

  /** {@link Collection.add} for a list of any length. */
  addAll(objects: readonly StripeObject[]): void {
    for (const object of objects) {
      const { id, created } = object;
      if (typeof id !== 'string' || id === '') throw new TypeError(`${this.objectName} without an id`);
      if (!Number.isInteger(created))
        throw new TypeError(`${this.objectName} ${id} without an integer created`);
      if (object.object !== this.objectName) {
        throw new TypeError(`${id} is a ${String(object.object)}, not a ${this.objectName}`);
      }
      this.byId.set(id, object);
    }
    if (objects.length > 0) this.changed();
  }

  /** Replaces fields of a stored object (shallow), as an update at Stripe would. */
  update(id: string, fields: StripeObject): StripeObject {
    const current = this.byId.get(id);
    if (!current) throw new Error(`No such ${this.objectName}: '${id}'`);
    const next = { ...current, ...fields, id, object: this.objectName };
    this.add(next);
    return next;
  }

  delete(id: string): boolean {
    const deleted = this.byId.delete(id);
    if (deleted) this.changed();
    return deleted;
  }

  clear(): void {
    this.byId.clear();
    this.changed();
  }

  /** Every object, newest first. Do not mutate the array. */
  all(): readonly StripeObject[] {
    if (!this.ordered) this.ordered = [...this.byId.values()].sort(this.order);
    return this.ordered;
  }

  /** One page of the list, with Stripe's cursor semantics (the cursors must exist: check first). */
  page(query: PageQuery): Page {
    const all = this.all();
    let lo = 0;
    let hi = all.length;
    const created = query.created;
    if (created) {
      // `all` is sorted by created descending: the newest bound cuts the front, the oldest the back.
      const upper = Math.min(
        created.lte ?? Number.POSITIVE_INFINITY,
        (created.lt ?? Number.POSITIVE_INFINITY) - 1,
      );
      const lower = Math.max(
        created.gte ?? Number.NEGATIVE_INFINITY,
        (created.gt ?? Number.NEGATIVE_INFINITY) + 1,
      );
      lo = firstIndex(all, (o) => (o.created as number) <= upper);
      hi = firstIndex(all, (o) => (o.created as number) < lower);
      if (hi < lo) hi = lo;
    }
    const filter = query.filter ?? (() => true);
    const data: StripeObject[] = [];
    if (query.endingBefore !== undefined) {
      const cursor = this.byId.get(query.endingBefore);
      if (!cursor) throw new Error(`No such ${this.objectName}: '${query.endingBefore}'`);
      // Objects listed before the cursor are the newer ones; take those nearest to it.
      const end = Math.min(
        hi,
        firstIndex(all, (o) => this.order(o, cursor) >= 0),
      );
      for (let i = end - 1; i >= lo && data.length <= query.limit; i -= 1) {
        const object = all[i] as StripeObject;
        if (filter(object)) data.push(object);
      }
      const hasMore = data.length > query.limit;
      if (hasMore) data.pop();
      return { data: data.reverse(), hasMore };
    }
    let start = lo;
    if (query.startingAfter !== undefined) {
      const cursor = this.byId.get(query.startingAfter);
      if (!cursor) throw new Error(`No such ${this.objectName}: '${query.startingAfter}'`);
      start = Math.max(
        lo,
        firstIndex(all, (o) => this.order(o, cursor) > 0),
      );
    }
    for (let i = start; i < hi && data.length <= query.limit; i += 1) {
      const object = all[i] as StripeObject;
      if (filter(object)) data.push(object);
    }
    const hasMore = data.length > query.limit;
    if (hasMore) data.pop();
    return { data, hasMore };
  }

  private changed(): void {
    this.ordered = undefined;
    this.version += 1;
  }
}

/** How long Stripe keeps an account's events listable and retrievable. */
export const EVENT_RETENTION_SECONDS = 30 * 86_400;

/** When each event was recorded: Stripe lists events of the same second in the order they happened. */
const recordedAt = new WeakMap<StripeObject, number>();
let recordings = 0;

/** Events newest first: `created` descending, then the later recorded first. */
function compareEventsNewestFirst(a: StripeObject, b: StripeObject): number {
  const byCreated = (b.created as number) - (a.created as number);
  if (byCreated !== 0) return byCreated;
  return (recordedAt.get(b) ?? 0) - (recordedAt.get(a) ?? 0);
}

/**
 * An account's Events API (`GET /v1/events`): every event recorded at the fake, whether or not
 * it was also delivered as a webhook. `pending_webhooks` is served as Stripe does, from what
 * happened since: 0 once {@link EventLog.markDelivered}, the recorded count until then.
 */
export class EventLog extends Collection {
  private readonly delivered = new Set<string>();

  constructor() {
    super('events', 'event', compareEventsNewestFirst);
  }

  override addAll(events: readonly StripeObject[]): void {
    for (const event of events) {
      if (typeof event.type !== 'string' || event.type === '') {
        throw new TypeError(`event ${String(event.id)} without a type`);
      }
      recordings += 1;
      recordedAt.set(event, recordings);
    }
    super.addAll(events);
  }

  /** A webhook endpoint answered 2xx for this event. */
  markDelivered(id: string): void {
    if (!this.has(id)) throw new Error(`No such event: '${id}'`);
    this.delivered.add(id);
  }

  isDelivered(id: string): boolean {
    return this.delivered.has(id);
  }

  /** The event as the API shows it now. */
  render(event: StripeObject): StripeObject {
    return this.delivered.has(event.id as string) ? { ...event, pending_webhooks: 0 } : event;
  }

  override delete(id: string): boolean {
    this.delivered.delete(id);
    return super.delete(id);
  }

  override clear(): void {
    this.delivered.clear();
    super.clear();
  }
}

/** The first index whose object satisfies `predicate`, for a predicate monotone over `sorted`. */
function firstIndex(sorted: readonly StripeObject[], predicate: (object: StripeObject) => boolean): number {
  let lo = 0;
  let hi = sorted.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (predicate(sorted[mid] as StripeObject)) hi = mid;
    else lo = mid + 1;
  }
  return lo;
}

/**
 * Everything one Stripe account holds. Get it with `fake.accountData(accountId)`; add objects
 * with {@link AccountData.add} (dispatched on their `object` word) or {@link AccountData.seed}.
 */
export class AccountData {
  readonly accountId: string;
  readonly customers = new Collection('customers');
  readonly subscriptions = new Collection('subscriptions');
  readonly invoices = new Collection('invoices');
  readonly invoicePayments = new Collection('invoicePayments');
  readonly paymentIntents = new Collection('paymentIntents');
  readonly charges = new Collection('charges');
  readonly creditNotes = new Collection('creditNotes');
  readonly disputes = new Collection('disputes');
  /** The account's events, as `GET /v1/events` lists them (record with {@link AccountData.recordEvent}). */
  readonly events = new EventLog();
  private paymentIndex:
    | {
        readonly version: number;
        readonly byInvoice: Map<string, StripeObject[]>;
        readonly byPaymentIntent: Map<string, StripeObject[]>;
      }
    | undefined;

  constructor(accountId: string) {
    this.accountId = accountId;
  }

  collection(name: StoreName): Collection {
    return this[name];
  }

  /** The collection of a Stripe `object` word (`'customer'`, `'invoice_payment'`, `'event'`, …). */
  collectionOf(objectName: string): Collection | undefined {
    if (objectName === 'event') return this.events;
    const name = COLLECTION_OF_OBJECT[objectName];
    return name ? this[name] : undefined;
  }

  /**
   * Adds events to the account's Events API, as Stripe records every event it creates, whether
   * or not a webhook endpoint gets it. Each needs `id`, `type` and an integer `created`.
   */
  recordEvent(...events: StripeObject[]): this {
    this.events.addAll(events);
    return this;
  }

  /** Adds (or replaces) objects of any stored kind, by their `object` word. */
  add(...objects: StripeObject[]): this {
    for (const object of objects) {
      const collection = this.collectionOf(String(object.object));
      if (!collection) throw new TypeError(`The fake does not store ${String(object.object)} objects`);
      collection.add(object);
    }
    return this;
  }

  /** Adds (or replaces) objects in bulk, by collection. */
  seed(objects: SeedObjects): this {
    for (const name of COLLECTION_NAMES) {
      const list = objects[name];
      if (list && list.length > 0) this[name].addAll(list);
    }
    return this;
  }

  /** How many objects of each kind the account holds. */
  counts(): Record<CollectionName, number> {
    return Object.fromEntries(COLLECTION_NAMES.map((name) => [name, this[name].size])) as Record<
      CollectionName,
      number
    >;
  }

  /** Removes every object and event. */
  clear(): void {
    for (const name of COLLECTION_NAMES) this[name].clear();
    this.events.clear();
  }

  /** The InvoicePayments of an invoice, newest first. */
  invoicePaymentsOf(invoiceId: string): readonly StripeObject[] {
    return this.index().byInvoice.get(invoiceId) ?? [];
  }

  /** The InvoicePayments whose payment is this PaymentIntent, newest first. */
  invoicePaymentsOfPaymentIntent(paymentIntentId: string): readonly StripeObject[] {
    return this.index().byPaymentIntent.get(paymentIntentId) ?? [];
  }

  private index() {
    const version = this.invoicePayments.version;
    if (this.paymentIndex?.version === version) return this.paymentIndex;
    const byInvoice = new Map<string, StripeObject[]>();
    const byPaymentIntent = new Map<string, StripeObject[]>();
    for (const payment of this.invoicePayments.all()) {
      push(byInvoice, idOf(payment.invoice), payment);
      push(byPaymentIntent, idOf((payment.payment as StripeObject | null)?.payment_intent), payment);
    }
    this.paymentIndex = { version, byInvoice, byPaymentIntent };
    return this.paymentIndex;
  }
}

/** The id of a field that holds an id or an expanded object. */
export function idOf(value: unknown): string | undefined {
  if (typeof value === 'string') return value;
  if (value && typeof value === 'object' && typeof (value as StripeObject).id === 'string') {
    return (value as StripeObject).id as string;
  }
  return undefined;
}

function push(map: Map<string, StripeObject[]>, key: string | undefined, object: StripeObject): void {
  if (key === undefined) return;
  const list = map.get(key);
  if (list) list.push(object);
  else map.set(key, [object]);
}
