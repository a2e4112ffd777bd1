import { randomBytes } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import {
  AccountData,
  type Collection,
  type CollectionName,
  EVENT_RETENTION_SECONDS,
  idOf,
  type SeedObjects,
  type StoreName,
} from './account-data.ts';
import type { StripeObject } from './stripe-objects.ts';

export {
  AccountData,
  type CollectionName,
  EVENT_RETENTION_SECONDS,
  EventLog,
  type SeedObjects,
} from './account-data.ts';
export type { StripeObject } from './stripe-objects.ts';

/**
 * A fake Stripe that speaks HTTP like Stripe does, for the real `stripe` SDK to talk to.
 *
 * It implements what the connector uses: `GET /oauth/authorize` (a consent screen that answers
 * at once), `POST /oauth/token` (single-use, expiring codes;
 * `invalid_grant` on reuse, which like Stripe also revokes the tokens the code gave) and
 * `POST /oauth/deauthorize` (`invalid_client` for an account that is not connected). Faults
 * (5xx, 429, dropped connections) can be queued per path, and every request is recorded.
 *
 * It also serves connected accounts' data ({@link FakeStripe.accountData}, {@link FakeStripe.seed})
 * the way the backfill reads it: `GET /v1/{customers,subscriptions,invoices,payment_intents,
 * invoice_payments,charges,credit_notes,disputes}` lists with Stripe's pagination, `created`/
 * status filters and `expand[]`, and `GET /v1/<those>/<id>`. Each account also has its Events API
 * (`GET /v1/events`, `GET /v1/events/<id>`: newest first, 30 days kept, `type`/`types`/
 * `delivery_success` filters) holding the events recorded with {@link FakeStripe.recordEvent},
 * delivered as webhooks or not. Requests name the account with the `Stripe-Account`
 * header and authenticate with the platform key. {@link FakeStripe.latencyMs},
 * {@link FakeStripe.rateLimit} (a per-account token bucket answering Stripe's 429) and
 * {@link FakeStripe.stats} serve tests and the benchmark.
 */
export interface FakeStripeOptions {
  readonly secretKey?: string;
  readonly clientId?: string;
  /** How long an authorization code stays valid (Stripe: minutes). */
  readonly codeTtlMs?: number;
  readonly latencyMs?: number;
  readonly rateLimit?: RateLimit | null;
  /** The fake's clock, epoch seconds (what the Events API's 30 days count from). */
  readonly now?: () => number;
}

export interface RecordedRequest {
  readonly method: string;
  readonly path: string;
  readonly headers: Readonly<Record<string, string | string[] | undefined>>;
  /** Form body and query string parameters (flat: `created[gte]`, `expand[0]`, …). */
  readonly params: Readonly<Record<string, string>>;
  /** The raw query string, without `?`. */
  readonly query: string;
}

/** A token bucket per connected account (per platform for requests without `Stripe-Account`). */
export interface RateLimit {
  /** Tokens added per second. Stripe: 25 in test mode, 100 in live mode. */
  readonly perSecond: number;
  /** Bucket size; default `perSecond`. */
  readonly burst?: number;
  /** `Stripe-Rate-Limited-Reason` of the 429; default `global-rate`. */
  readonly reason?: 'global-rate' | 'endpoint-rate' | 'global-concurrency' | 'endpoint-concurrency';
}

export interface FakeStripeStats {
  /** Every request received (OAuth included). */
  readonly requests: number;
  readonly byPath: Readonly<Record<string, number>>;
  /** By `Stripe-Account`; {@link PLATFORM} for requests without one. */
  readonly byAccount: Readonly<Record<string, number>>;
  /** Answers sent, by HTTP status (dropped connections are not answers). */
  readonly byStatus: Readonly<Record<string, number>>;
  /** 429s answered by the rate limiter (injected 429 faults are in `faults`). */
  readonly rateLimited: number;
  readonly rateLimitedByAccount: Readonly<Record<string, number>>;
  /** Injected faults answered (status, drop or delay). */
  readonly faults: number;
}

/** The key of requests without `Stripe-Account` in {@link FakeStripeStats} and rate limiting. */
export const PLATFORM = 'platform';

export type Fault =
  | { readonly status: number; readonly body?: unknown }
  | { readonly drop: true }
  /** Answers normally, but only after this long (a hanging Stripe). */
  | { readonly delayMs: number };

interface IssuedCode {
  readonly accountId: string;
  readonly livemode: boolean;
  readonly issuedAt: number;
  used: boolean;
  accessToken?: string;
}

