/**
 * The HTTP routes and the Lambda handler behind each one.
 *
 * One table feeds both the CDK stack (one function per entry) and the local dev server, so the
 * two can never disagree about which handler answers which path.
 */
export type HttpMethod = 'GET' | 'POST' | 'PUT' | 'DELETE';

export interface HttpRoute {
  /** Stable logical name: CDK construct ids and log names derive from it. */
  readonly name: string;
  readonly method: HttpMethod;
  /** API Gateway v2 route path (`{param}` placeholders). */
  readonly path: string;
  /**
   * Handler module, relative to the repository root: it exports `handler` (the Lambda's) and
   * `createHandler(deps)` (the same handler over any composition: the local stack's).
   */
  readonly entry: string;
  /** What the function is allowed to touch; the stack grants exactly this and nothing else. */
  readonly access: FunctionAccess;
}

/**
 * Partition key prefixes of the single table (see shared/adapters/dynamodb/*): `TENANT#` the
 * integration row, backfill status and data state (kept, erasing, the sweep's cursor),
 * `STRIPE_ACCOUNT#` account claims, `OAUTH_STATE#` OAuth states, `LEDGER#` the event ledger,
 * `JOURNAL#` the change journal, `REC#` the records.
 */
export type TableKeyPrefix = 'TENANT#' | 'STRIPE_ACCOUNT#' | 'OAUTH_STATE#' | 'LEDGER#' | 'JOURNAL#' | 'REC#';

export type TableItemAction =
  | 'GetItem'
  | 'Query'
  | 'BatchGetItem'
  | 'PutItem'
  | 'UpdateItem'
  | 'DeleteItem'
  | 'BatchWriteItem';

export type SecretAction =
  | 'GetSecretValue'
  | 'PutSecretValue'
  | 'CreateSecret'
  | 'TagResource'
  | 'DeleteSecret';

export type QueueName = 'revocation' | 'backfill' | 'erasure' | 'reconcile';

/**
 * Exactly what one function may do, action by action. The stack turns each entry into its own
 * IAM statement, so a test can show each one is needed (npm run test:iam-mutations).
 */
export interface FunctionAccess {
  /**
   * Item actions on the table, each allowed only on items whose partition key starts with one of
   * the prefixes (`dynamodb:LeadingKeys`). No function scans.
   */
  readonly table?: Partial<Record<TableItemAction, readonly TableKeyPrefix[]>>;
  /**
   * Queries of the `gsi1` index: slug lookups, record lists, the sweep's list of active tenants
   * and the erasures due.
   */
  readonly queryIndex?: true;
  /** The tenants' OAuth tokens (`{prefix}/stripe/oauth/*`). */
  readonly tokens?: readonly SecretAction[];
  /** The tenants' own webhook signing secrets (`{prefix}/stripe/webhook/*`). */
  readonly webhookSecrets?: readonly SecretAction[];
  /** Reads the platform's Stripe secret key. */
  readonly platformKey?: true;
  /** Reads the signing secret of the platform's Connect endpoint. */
  readonly connectWebhookSecret?: true;
  readonly sendTo?: readonly QueueName[];
}

/** Writing a secret: a new version, or the secret itself the first time (tagged with the tenant). */
const SECRET_WRITE: readonly SecretAction[] = ['PutSecretValue', 'CreateSecret', 'TagResource'];

