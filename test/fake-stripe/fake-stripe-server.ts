import { randomBytes } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

/**
 * A fake Stripe that speaks HTTP like Stripe does, for the real `stripe` SDK to talk to.
 *
 * It implements what the connector uses: `GET /oauth/authorize` (a consent screen that answers
 * at once), `POST /oauth/token` (single-use, expiring codes;
 * `invalid_grant` on reuse, which like Stripe also revokes the tokens the code gave) and
 * `POST /oauth/deauthorize` (`invalid_client` for an account that is not connected). Faults
 * (5xx, 429, dropped connections) can be queued per path, and every request is recorded.
 */
export interface FakeStripeOptions {
  readonly secretKey?: string;
  readonly clientId?: string;
  /** How long an authorization code stays valid (Stripe: minutes). */
  readonly codeTtlMs?: number;
}

export interface RecordedRequest {
  readonly method: string;
  readonly path: string;
  readonly headers: Readonly<Record<string, string | string[] | undefined>>;
  readonly params: Readonly<Record<string, string>>;
}

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
  /** Accounts connected to the platform, with the access tokens issued for them. */
  readonly connected = new Map<string, Set<string>>();
  private readonly codes = new Map<string, IssuedCode>();
  private readonly faults = new Map<string, Fault[]>();
  private readonly codeTtlMs: number;
  /** What the consent screen answers: approve (with `consentAccount`) or the tenant's Cancel. */
  consent: 'approve' | 'deny' = 'approve';
  consentAccount = 'acct_1FakeClinic000001';
  private server: Server | undefined;
  private baseUrl = '';

  constructor(options: FakeStripeOptions = {}) {
    this.secretKey = options.secretKey ?? 'sk_test_fakeplatformkey000000000000';
    this.clientId = options.clientId ?? 'ca_fakeclientid0000';
    this.codeTtlMs = options.codeTtlMs ?? 5 * 60_000;
  }

  get url(): string {
    return this.baseUrl;
  }

  async start(port = 0): Promise<string> {
    this.server = createServer((req, res) => {
      this.handle(req, res).catch((error: unknown) => send(res, 500, { error: { message: String(error) } }));
    });
    await new Promise<void>((resolve) => this.server?.listen(port, '127.0.0.1', resolve));
    const { port: actual } = this.server.address() as AddressInfo;
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

  requestsTo(path: string): RecordedRequest[] {
    return this.requests.filter((r) => r.path === path);
  }

  isConnected(accountId: string): boolean {
    return this.connected.has(accountId);
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
    const raw = await readBody(req);
    const params = Object.fromEntries(new URLSearchParams(raw));
    this.requests.push({ method: req.method ?? 'GET', path: url.pathname, headers: req.headers, params });

    const fault = this.faults.get(url.pathname)?.shift();
    if (fault && 'delayMs' in fault) {
      await new Promise((resolve) => setTimeout(resolve, fault.delayMs));
      if (res.destroyed || req.socket.destroyed) return;
    } else if (fault) {
      if ('drop' in fault) {
        req.socket.destroy();
        return;
      }
      send(res, fault.status, fault.body ?? { error: { type: 'api_error', message: 'Injected fault' } });
      return;
    }
    if (req.method === 'GET' && url.pathname === '/oauth/authorize') return this.authorize(url, res);
    if (req.headers.authorization !== `Bearer ${this.secretKey}`) {
      send(res, 401, { error: 'invalid_client', error_description: 'Invalid API Key provided' });
      return;
    }
    if (req.method === 'POST' && url.pathname === '/oauth/token') return this.token(params, res);
    if (req.method === 'POST' && url.pathname === '/oauth/deauthorize') return this.deauthorize(params, res);
    send(res, 404, {
      error: {
        type: 'invalid_request_error',
        message: `Unrecognized request URL (${req.method}: ${url.pathname})`,
      },
    });
  }

  /** Stripe's consent screen, decided by `consent` instead of a person: redirects back at once. */
  private authorize(url: URL, res: ServerResponse): void {
    const q = url.searchParams;
    const redirectUri = q.get('redirect_uri');
    if (q.get('client_id') !== this.clientId || q.get('response_type') !== 'code' || !redirectUri) {
      send(res, 400, {
        error: 'invalid_request',
        error_description: 'Unknown client_id or missing parameters',
      });
      return;
    }
    const back = new URL(redirectUri);
    if (this.consent === 'approve') {
      back.searchParams.set('code', this.issueCode(this.consentAccount));
      back.searchParams.set('scope', q.get('scope') ?? 'read_write');
    } else {
      back.searchParams.set('error', 'access_denied');
      back.searchParams.set('error_description', 'The user denied your request');
    }
    const state = q.get('state');
    if (state !== null) back.searchParams.set('state', state);
    res.writeHead(302, { location: back.toString() });
    res.end();
  }

  private token(params: Record<string, string>, res: ServerResponse): void {
    if (params.grant_type !== 'authorization_code') {
      send(res, 400, {
        error: 'unsupported_grant_type',
        error_description: 'Only authorization_code is supported',
      });
      return;
    }
    const code = params.code ?? '';
    const issued = this.codes.get(code);
    if (!issued || Date.now() - issued.issuedAt > this.codeTtlMs) {
      send(res, 400, {
        error: 'invalid_grant',
        error_description: `Authorization code does not exist: ${code}`,
      });
      return;
    }
    if (issued.used) {
      // Stripe treats a reused code as a stolen one and revokes what it issued.
      if (issued.accessToken) this.connected.get(issued.accountId)?.delete(issued.accessToken);
      send(res, 400, {
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
    send(res, 200, {
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
      send(res, 401, {
        error: 'invalid_client',
        error_description: `No such application: '${params.client_id ?? ''}'`,
      });
      return;
    }
    if (!this.connected.has(accountId)) {
      send(res, 401, {
        error: 'invalid_client',
        error_description: `This application is not connected to stripe account ${accountId}, or that account does not exist.`,
      });
      return;
    }
    this.connected.delete(accountId);
    send(res, 200, { stripe_user_id: accountId });
  }
}

function send(res: ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body);
  res.writeHead(status, {
    'content-type': 'application/json',
    'content-length': Buffer.byteLength(text),
    'request-id': `req_${randomBytes(7).toString('hex')}`,
  });
  res.end(text);
}

async function readBody(req: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}