export class FakeStripe {
  readonly secretKey: string;
  readonly clientId: string;
  readonly requests: RecordedRequest[] = [];
  /**
   * How many requests `requests` keeps (the newest). The tests keep all; the long-lived emulator
   * of `npm run dev` keeps a few, since they carry the platform key's Authorization header.
   */
  maxRecordedRequests = Number.POSITIVE_INFINITY;
  /**
   * Redirect URIs registered for the platform (Stripe refuses any other on its consent screen);
   * empty (the tests' default) accepts any.
   */
  redirectUris: readonly string[] = [];
  /** Host names the server answers (a DNS-rebinding page must not reach it); empty: any. */
  allowedHosts: readonly string[] = [];
  /** Accounts connected to the platform, with the access tokens issued for them. */
  readonly connected = new Map<string, Set<string>>();
  private readonly codes = new Map<string, IssuedCode>();
  private readonly faults = new Map<string, Fault[]>();
  private readonly codeTtlMs: number;
  /**
   * What the consent screen does: approve at once (with `consentAccount`), answer like the
   * tenant's Cancel, or (`page`, the local emulator) show Authorize and Cancel buttons to a person.
   */
  consent: 'approve' | 'deny' | 'page' = 'approve';
  consentAccount = 'acct_1FakeClinic000001';
  /** Delay before answering every request, in milliseconds. */
  latencyMs: number;
  /** Token bucket per account; `null` (the default) for no limit. Applies to `/v1/` paths. */
  rateLimit: RateLimit | null;
  /**
   * The fake's clock in epoch seconds: the Events API lists the 30 days before it. Tests whose
   * events carry fixture times (long past) set it near them.
   */
  now: () => number;
  /**
   * Pages and actions served before Stripe's own routes (the local emulator's dashboard); answers
   * `true` when it handled the request. Not recorded in {@link requests} or {@link stats}.
   */
  extraRoutes: ((req: IncomingMessage, res: ServerResponse, url: URL) => Promise<boolean>) | undefined =
    undefined;
  /** The platform account's own objects: what a request without `Stripe-Account` reads. */
  readonly platformData = new AccountData(PLATFORM);
  private readonly accounts = new Map<string, AccountData>();
  private readonly buckets = new Map<string, { tokens: number; at: number }>();
  private counters = emptyCounters();
  private server: Server | undefined;
  private baseUrl = '';

  constructor(options: FakeStripeOptions = {}) {
    this.secretKey = options.secretKey ?? 'sk_test_fakeplatformkey000000000000';
    this.clientId = options.clientId ?? 'ca_fakeclientid0000';
    this.codeTtlMs = options.codeTtlMs ?? 5 * 60_000;
    this.latencyMs = options.latencyMs ?? 0;
    this.rateLimit = options.rateLimit ?? null;
    this.now = options.now ?? (() => Math.floor(Date.now() / 1000));
  }

  get url(): string {
    return this.baseUrl;
  }

