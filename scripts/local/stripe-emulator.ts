import type { IncomingMessage, ServerResponse } from 'node:http';
import { FakeStripe } from '../stripe-emulator/fake-stripe-server.ts';
import { seedClinic } from '../stripe-emulator/seed-clinic.ts';
import { sign } from '../stripe-emulator/stripe-signature.ts';
import { renderEmulatorDashboard } from './emulator-dashboard.ts';
import {
  buildEmulatorEvents,
  EMULATOR_EVENT_TYPES,
  type EmulatorEventName,
  isEmulatorEventName,
  NothingToChangeError,
} from './emulator-events.ts';

export interface StripeEmulator {
  readonly stripe: FakeStripe;
  readonly url: string;
  /** What a 90-day backfill of the demo clinic imports. */
  readonly expected: { customersUpserted: number; subscriptionsCreated: number; ordersCreated: number };
  /** Where fired events go: the local stack's Connect endpoint, signed with its secret. */
  deliverTo(target: WebhookTarget): void;
  /**
   * Changes the demo account as `type` says, records the resulting events in the account's
   * Events API and delivers them signed; with `deliver: false` they are only recorded (webhooks
   * off: only a sweep of the Events API finds them).
   */
  fire(type: EmulatorEventName, options?: FireOptions): Promise<FireResult>;
}

export interface FireOptions {
  /** Send the events to the Connect endpoint too (default `true`). */
  readonly deliver?: boolean;
}

export interface WebhookTarget {
  /** `…/api/webhooks/stripe-connect` of the local stack. */
  readonly connectUrl: string;
  /** The Connect endpoint's signing secret (`whsec_…`). */
  readonly secret: string;
  /** The settings page, linked from the emulator's dashboard. */
  readonly settingsUrl: string;
}

export interface Delivery {
  readonly eventId: string;
  readonly type: string;
  /** The id of the event's object (`data.object.id`). */
  readonly objectId: string;
  /** The endpoint's HTTP status. */
  readonly status: number;
  /** The endpoint's JSON answer (`{received, outcome}` or `{error, message}`). */
  readonly response: unknown;
}

export interface FiredEvent {
  readonly eventId: string;
  readonly type: string;
  /** The id of the event's object (`data.object.id`). */
  readonly objectId: string;
}

export interface FireResult {
  readonly type: EmulatorEventName;
  readonly account: string;
  /** The events recorded in the account's Events API, oldest first. */
  readonly events: readonly FiredEvent[];
  /** One per event, in order; empty when fired with `deliver: false`. */
  readonly deliveries: readonly Delivery[];
}

/** Why a fire did not deliver, with the HTTP status the emulator answers. */
export class FireError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
  ) {
    super(message);
    this.name = 'FireError';
  }
}

/**
 * The test suite's fake Stripe with a demo clinic behind its consent screen: what `npm run dev`
 * talks to when no Stripe is configured, and what `npm run stripe:fake` serves on its own. Its
 * dashboard (`/`) and `POST /_emulator/events` (`{"type": …}`, optionally `"deliver": false`)
 * fire events: each is recorded in the demo account's Events API (`GET /v1/events`) and, unless
 * `deliver` is false, sent signed to the local stack.
 */
export async function startStripeEmulator(
  options: { port?: number; consent?: FakeStripe['consent']; accountId?: string } = {},
): Promise<StripeEmulator> {
  const stripe = new FakeStripe();
  stripe.consent = options.consent ?? 'page';
  // It runs as long as `npm run dev`: keep only the last requests (they carry the platform key),
  // and answer only loopback names (a DNS-rebinding page must not fire events or take codes).
  stripe.maxRecordedRequests = 10;
  stripe.allowedHosts = ['localhost', '127.0.0.1', '[::1]'];
  if (options.accountId) stripe.consentAccount = options.accountId;
  const clinic = seedClinic({
    accountId: stripe.consentAccount,
    now: Math.floor(Date.now() / 1000),
    days: 180,
    customers: 120,
    subscriptions: 150,
    invoices: 600,
    oneTimePayments: 80,
  });
  stripe.seed(stripe.consentAccount, clinic.objects);

  let target: WebhookTarget | undefined;
  // One fire at a time: each picks "the newest open invoice" and so on from the data it changes.
  let queue: Promise<unknown> = Promise.resolve();
  const fire = (type: EmulatorEventName, fireOptions: FireOptions = {}): Promise<FireResult> => {
    const run = queue.then(() => fireNow(type, fireOptions.deliver ?? true));
    queue = run.catch(() => undefined);
    return run;
  };
  async function fireNow(type: EmulatorEventName, deliver: boolean): Promise<FireResult> {
    const account = stripe.consentAccount;
    const to = target;
    if (deliver && !to) {
      throw new FireError(503, 'no_webhook_target', 'No local stack is listening for this emulator’s events');
    }
    // Stripe sends a platform the events of connected accounts only.
    if (!stripe.isConnected(account)) {
      throw new FireError(
        409,
        'account_not_connected',
        `The demo account ${account} is not connected to Compass: connect it on the settings page first`,
      );
    }
    let events: Record<string, unknown>[];
    try {
      events = buildEmulatorEvents(type, {
        data: stripe.accountData(account),
        accountId: account,
        clientId: stripe.clientId,
        now: stripe.now(),
      });
    } catch (error) {
      if (error instanceof NothingToChangeError) throw new FireError(409, 'nothing_to_change', error.message);
      throw error;
    }
    // The account really revokes Compass before Stripe tells the platform.
    if (type === 'account.application.deauthorized') stripe.connected.delete(account);
    // Recorded before delivery, as at Stripe: an event whose delivery fails is still listed.
    stripe.recordEvent(...events);
    const deliveries: Delivery[] = [];
    if (deliver && to) {
      for (const event of events) {
        const delivery = await deliverEvent(to, event);
        if (delivery.status >= 200 && delivery.status < 300) stripe.markEventDelivered(event);
        deliveries.push(delivery);
      }
    }
    return { type, account, events: events.map(firedEvent), deliveries };
  }

  const url = await stripe.start(options.port ?? 12111);
  stripe.extraRoutes = (req, res, requestUrl) =>
    serveDashboard(req, res, requestUrl, {
      fire,
      settingsUrl: () => target?.settingsUrl,
      accountId: () => stripe.consentAccount,
      connected: () => stripe.isConnected(stripe.consentAccount),
      counts: () => {
        const data = stripe.accountData(stripe.consentAccount);
        return { ...data.counts(), events: data.events.size };
      },
    });
  const { customersUpserted, subscriptionsCreated, ordersCreated } = clinic.expected;
  return {
    stripe,
    url,
    expected: { customersUpserted, subscriptionsCreated, ordersCreated },
    deliverTo: (next) => {
      target = next;
    },
    fire,
  };
}