export const httpRoutes: readonly HttpRoute[] = [
  {
    name: 'ConnectStart',
    method: 'GET',
    path: '/api/connect/stripe',
    entry: 'functions/connect-start.ts',
    access: { table: { GetItem: ['TENANT#'], PutItem: ['OAUTH_STATE#'] } },
  },
  {
    name: 'ConnectCallback',
    method: 'GET',
    path: '/api/connect/stripe/callback',
    entry: 'functions/connect-callback.ts',
    access: {
      table: {
        GetItem: ['TENANT#', 'STRIPE_ACCOUNT#'],
        PutItem: ['TENANT#', 'STRIPE_ACCOUNT#'],
        UpdateItem: ['TENANT#'],
        // A switch to another account ends the previous account's backfill (its status item).
        DeleteItem: ['OAUTH_STATE#', 'STRIPE_ACCOUNT#', 'TENANT#'],
      },
      tokens: SECRET_WRITE,
      // Switching to another account deletes the old account's signing secret.
      webhookSecrets: ['DeleteSecret'],
      platformKey: true,
      // Another account's data still held is erased before this account's backfill is queued.
      sendTo: ['revocation', 'backfill', 'erasure'],
    },
  },
  {
    name: 'ConnectStatus',
    method: 'GET',
    path: '/api/connect/stripe/status',
    entry: 'functions/connect-status.ts',
    access: { table: { GetItem: ['TENANT#'] } },
  },
  {
    name: 'WebhookSecret',
    method: 'PUT',
    path: '/api/connect/stripe/webhook-secret',
    entry: 'functions/webhook-secret.ts',
    access: {
      table: { GetItem: ['TENANT#'], UpdateItem: ['TENANT#'] },
      // A save overtaken by a disconnect or an account switch removes what it wrote.
      webhookSecrets: [...SECRET_WRITE, 'DeleteSecret'],
    },
  },
  {
    name: 'Disconnect',
    method: 'DELETE',
    path: '/api/connect/stripe',
    entry: 'functions/disconnect.ts',
    access: {
      table: {
        GetItem: ['TENANT#', 'STRIPE_ACCOUNT#'],
        UpdateItem: ['TENANT#'],
        DeleteItem: ['TENANT#', 'STRIPE_ACCOUNT#'],
      },
      tokens: ['DeleteSecret'],
      webhookSecrets: ['DeleteSecret'],
      platformKey: true,
      // `?erase=now` queues the erasure of the data it would otherwise keep 30 days.
      sendTo: ['revocation', 'erasure'],
    },
  },
  {
    name: 'BackfillRequest',
    method: 'POST',
    path: '/api/connect/stripe/backfill',
    entry: 'functions/backfill-request.ts',
    access: { table: { GetItem: ['TENANT#'], UpdateItem: ['TENANT#'] }, sendTo: ['backfill'] },
  },
  {
    name: 'WebhookTenant',
    method: 'POST',
    path: '/api/webhooks/stripe/{slug}',
    entry: 'functions/webhook-tenant.ts',
    // The tenant's state (one Query per event), the ledger, the journal and the records; reads
    // the tenant's signing secret, never a token. A deauthorization disconnects as the Connect
    // endpoint does (the row, the claim, both secrets; the data is kept, never erased from here).
    access: {
      table: {
        GetItem: ['LEDGER#', 'REC#', 'TENANT#', 'STRIPE_ACCOUNT#'],
        Query: ['TENANT#'],
        PutItem: ['LEDGER#', 'JOURNAL#'],
        UpdateItem: ['LEDGER#', 'REC#', 'TENANT#'],
        DeleteItem: ['LEDGER#', 'TENANT#', 'STRIPE_ACCOUNT#'],
      },
      queryIndex: true,
      tokens: ['DeleteSecret'],
      webhookSecrets: ['GetSecretValue', 'DeleteSecret'],
    },
  },
  {
    name: 'WebhookConnect',
    method: 'POST',
    path: '/api/webhooks/stripe-connect',
    entry: 'functions/webhook-connect.ts',
    // As the tenant endpoint, but the tenant is found by the account's claim, and the signing
    // secret is the platform's.
    access: {
      table: {
        GetItem: ['LEDGER#', 'REC#', 'TENANT#', 'STRIPE_ACCOUNT#'],
        Query: ['TENANT#'],
        PutItem: ['LEDGER#', 'JOURNAL#'],
        UpdateItem: ['LEDGER#', 'REC#', 'TENANT#'],
        DeleteItem: ['LEDGER#', 'TENANT#', 'STRIPE_ACCOUNT#'],
      },
      tokens: ['DeleteSecret'],
      webhookSecrets: ['DeleteSecret'],
      connectWebhookSecret: true,
    },
  },
  {
    name: 'RecordsRead',
    method: 'GET',
    path: '/api/stripe/{collection}',
    entry: 'functions/records-read.ts',
    access: { queryIndex: true },
  },
  {
    // Reads the tenant's subscription history (the table) and its listed orders and customers
    // (the index). Its own path outranks `{collection}` at API Gateway.
    name: 'MetricsRead',
    method: 'GET',
    path: '/api/stripe/metrics',
    entry: 'functions/metrics-read.ts',
    access: { table: { Query: ['REC#'] }, queryIndex: true },
  },
  {
    // The subscription's record names its customer, whose range of the history holds its entries.
    name: 'SubscriptionHistoryRead',
    method: 'GET',
    path: '/api/stripe/subscriptions/{id}/history',
    entry: 'functions/subscription-history-read.ts',
    access: { table: { GetItem: ['REC#'], Query: ['REC#'] } },
  },
];