  async start(port = 0): Promise<string> {
    this.server = createServer((req, res) => {
      this.handle(req, res).catch((error: unknown) => {
        if (!res.headersSent) this.send(res, 500, { error: { type: 'api_error', message: String(error) } });
      });
    });
    const server = this.server;
    // A port in use must reject (the caller explains it), not crash the process with an unhandled 'error'.
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(port, '127.0.0.1', () => {
        server.off('error', reject);
        resolve();
      });
    }).catch((error: unknown) => {
      this.server = undefined;
      throw error;
    });
    const { port: actual } = server.address() as AddressInfo;
    this.baseUrl = `http://127.0.0.1:${actual}`;
    return this.baseUrl;
  }

  async stop(): Promise<void> {
    const server = this.server;
    if (!server) return;
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
    this.server = undefined;
  }

  /** What Stripe's consent screen does when the account owner presses Authorize. */
  issueCode(accountId = `acct_${randomBytes(8).toString('hex')}`, livemode = false): string {
    const code = `ac_${randomBytes(16).toString('hex')}`;
    this.codes.set(code, { accountId, livemode, issuedAt: Date.now(), used: false });
    return code;
  }

  /** Queues faults answered, in order, to the next requests on `path`. */
  injectFault(path: string, ...faults: Fault[]): void {
    this.faults.set(path, [...(this.faults.get(path) ?? []), ...faults]);
  }

  /** Forgets the faults still queued (a test that gave up early leaves some). */
  clearFaults(): void {
    this.faults.clear();
  }

  requestsTo(path: string): RecordedRequest[] {
    return this.requests.filter((r) => r.path === path);
  }

  isConnected(accountId: string): boolean {
    return this.connected.has(accountId);
  }

  /**
   * Connects an account without the OAuth dance (as if `issueCode` and a token exchange had
   * happened); returns its access token (an existing one if already connected).
   */
  connectAccount(accountId: string, livemode = false): string {
    const tokens = this.connected.get(accountId) ?? new Set<string>();
    const existing = tokens.values().next();
    if (!existing.done) return existing.value;
    const token = `sk_${livemode ? 'live' : 'test'}_${randomBytes(24).toString('hex')}`;
    tokens.add(token);
    this.connected.set(accountId, tokens);
    return token;
  }

  /**
   * The objects of a (connected or not yet connected) account; created empty on first use.
   * Reading them needs the account to be connected ({@link connectAccount} or OAuth).
   */
  accountData(accountId: string): AccountData {
    let data = this.accounts.get(accountId);
    if (!data) {
      data = new AccountData(accountId);
      this.accounts.set(accountId, data);
    }
    return data;
  }

  /** Adds (or replaces, by id) objects of an account in bulk. Does not connect it. */
  seed(accountId: string, objects: SeedObjects): AccountData {
    return this.accountData(accountId).seed(objects);
  }

  /**
   * Records events in their account's Events API (the account of `event.account`, the
   * platform's own without one), as Stripe records every event it creates. Nothing is delivered:
   * that is the "webhooks off" case. A test that also delivers the event as a webhook calls
   * {@link markEventDelivered} after a 2xx, as the emulator does. Returns the events.
   */
  recordEvent(...events: StripeObject[]): StripeObject[] {
    for (const event of events) this.dataOfEvent(event).recordEvent(event);
    return events;
  }

  /** An endpoint answered 2xx for this recorded event: it lists with `pending_webhooks: 0`. */
  markEventDelivered(event: StripeObject): void {
    this.dataOfEvent(event).events.markDelivered(String(event.id));
  }

  /** The recorded events of an account (or {@link PLATFORM}), newest first, retention ignored. */
  recordedEvents(accountId: string): readonly StripeObject[] {
    return (accountId === PLATFORM ? this.platformData : this.accountData(accountId)).events.all();
  }

  private dataOfEvent(event: StripeObject): AccountData {
    return typeof event.account === 'string' ? this.accountData(event.account) : this.platformData;
  }

  stats(): FakeStripeStats {
    const c = this.counters;
    return {
      requests: c.requests,
      byPath: Object.fromEntries(c.byPath),
      byAccount: Object.fromEntries(c.byAccount),
      byStatus: Object.fromEntries(c.byStatus),
      rateLimited: c.rateLimited,
      rateLimitedByAccount: Object.fromEntries(c.rateLimitedByAccount),
      faults: c.faults,
    };
  }

  /** Zeroes {@link stats} and refills the rate-limit buckets (`requests` is left alone). */
  resetStats(): void {
    this.counters = emptyCounters();
    this.buckets.clear();
  }

  /** Every secret value this fake handed out, for leak checks. */
  issuedSecrets(): string[] {
    const secrets = [...this.codes.keys()];
    for (const tokens of this.connected.values()) secrets.push(...tokens);
    for (const issued of this.codes.values()) if (issued.accessToken) secrets.push(issued.accessToken);
    return secrets;
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', 'http://fake');
    const host = (req.headers.host ?? '').replace(/:\d+$/, '');
    if (this.allowedHosts.length > 0 && !this.allowedHosts.includes(host)) {
      this.send(res, 421, { error: { type: 'invalid_request_error', message: 'Unknown host' } });
      return;
    }
    if (this.extraRoutes && (await this.extraRoutes(req, res, url))) return;
    const raw = await readBody(req);
    const params = {
      ...Object.fromEntries(url.searchParams),
      ...Object.fromEntries(new URLSearchParams(raw)),
    };
    const account = headerOf(req, 'stripe-account') || undefined;
    this.requests.push({
      method: req.method ?? 'GET',
      path: url.pathname,
      headers: req.headers,
      params,
      query: url.search.slice(1),
    });
    if (this.requests.length > this.maxRecordedRequests) {
      this.requests.splice(0, this.requests.length - this.maxRecordedRequests);
    }
    const c = this.counters;
    c.requests += 1;
    increment(c.byPath, url.pathname);
    increment(c.byAccount, account ?? PLATFORM);

    if (this.latencyMs > 0) {
      await sleep(this.latencyMs);
      if (res.destroyed || req.socket.destroyed) return;
    }
    const fault = this.faults.get(url.pathname)?.shift();
    if (fault) c.faults += 1;
    if (fault && 'delayMs' in fault) {
      await sleep(fault.delayMs);
      if (res.destroyed || req.socket.destroyed) return;
    } else if (fault) {
      if ('drop' in fault) {
        req.socket.destroy();
        return;
      }
      this.send(res, fault.status, fault.body ?? { error: { type: 'api_error', message: 'Injected fault' } });
      return;
    }
    if (req.method === 'GET' && url.pathname === '/oauth/authorize') return this.authorize(url, res);
    if (url.pathname.startsWith('/v1/')) return this.api(req, url, account, res);
    if (req.headers.authorization !== `Bearer ${this.secretKey}`) {
      this.send(res, 401, { error: 'invalid_client', error_description: 'Invalid API Key provided' });
      return;
    }
    if (req.method === 'POST' && url.pathname === '/oauth/token') return this.token(params, res);
    if (req.method === 'POST' && url.pathname === '/oauth/deauthorize') return this.deauthorize(params, res);
    this.send(res, 404, unrecognized(req, url));
  }

  /** `/v1/` requests: platform key, rate limit, `Stripe-Account`, then the resource. */
  private api(req: IncomingMessage, url: URL, account: string | undefined, res: ServerResponse): void {
    const authorization = req.headers.authorization;
    if (!authorization?.startsWith('Bearer ') || authorization === 'Bearer ') {
      this.send(res, 401, {
        error: {
          type: 'invalid_request_error',
          message:
            "You did not provide an API key. You need to provide your API key in the Authorization header, using Bearer auth (e.g. 'Authorization: Bearer YOUR_SECRET_KEY').",
        },
      });
      return;
    }
    if (authorization !== `Bearer ${this.secretKey}`) {
      this.send(res, 401, {
        error: {
          type: 'invalid_request_error',
          message: `Invalid API Key provided: ${redactKey(authorization.slice('Bearer '.length))}`,
        },
      });
      return;
    }
    const limit = this.rateLimit;
    if (limit && !this.takeToken(account ?? PLATFORM, limit)) {
      this.counters.rateLimited += 1;
      increment(this.counters.rateLimitedByAccount, account ?? PLATFORM);
      this.send(
        res,
        429,
        {
          error: {
            type: 'invalid_request_error',
            code: 'rate_limit',
            doc_url: 'https://stripe.com/docs/error-codes/rate-limit',
            message:
              'Request rate limit exceeded. Learn more about rate limits here https://stripe.com/docs/rate-limits.',
          },
        },
        { 'stripe-rate-limited-reason': limit.reason ?? 'global-rate' },
      );
      return;
    }
    let data = this.platformData;
    if (account !== undefined) {
      if (!this.connected.has(account)) {
        this.send(res, 403, {
          error: {
            type: 'invalid_request_error',
            code: 'account_invalid',
            doc_url: 'https://stripe.com/docs/error-codes/account-invalid',
            message: `The provided key '${redactKey(this.secretKey)}' does not have access to account '${account}' (or that account does not exist). Application access may have been revoked.`,
          },
        });
        return;
      }
      data = this.accountData(account);
    }
    const match = /^\/v1\/([a-z_]+)(?:\/([^/]+))?$/.exec(url.pathname);
    const resource =
      match && Object.hasOwn(RESOURCES, match[1] as string) ? RESOURCES[match[1] as string] : undefined;
    if (req.method !== 'GET' || !match || !resource) {
      this.send(res, 404, unrecognized(req, url));
      return;
    }
    try {
      const query = parseQuery(url.searchParams);
      const id = match[2] === undefined ? undefined : decodeURIComponent(match[2]);
      const now = this.now();
      const body =
        id === undefined
          ? listObjects(resource, data, query, url.pathname, now)
          : retrieveObject(resource, data, query, id, now);
      this.send(res, 200, body);
    } catch (error) {
      if (!(error instanceof StripeApiError)) throw error;
      this.send(res, error.status, { error: error.body });
    }
  }

  private takeToken(key: string, limit: RateLimit): boolean {
    const capacity = limit.burst ?? limit.perSecond;
    const now = performance.now();
    let bucket = this.buckets.get(key);
    if (!bucket) {
      bucket = { tokens: capacity, at: now };
      this.buckets.set(key, bucket);
    }
    bucket.tokens = Math.min(capacity, bucket.tokens + ((now - bucket.at) / 1000) * limit.perSecond);
    bucket.at = now;
    if (bucket.tokens < 1) return false;
    bucket.tokens -= 1;
    return true;
  }

  private send(
    res: ServerResponse,
    status: number,
    body: unknown,
    headers: Record<string, string> = {},
  ): void {
    increment(this.counters.byStatus, String(status));
    writeJson(res, status, body, headers);
  }

  /** Stripe's consent screen, decided by `consent` instead of a person: redirects back at once. */
  private authorize(url: URL, res: ServerResponse): void {
    const q = url.searchParams;
    const redirectUri = q.get('redirect_uri');
    if (q.get('client_id') !== this.clientId || q.get('response_type') !== 'code' || !redirectUri) {
      this.send(res, 400, {
        error: 'invalid_request',
        error_description: 'Unknown client_id or missing parameters',
      });
      return;
    }
    // Like Stripe: a code only ever goes to a redirect URI registered for the platform.
    if (this.redirectUris.length > 0 && !this.redirectUris.includes(redirectUri)) {
      this.send(res, 400, {
        error: 'invalid_redirect_uri',
        error_description: "The redirect_uri is not one of the platform's registered redirect URIs",
      });
      return;
    }
    if (this.consent === 'page' && q.get('decision') === null) {
      increment(this.counters.byStatus, '200');
      res.writeHead(200, { 'content-type': 'text/html; charset=utf-8', 'cache-control': 'no-store' });
      res.end(consentPage(q, this.consentAccount));
      return;
    }
    const back = new URL(redirectUri);
    const approve = this.consent === 'page' ? q.get('decision') === 'authorize' : this.consent === 'approve';
    if (approve) {
      back.searchParams.set('code', this.issueCode(this.consentAccount));
      back.searchParams.set('scope', q.get('scope') ?? 'read_write');
    } else {
      back.searchParams.set('error', 'access_denied');
      back.searchParams.set('error_description', 'The user denied your request');
    }
    const state = q.get('state');
    if (state !== null) back.searchParams.set('state', state);
    increment(this.counters.byStatus, '302');
    res.writeHead(302, { location: back.toString() });
    res.end();
  }

  private token(params: Record<string, string>, res: ServerResponse): void {
    if (params.grant_type !== 'authorization_code') {
      this.send(res, 400, {
        error: 'unsupported_grant_type',
        error_description: 'Only authorization_code is supported',
      });
      return;
    }
    const code = params.code ?? '';
    const issued = this.codes.get(code);
    if (!issued || Date.now() - issued.issuedAt > this.codeTtlMs) {
      this.send(res, 400, {
        error: 'invalid_grant',
        error_description: `Authorization code does not exist: ${code}`,
      });
      return;
    }
    if (issued.used) {
      // Stripe treats a reused code as a stolen one and revokes what it issued.
      if (issued.accessToken) this.connected.get(issued.accountId)?.delete(issued.accessToken);
      this.send(res, 400, {
        error: 'invalid_grant',
        error_description: `Authorization code already used: ${code}`,
      });
      return;
    }
    issued.used = true;
    const mode = issued.livemode ? 'live' : 'test';
    const accessToken = `sk_${mode}_${randomBytes(24).toString('hex')}`;
    issued.accessToken = accessToken;
    const tokens = this.connected.get(issued.accountId) ?? new Set<string>();
    tokens.add(accessToken);
    this.connected.set(issued.accountId, tokens);
    this.send(res, 200, {
      access_token: accessToken,
      livemode: issued.livemode,
      refresh_token: `rt_${randomBytes(24).toString('hex')}`,
      token_type: 'bearer',
      stripe_publishable_key: `pk_${mode}_${randomBytes(12).toString('hex')}`,
      stripe_user_id: issued.accountId,
      scope: 'read_write',
    });
  }

  private deauthorize(params: Record<string, string>, res: ServerResponse): void {
    const accountId = params.stripe_user_id ?? '';
    if (params.client_id !== this.clientId) {
      this.send(res, 401, {
        error: 'invalid_client',
        error_description: `No such application: '${params.client_id ?? ''}'`,
      });
      return;
    }
    if (!this.connected.has(accountId)) {
      this.send(res, 401, {
        error: 'invalid_client',
        error_description: `This application is not connected to stripe account ${accountId}, or that account does not exist.`,
      });
      return;
    }
    this.connected.delete(accountId);
    this.send(res, 200, { stripe_user_id: accountId });
  }
}