function firedEvent(event: Record<string, unknown>): FiredEvent {
  const object = (event.data as { object?: { id?: unknown } } | undefined)?.object;
  return { eventId: String(event.id), type: String(event.type), objectId: String(object?.id) };
}

async function deliverEvent(target: WebhookTarget, event: Record<string, unknown>): Promise<Delivery> {
  const payload = JSON.stringify(event, null, 2);
  let response: Response;
  try {
    response = await fetch(target.connectUrl, {
      method: 'POST',
      headers: {
        'content-type': 'application/json; charset=utf-8',
        'user-agent': 'Stripe/1.0 (+https://stripe.com/docs/webhooks)',
        'stripe-signature': sign(payload, target.secret),
      },
      body: payload,
      signal: AbortSignal.timeout(15_000),
    });
  } catch (error) {
    throw new FireError(
      502,
      'delivery_failed',
      `The local stack did not answer: ${(error as Error).message}`,
    );
  }
  const text = await response.text();
  let body: unknown = text;
  try {
    body = JSON.parse(text);
  } catch {
    // Keep the text: the page shows what came back.
  }
  return { ...firedEvent(event), status: response.status, response: body };
}

interface DashboardDeps {
  readonly fire: (type: EmulatorEventName, options: FireOptions) => Promise<FireResult>;
  readonly settingsUrl: () => string | undefined;
  readonly accountId: () => string;
  readonly connected: () => boolean;
  readonly counts: () => Record<string, number>;
}

const MAX_COMMAND_BYTES = 4096;

/** The emulator's own routes: its dashboard and the event trigger. Everything else is Stripe's. */
async function serveDashboard(
  req: IncomingMessage,
  res: ServerResponse,
  url: URL,
  deps: DashboardDeps,
): Promise<boolean> {
  if (req.method === 'GET' && url.pathname === '/') {
    res.writeHead(200, { 'content-type': 'text/html; charset=utf-8', 'cache-control': 'no-store' });
    res.end(
      renderEmulatorDashboard({
        accountId: deps.accountId(),
        connected: deps.connected(),
        counts: deps.counts(),
        settingsUrl: deps.settingsUrl(),
        types: EMULATOR_EVENT_TYPES,
      }),
    );
    return true;
  }
  if (url.pathname !== '/_emulator/events') return false;
  if (req.method === 'GET') {
    json(res, 200, {
      account: deps.accountId(),
      connected: deps.connected(),
      counts: deps.counts(),
      types: EMULATOR_EVENT_TYPES,
    });
    return true;
  }
  if (req.method !== 'POST') {
    json(res, 405, { error: 'method_not_allowed', message: 'GET or POST' });
    return true;
  }
  // JSON only: a form post from some other web page cannot trigger events (it would need CORS).
  if (!String(req.headers['content-type'] ?? '').startsWith('application/json')) {
    json(res, 415, { error: 'unsupported_media_type', message: 'Send {"type": "<event type>"} as JSON' });
    return true;
  }
  const body = await readLimited(req);
  let command: { type?: unknown; deliver?: unknown } = {};
  try {
    const parsed: unknown = JSON.parse(body ?? '');
    if (parsed && typeof parsed === 'object') command = parsed;
  } catch {
    // Not JSON: answered as an unknown type below.
  }
  const { type, deliver } = command;
  if (!isEmulatorEventName(type)) {
    json(res, 400, {
      error: 'unknown_event_type',
      message: 'Unknown event type',
      types: EMULATOR_EVENT_TYPES.map((entry) => entry.type),
    });
    return true;
  }
  if (deliver !== undefined && typeof deliver !== 'boolean') {
    json(res, 400, { error: 'invalid_deliver', message: '"deliver" is true or false' });
    return true;
  }
  try {
    json(res, 200, await deps.fire(type, deliver === undefined ? {} : { deliver }));
  } catch (error) {
    if (!(error instanceof FireError)) throw error;
    json(res, error.status, { error: error.code, message: error.message });
  }
  return true;
}

async function readLimited(req: IncomingMessage): Promise<string | undefined> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req) {
    size += (chunk as Buffer).length;
    if (size > MAX_COMMAND_BYTES) return undefined;
    chunks.push(chunk as Buffer);
  }
  return Buffer.concat(chunks).toString('utf8');
}

function json(res: ServerResponse, status: number, body: unknown): void {
  res.writeHead(status, { 'content-type': 'application/json', 'cache-control': 'no-store' });
  res.end(JSON.stringify(body));
}