/** Answers every path no route claims, so unknown routes get the same JSON error shape. */
export const notFoundRoute = {
  name: 'NotFound',
  entry: 'functions/not-found.ts',
  access: {} as FunctionAccess,
} as const;

/** Queue consumers (not HTTP). */
export const revocationWorker = {
  name: 'RevocationWorker',
  entry: 'functions/revocation-worker.ts',
  // Holds the account's claim while revoking, then frees it; re-enqueues its own retries.
  access: {
    table: {
      GetItem: ['TENANT#', 'STRIPE_ACCOUNT#'],
      PutItem: ['STRIPE_ACCOUNT#'],
      DeleteItem: ['STRIPE_ACCOUNT#'],
    },
    platformKey: true,
    sendTo: ['revocation'],
  } as FunctionAccess,
  consumes: 'revocation' as QueueName,
} as const;

/**
 * Receives of one backfill message before SQS moves it to the DLQ; on the last one the worker
 * marks the run failed, so a run never shows `running` forever.
 */
export const BACKFILL_MAX_RECEIVES = 5;

/** The backfill worker: consumes the backfill queue (and sends its own continuations). */
export const backfillWorker = {
  name: 'BackfillWorker',
  entry: 'functions/backfill-worker.ts',
  access: {
    table: {
      GetItem: ['TENANT#', 'REC#'],
      Query: ['JOURNAL#', 'REC#'],
      BatchGetItem: ['REC#'],
      UpdateItem: ['TENANT#', 'REC#'],
      BatchWriteItem: ['REC#'],
    },
    platformKey: true,
    sendTo: ['backfill'],
  } as FunctionAccess,
  consumes: 'backfill' as QueueName,
} as const;

/**
 * The catch-up sweep: the schedule's tick lists the active tenants (gsi1), queues one sweep each
 * and the erasures that are due; a tenant's sweep reads its account's Events API with the
 * platform key and applies each event as a webhook delivery would (state Query, ledger, journal,
 * records), then saves its cursor on the tenant's data item. Deauthorizations are not swept, so
 * it never disconnects (no secret, claim or row deletion).
 */
export const reconcileWorker = {
  name: 'ReconcileWorker',
  entry: 'functions/reconcile-worker.ts',
  access: {
    table: {
      GetItem: ['LEDGER#', 'REC#'],
      Query: ['TENANT#'],
      PutItem: ['LEDGER#', 'JOURNAL#'],
      UpdateItem: ['LEDGER#', 'REC#', 'TENANT#'],
      DeleteItem: ['LEDGER#'],
    },
    queryIndex: true,
    platformKey: true,
    sendTo: ['reconcile', 'erasure'],
  } as FunctionAccess,
  consumes: 'reconcile' as QueueName,
} as const;

/**
 * The erasure of a tenant's Stripe-derived data: reads keys (Query) and deletes them in batches
 * in the record, journal and ledger partitions only, checkpoints on the tenant's data item, and
 * queues its continuation; when another account connected meanwhile, it queues that account's
 * backfill.
 */
export const erasureWorker = {
  name: 'ErasureWorker',
  entry: 'functions/erasure-worker.ts',
  access: {
    table: {
      GetItem: ['TENANT#'],
      Query: ['REC#', 'JOURNAL#', 'LEDGER#'],
      UpdateItem: ['TENANT#'],
      BatchWriteItem: ['REC#', 'JOURNAL#', 'LEDGER#'],
    },
    sendTo: ['erasure', 'backfill'],
  } as FunctionAccess,
  consumes: 'erasure' as QueueName,
} as const;