function writeJson(
  res: ServerResponse,
  status: number,
  body: unknown,
  headers: Record<string, string> = {},
): void {
  const text = JSON.stringify(body);
  res.writeHead(status, {
    'content-type': 'application/json',
    'content-length': Buffer.byteLength(text),
    'request-id': `req_${randomBytes(7).toString('hex')}`,
    ...headers,
  });
  res.end(text);
}

async function readBody(req: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

interface Counters {
  requests: number;
  byPath: Map<string, number>;
  byAccount: Map<string, number>;
  byStatus: Map<string, number>;
  rateLimited: number;
  rateLimitedByAccount: Map<string, number>;
  faults: number;
}

function emptyCounters(): Counters {
  return {
    requests: 0,
    byPath: new Map(),
    byAccount: new Map(),
    byStatus: new Map(),
    rateLimited: 0,
    rateLimitedByAccount: new Map(),
    faults: 0,
  };
}

function increment(map: Map<string, number>, key: string): void {
  map.set(key, (map.get(key) ?? 0) + 1);
}

function headerOf(req: IncomingMessage, name: string): string | undefined {
  const value = req.headers[name];
  return Array.isArray(value) ? value.join(', ') : value;
}

/** How Stripe shows a key in error messages: its prefix and last four characters. */
function redactKey(key: string): string {
  const prefix = /^(sk|rk|pk)_(test|live)_/.exec(key)?.[0] ?? '';
  return `${prefix}***${key.slice(-4)}`;
}

function unrecognized(req: IncomingMessage, url: URL): unknown {
  return {
    error: {
      type: 'invalid_request_error',
      message: `Unrecognized request URL (${req.method}: ${url.pathname})`,
    },
  };
}

// ---------------------------------------------------------------------------------------------
// The `/v1/` resources: lists and retrieves with Stripe's parameters and errors.

/** An error answered as Stripe's `{error: {…}}` body. */
class StripeApiError extends Error {
  readonly status: number;
  readonly body: Record<string, unknown>;
  constructor(status: number, body: Record<string, unknown>) {
    super(String(body.message));
    this.status = status;
    this.body = body;
  }
}

function invalid(message: string, param?: string, code?: string, status = 400): StripeApiError {
  return new StripeApiError(status, {
    type: 'invalid_request_error',
    ...(code === undefined ? {} : { code }),
    message,
    ...(param === undefined ? {} : { param }),
  });
}

function noSuch(objectName: string, id: string, param: string, status: number): StripeApiError {
  return invalid(`No such ${objectName}: '${id}'`, param, 'resource_missing', status);
}

/** A parsed query parameter: `a=1`, `a[]=1&a[]=2` / `a[0]=1`, or `a[b]=1`. */
type QueryValue = string | string[] | Record<string, string>;
type Query = Map<string, QueryValue>;

/** Parses Stripe's (qs-style) query string: `expand[0]=…`, `expand[]=…`, `created[gte]=…`. */
function parseQuery(search: URLSearchParams): Query {
  const query: Query = new Map();
  for (const [key, value] of search) {
    const match = /^([^[\]]+)(?:\[([^[\]]*)\])?$/.exec(key);
    if (!match) throw invalid(`Received unknown parameter: ${key}`, key);
    const name = match[1] as string;
    const sub = match[2];
    const existing = query.get(name);
    if (sub === undefined) {
      if (existing !== undefined && typeof existing !== 'string') throw invalid(`Invalid ${name}`, name);
      query.set(name, value);
    } else if (sub === '' || /^\d+$/.test(sub)) {
      if (existing === undefined) query.set(name, [value]);
      else if (Array.isArray(existing)) existing.push(value);
      else throw invalid(`Invalid ${name}`, name);
    } else if (existing === undefined) {
      query.set(name, { [sub]: value });
    } else if (typeof existing === 'object' && !Array.isArray(existing)) {
      existing[sub] = value;
    } else {
      throw invalid(`Invalid ${name}`, name);
    }
  }
  return query;
}

function stringParam(query: Query, name: string): string | undefined {
  const value = query.get(name);
  if (value === undefined) return undefined;
  if (typeof value !== 'string') throw invalid(`Invalid string: ${JSON.stringify(value)}`, name);
  return value;
}

function objectParam(query: Query, name: string): Record<string, string> | undefined {
  const value = query.get(name);
  if (value === undefined) return undefined;
  if (typeof value !== 'object' || Array.isArray(value)) throw invalid(`Invalid hash`, name);
  return value;
}

function integer(value: string, param: string): number {
  if (!/^-?\d+$/.test(value)) throw invalid(`Invalid integer: ${value}`, param);
  return Number(value);
}

function oneOf(value: string, allowed: readonly string[], param: string): string {
  if (!allowed.includes(value)) {
    const list = `${allowed.slice(0, -1).join(', ')} or ${allowed.at(-1)}`;
    throw invalid(`Invalid ${param}: must be one of ${list}`, param);
  }
  return value;
}

type Predicate = (object: StripeObject) => boolean;
type Expander = (object: StripeObject, data: AccountData) => StripeObject;

interface ResourceSpec {
  readonly collection: StoreName;
  /** List parameters besides `limit`, `starting_after`, `ending_before`, `created`, `expand`. */
  readonly params: readonly string[];
  /** Parameters Stripe has for this list that the fake does not implement (answered 400). */
  readonly unsupported: readonly string[];
  /** The filters the list's parameters ask for (`params` are already known to be valid names). */
  readonly filters: (query: Query, data: AccountData) => Predicate[];
  /** Expandable fields (without the `data.` of lists). */
  readonly expand: Readonly<Record<string, Expander>>;
  /** The object as the API shows it (state kept beside the object, like delivery). */
  readonly render?: Expander;
  /** Objects older than this (before the fake's `now`) are gone from the API. */
  readonly retentionSeconds?: number;
}

/** Replaces an id with the object it names (a deleted customer expands to its tombstone). */
function lookup(collection: Collection, value: unknown): unknown {
  if (typeof value !== 'string') return value;
  const found = collection.get(value);
  if (found) return found;
  return collection.objectName === 'customer' ? { id: value, object: 'customer', deleted: true } : value;
}

const expandCustomer: Expander = (object, data) => ({
  ...object,
  customer: lookup(data.customers, object.customer),
});

/** How many InvoicePayments an invoice's includable `payments` list embeds. */
const EMBEDDED_PAYMENTS = 10;

const equals =
  (field: string, value: string): Predicate =>
  (object) =>
    idOf(object[field]) === value;

/** One {@link equals} filter per id parameter given (`customer=cus_…`, `invoice=in_…`, …). */
function idFilters(query: Query, ...fields: string[]): Predicate[] {
  const filters: Predicate[] = [];
  for (const field of fields) {
    const value = stringParam(query, field);
    if (value !== undefined) filters.push(equals(field, value));
  }
  return filters;
}

/** Expands a field holding the id of an object of `collection` (left as is when unknown). */
function expandField(field: string, collection: CollectionName): Expander {
  return (object, data) => ({ ...object, [field]: lookup(data.collection(collection), object[field]) });
}

const SUBSCRIPTION_STATUSES = [
  'active',
  'past_due',
  'unpaid',
  'canceled',
  'incomplete',
  'incomplete_expired',
  'trialing',
  'all',
  'ended',
  'paused',
] as const;

const RESOURCES: Readonly<Record<string, ResourceSpec>> = {
  customers: {
    collection: 'customers',
    params: ['email'],
    unsupported: ['test_clock'],
    filters: (query) => {
      const email = stringParam(query, 'email');
      return email === undefined ? [] : [(o) => o.email === email];
    },
    expand: {},
  },
  subscriptions: {
    collection: 'subscriptions',
    params: ['customer', 'status', 'price', 'plan', 'collection_method'],
    unsupported: [
      'automatic_tax',
      'current_period_end',
      'current_period_start',
      'customer_account',
      'test_clock',
    ],
    filters: (query) => {
      const filters: Predicate[] = [];
      const status = stringParam(query, 'status');
      if (status === undefined) {
        filters.push((o) => o.status !== 'canceled' && o.status !== 'incomplete_expired');
      } else if (oneOf(status, SUBSCRIPTION_STATUSES, 'status') === 'ended') {
        filters.push((o) => o.status === 'canceled' || o.status === 'incomplete_expired');
      } else if (status !== 'all') {
        filters.push((o) => o.status === status);
      }
      const customer = stringParam(query, 'customer');
      if (customer !== undefined) filters.push(equals('customer', customer));
      const method = stringParam(query, 'collection_method');
      if (method !== undefined) filters.push((o) => o.collection_method === method);
      for (const name of ['price', 'plan']) {
        const price = stringParam(query, name);
        if (price === undefined) continue;
        filters.push((o) => {
          const items = ((o.items as StripeObject | undefined)?.data ?? []) as StripeObject[];
          return items.some((item) => idOf(item[name]) === price);
        });
      }
      return filters;
    },
    expand: {
      customer: expandCustomer,
      latest_invoice: (o, data) => ({ ...o, latest_invoice: lookup(data.invoices, o.latest_invoice) }),
    },
  },
  invoices: {
    collection: 'invoices',
    params: ['customer', 'status', 'subscription', 'collection_method'],
    unsupported: ['customer_account', 'due_date'],
    filters: (query) => {
      const filters: Predicate[] = [];
      const status = stringParam(query, 'status');
      if (status !== undefined) {
        oneOf(status, ['draft', 'open', 'paid', 'uncollectible', 'void'], 'status');
        filters.push((o) => o.status === status);
      }
      const customer = stringParam(query, 'customer');
      if (customer !== undefined) filters.push(equals('customer', customer));
      const subscription = stringParam(query, 'subscription');
      if (subscription !== undefined) filters.push((o) => invoiceSubscription(o) === subscription);
      const method = stringParam(query, 'collection_method');
      if (method !== undefined) filters.push((o) => o.collection_method === method);
      return filters;
    },
    expand: {
      customer: expandCustomer,
      payments: (o, data) => {
        const payments = data.invoicePaymentsOf(o.id as string);
        return {
          ...o,
          payments: {
            object: 'list',
            data: payments.slice(0, EMBEDDED_PAYMENTS),
            has_more: payments.length > EMBEDDED_PAYMENTS,
            total_count: payments.length,
            url: `/v1/invoice_payments?invoice=${o.id as string}`,
          },
        };
      },
    },
  },
  payment_intents: {
    collection: 'paymentIntents',
    params: ['customer'],
    unsupported: ['customer_account'],
    filters: (query) => {
      const customer = stringParam(query, 'customer');
      return customer === undefined ? [] : [equals('customer', customer)];
    },
    expand: {
      customer: expandCustomer,
      latest_charge: (o, data) => ({ ...o, latest_charge: lookup(data.charges, o.latest_charge) }),
    },
  },
  invoice_payments: {
    collection: 'invoicePayments',
    params: ['invoice', 'payment', 'status'],
    unsupported: [],
    filters: (query) => {
      const filters: Predicate[] = [];
      const invoice = stringParam(query, 'invoice');
      if (invoice !== undefined) filters.push(equals('invoice', invoice));
      const status = stringParam(query, 'status');
      if (status !== undefined) {
        oneOf(status, ['canceled', 'open', 'paid'], 'status');
        filters.push((o) => o.status === status);
      }
      const payment = objectParam(query, 'payment');
      if (payment !== undefined) {
        for (const key of Object.keys(payment)) {
          if (!['type', 'payment_intent', 'payment_record'].includes(key)) {
            throw invalid(`Received unknown parameter: payment[${key}]`, `payment[${key}]`);
          }
        }
        if (payment.type === undefined)
          throw invalid('Missing required param: payment[type].', 'payment[type]');
        const { type, payment_intent: paymentIntent, payment_record: paymentRecord } = payment;
        const paymentOf = (o: StripeObject) => (o.payment ?? {}) as StripeObject;
        filters.push((o) => paymentOf(o).type === type);
        if (paymentIntent !== undefined)
          filters.push((o) => idOf(paymentOf(o).payment_intent) === paymentIntent);
        if (paymentRecord !== undefined)
          filters.push((o) => idOf(paymentOf(o).payment_record) === paymentRecord);
      }
      return filters;
    },
    expand: {
      invoice: (o, data) => ({ ...o, invoice: lookup(data.invoices, o.invoice) }),
      'payment.payment_intent': (o, data) => {
        const payment = (o.payment ?? {}) as StripeObject;
        return {
          ...o,
          payment: { ...payment, payment_intent: lookup(data.paymentIntents, payment.payment_intent) },
        };
      },
    },
  },
  charges: {
    collection: 'charges',
    params: ['customer', 'payment_intent', 'transfer_group'],
    unsupported: [],
    filters: (query) => {
      const filters = idFilters(query, 'customer', 'payment_intent');
      const group = stringParam(query, 'transfer_group');
      if (group !== undefined) filters.push((o) => o.transfer_group === group);
      return filters;
    },
    expand: {
      customer: expandCustomer,
      payment_intent: expandField('payment_intent', 'paymentIntents'),
    },
  },
  credit_notes: {
    collection: 'creditNotes',
    params: ['customer', 'invoice'],
    unsupported: ['customer_account'],
    filters: (query) => idFilters(query, 'customer', 'invoice'),
    expand: { customer: expandCustomer, invoice: expandField('invoice', 'invoices') },
  },
  disputes: {
    collection: 'disputes',
    params: ['charge', 'payment_intent'],
    unsupported: [],
    filters: (query) => idFilters(query, 'charge', 'payment_intent'),
    expand: {
      charge: expandField('charge', 'charges'),
      payment_intent: expandField('payment_intent', 'paymentIntents'),
    },
  },
  events: {
    collection: 'events',
    params: ['type', 'types', 'delivery_success'],
    unsupported: [],
    filters: (query, data) => {
      const filters: Predicate[] = [];
      const type = stringParam(query, 'type');
      const types = query.get('types');
      if (type !== undefined && types !== undefined) {
        throw invalid('You may pass either type or types, but not both.', 'types');
      }
      if (type !== undefined) {
        const pattern = eventTypePattern(type);
        filters.push((o) => pattern.test(String(o.type)));
      }
      if (types !== undefined) {
        if (!Array.isArray(types)) throw invalid('Invalid array', 'types');
        if (types.length > MAX_EVENT_TYPES) {
          throw invalid(`You may pass at most ${MAX_EVENT_TYPES} types.`, 'types');
        }
        const wanted = new Set(types);
        filters.push((o) => wanted.has(String(o.type)));
      }
      const deliverySuccess = stringParam(query, 'delivery_success');
      if (deliverySuccess !== undefined) {
        const wanted = booleanParam(deliverySuccess, 'delivery_success');
        filters.push((o) => (data.events.render(o).pending_webhooks === 0) === wanted);
      }
      return filters;
    },
    expand: {},
    render: (o, data) => data.events.render(o),
    retentionSeconds: EVENT_RETENTION_SECONDS,
  },
};

/** Stripe's limit on `types[]` of `GET /v1/events`. */
const MAX_EVENT_TYPES = 20;

/** `type` of `GET /v1/events`: an event name, or a group with `*` as wildcard (`customer.*`). */
function eventTypePattern(type: string): RegExp {
  const escaped = type.replace(/[.+?^${}()|[\]\\]/g, '\\$&').replaceAll('*', '.*');
  return new RegExp(`^${escaped}$`);
}

function booleanParam(value: string, param: string): boolean {
  if (value === 'true') return true;
  if (value === 'false') return false;
  throw invalid(`Invalid boolean: ${value}`, param);
}

/** An invoice's subscription: basil's `parent.subscription_details`, or the legacy field. */
function invoiceSubscription(invoice: StripeObject): string | undefined {
  const parent = invoice.parent as StripeObject | null | undefined;
  const details = parent?.subscription_details as StripeObject | null | undefined;
  return idOf(details?.subscription) ?? idOf(invoice.subscription);
}

const LIST_PARAMS = ['limit', 'starting_after', 'ending_before', 'created', 'expand'];

function checkParams(query: Query, allowed: readonly string[], unsupported: readonly string[]): void {
  for (const name of query.keys()) {
    if (unsupported.includes(name)) {
      throw invalid(`The fake Stripe does not implement the parameter ${name} (Stripe has it)`, name);
    }
    if (!allowed.includes(name)) throw invalid(`Received unknown parameter: ${name}`, name);
  }
}

/** Validated `expand[]`: the expanders to apply, in order. */
function expanders(query: Query, spec: ResourceSpec, prefix: string): Expander[] {
  const value = query.get('expand');
  if (value === undefined) return [];
  if (!Array.isArray(value)) throw invalid('Invalid array', 'expand');
  const chosen: Expander[] = [];
  for (const path of new Set(value)) {
    const expander = path.startsWith(prefix) ? spec.expand[path.slice(prefix.length)] : undefined;
    if (!expander) throw invalid(`This property cannot be expanded (${path}).`, 'expand');
    chosen.push(expander);
  }
  return chosen;
}

function createdRange(query: Query): { gt?: number; gte?: number; lt?: number; lte?: number } | undefined {
  const value = query.get('created');
  if (value === undefined) return undefined;
  if (typeof value === 'string') {
    const at = integer(value, 'created');
    return { gte: at, lte: at };
  }
  if (Array.isArray(value)) throw invalid('Invalid hash', 'created');
  const range: Record<string, number> = {};
  for (const [key, bound] of Object.entries(value)) {
    if (!['gt', 'gte', 'lt', 'lte'].includes(key)) {
      throw invalid(`Received unknown parameter: created[${key}]`, `created[${key}]`);
    }
    range[key] = integer(bound, `created[${key}]`);
  }
  return range;
}

/** Whether an object is still served (Stripe keeps events 30 days). */
function retained(spec: ResourceSpec, object: StripeObject, now: number): boolean {
  return spec.retentionSeconds === undefined || (object.created as number) >= now - spec.retentionSeconds;
}

function listObjects(spec: ResourceSpec, data: AccountData, query: Query, url: string, now: number): unknown {
  checkParams(query, [...LIST_PARAMS, ...spec.params], spec.unsupported);
  const collection = data.collection(spec.collection);
  const limitText = stringParam(query, 'limit');
  const limit = limitText === undefined || limitText === '' ? 10 : integer(limitText, 'limit');
  if (limit < 1) throw invalid('This value must be greater than or equal to 1.', 'limit');
  if (limit > 100) throw invalid('This value must be less than or equal to 100.', 'limit');
  const startingAfter = stringParam(query, 'starting_after') || undefined;
  const endingBefore = stringParam(query, 'ending_before') || undefined;
  if (startingAfter !== undefined && endingBefore !== undefined) {
    throw invalid(
      'You may only specify one of these parameters: ending_before, starting_after.',
      'ending_before',
    );
  }
  for (const [param, id] of [
    ['starting_after', startingAfter],
    ['ending_before', endingBefore],
  ] as const) {
    const cursor = id === undefined ? undefined : collection.get(id);
    if (id !== undefined && (!cursor || !retained(spec, cursor, now))) {
      throw noSuch(collection.objectName, id, param, 400);
    }
  }
  let created = createdRange(query);
  if (spec.retentionSeconds !== undefined) {
    const oldest = now - spec.retentionSeconds;
    created = { ...created, gte: Math.max(created?.gte ?? oldest, oldest) };
  }
  const expand = expanders(query, spec, 'data.');
  const filters = spec.filters(query, data);
  const page = collection.page({
    limit,
    ...(startingAfter === undefined ? {} : { startingAfter }),
    ...(endingBefore === undefined ? {} : { endingBefore }),
    ...(created === undefined ? {} : { created }),
    ...(filters.length === 0 ? {} : { filter: (o: StripeObject) => filters.every((f) => f(o)) }),
  });
  const render = spec.render ?? ((o: StripeObject) => o);
  return {
    object: 'list',
    data: page.data.map((object) => expand.reduce((o, expander) => expander(o, data), render(object, data))),
    has_more: page.hasMore,
    url,
  };
}

function retrieveObject(
  spec: ResourceSpec,
  data: AccountData,
  query: Query,
  id: string,
  now: number,
): unknown {
  checkParams(query, ['expand'], []);
  const collection = data.collection(spec.collection);
  const object = collection.get(id);
  if (!object || !retained(spec, object, now)) throw noSuch(collection.objectName, id, 'id', 404);
  const render = spec.render ?? ((o: StripeObject) => o);
  return expanders(query, spec, '').reduce((o, expander) => expander(o, data), render(object, data));
}

/** The emulator's consent screen: two buttons that send the browser back like Stripe's would. */
function consentPage(query: URLSearchParams, accountId: string): string {
  const link = (decision: string) => {
    const next = new URLSearchParams(query);
    next.set('decision', decision);
    return `/oauth/authorize?${escapeHtml(next.toString())}`;
  };
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Stripe (local emulator): connect Compass</title>
<style>body{font:15px/1.5 system-ui,sans-serif;max-width:32rem;margin:4rem auto;color:#1d2433}
a.button{display:inline-block;padding:.6rem 1.2rem;border-radius:.4rem;margin-right:.5rem;text-decoration:none}
#authorize{background:#635bff;color:#fff}#cancel{border:1px solid #ccc;color:#1d2433}</style></head>
<body><h1>Connect Compass to your Stripe account</h1>
<p>Local Stripe emulator. Compass asks for <code>read_write</code> access to the demo account
<code>${escapeHtml(accountId)}</code>.</p>
<p><a class="button" id="authorize" href="${link('authorize')}">Authorize</a>
<a class="button" id="cancel" href="${link('cancel')}">Cancel</a></p></body></html>`;
}

function escapeHtml(value: string): string {
  return value.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}
