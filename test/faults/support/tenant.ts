import { isDeepStrictEqual } from 'node:util';
import { QueryCommand } from '@aws-sdk/lib-dynamodb';
import { createDocumentClient } from '#shared/adapters/dynamodb/document-client.ts';
import { LOCAL_TABLE_NAME } from '../../../scripts/local/local-stack.ts';
import type { FakeStripe } from '../../../scripts/stripe-emulator/fake-stripe-server.ts';
import { CookieBrowser } from '../../support/cookie-browser.ts';
import { sleep } from './dev-stack-process.ts';

export interface Tenant {
  readonly tenantId: string;
  readonly tenantSlug: string;
  readonly stripeAccountId: string;
}

export type StripeRecord = Record<string, unknown> & { readonly id: string };
export const COLLECTIONS = ['customers', 'subscriptions', 'orders'] as const;
export type Collection = (typeof COLLECTIONS)[number];

export interface BackfillView {
  readonly status: string | null;
  readonly startedAt: string | null;
  readonly error: string | null;
  readonly result: { customersUpserted: number; subscriptionsCreated: number; ordersCreated: number } | null;
  readonly progress: { phase: string; pages: number; requests: number } | null;
}

/**
 * A tenant's browser session at a local stack, signed in through `/dev/sign-in`. The session
 * cookie is signed with the data folder's key, so it still works after the stack restarts.
 */
export class TenantSession {
  readonly browser = new CookieBrowser();

  constructor(
    readonly tenant: Tenant,
    private baseUrl: string,
  ) {}

  /** After a restart the stack listens on another port. */
  moveTo(url: string): void {
    this.baseUrl = url;
  }

  async signIn(): Promise<void> {
    const query = new URLSearchParams({ tenantId: this.tenant.tenantId, tenantSlug: this.tenant.tenantSlug });
    await this.browser.follow(`${this.baseUrl}/dev/sign-in?${query}`);
  }

  /** OAuth through the fake Stripe's consent screen (approving at once), for this tenant's account. */
  async connect(stripe: FakeStripe): Promise<void> {
    stripe.consent = 'approve';
    stripe.consentAccount = this.tenant.stripeAccountId;
    const visited = await this.browser.follow(`${this.baseUrl}/api/connect/stripe`);
    const landed = visited.at(-1) ?? '';
    if (!landed.endsWith('/settings/integrations?connected=stripe')) {
      throw new Error(`connect of ${this.tenant.tenantId} landed on ${landed}`);
    }
  }

  async setWebhookSecret(secret: string): Promise<void> {
    const put = await this.browser.get(`${this.baseUrl}/api/connect/stripe/webhook-secret`, {
      method: 'PUT',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ secret }),
    });
    if (put.status !== 204) throw new Error(`webhook secret refused: ${put.status} ${await put.text()}`);
  }

  get webhookUrl(): string {
    return `${this.baseUrl}/api/webhooks/stripe/${this.tenant.tenantSlug}`;
  }

  async backfill(): Promise<BackfillView> {
    const status = await this.browser.json<{ backfill: BackfillView }>(
      `${this.baseUrl}/api/connect/stripe/status`,
    );
    return status.backfill;
  }

  /** Polls the status route until the backfill is neither queued nor running. */
  async backfillDone(timeoutMs: number): Promise<BackfillView> {
    const deadline = Date.now() + timeoutMs;
    let view = await this.backfill();
    while (view.status === 'queued' || view.status === 'running') {
      if (Date.now() > deadline) {
        throw new Error(`backfill of ${this.tenant.tenantId} still ${view.status} after ${timeoutMs} ms`);
      }
      await sleep(100);
      view = await this.backfill();
    }
    return view;
  }

  /** Every page of a read-API collection (limit=100), following `nextCursor`. */
  async readAll(collection: Collection): Promise<StripeRecord[]> {
    const all: StripeRecord[] = [];
    let cursor: string | null = null;
    for (let pages = 0; ; pages++) {
      if (pages > 1000) throw new Error(`${collection}: the cursor never ends`);
      const query: string = `limit=100${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ''}`;
      const response = await this.browser.get(`${this.baseUrl}/api/stripe/${collection}?${query}`);
      if (response.status !== 200) {
        throw new Error(`GET ${collection}: ${response.status} ${await response.text()}`);
      }
      const page = (await response.json()) as { data: StripeRecord[]; nextCursor: string | null };
      all.push(...page.data);
      cursor = page.nextCursor;
      if (!cursor) return all;
    }
  }

  async readEverything(): Promise<Record<Collection, StripeRecord[]>> {
    return {
      customers: await this.readAll('customers'),
      subscriptions: await this.readAll('subscriptions'),
      orders: await this.readAll('orders'),
    };
  }
}

export interface LedgerItem {
  readonly status: string;
  readonly eventId: string | undefined;
  readonly outcome: string | undefined;
}

/**
 * The tenant's webhook ledger, which doubles as the audit log (README "Webhooks"): one item
 * per event, COMPLETED with its outcome once applied, INPROGRESS while a delivery holds its lease.
 * Read from the running stack's dynalite, as `npm run backfill` finds it.
 */
export async function readLedger(dynamoEndpoint: string, tenantId: string): Promise<LedgerItem[]> {
  const db = createDocumentClient({ endpoint: dynamoEndpoint });
  const items: LedgerItem[] = [];
  let start: Record<string, unknown> | undefined;
  do {
    const page = await db.send(
      new QueryCommand({
        TableName: LOCAL_TABLE_NAME,
        KeyConditionExpression: 'pk = :pk',
        ExpressionAttributeValues: { ':pk': `LEDGER#${tenantId}` },
        ExclusiveStartKey: start,
      }),
    );
    for (const item of page.Items ?? []) {
      const data = (typeof item.data === 'string' ? JSON.parse(item.data) : item.data) as
        | { eventId?: string; outcome?: string }
        | undefined;
      items.push({ status: String(item.status), eventId: data?.eventId, outcome: data?.outcome });
    }
    start = page.LastEvaluatedKey;
  } while (start);
  return items;
}

/** Records keyed by id, and the ids listed more than once (a cursor or a store that counts twice). */
export function byId(records: readonly StripeRecord[]): {
  map: Map<string, StripeRecord>;
  repeated: string[];
} {
  const map = new Map<string, StripeRecord>();
  const repeated: string[] = [];
  for (const record of records) {
    if (map.has(record.id)) repeated.push(record.id);
    map.set(record.id, record);
  }
  return { map, repeated };
}

/** The ids whose records differ between two reads (missing on one side included). */
export function differingIds(actual: readonly StripeRecord[], expected: readonly StripeRecord[]): string[] {
  const a = byId(actual).map;
  const e = byId(expected).map;
  const ids = new Set([...a.keys(), ...e.keys()]);
  return [...ids].filter((id) => !isDeepStrictEqual(a.get(id), e.get(id))).sort();
}
