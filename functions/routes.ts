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
  /** Handler module, relative to the repository root; it exports `handler`. */
  readonly entry: string;
  /** What the function is allowed to touch; the stack grants exactly these. */
  readonly needs: readonly FunctionNeed[];
}

export type FunctionNeed =
  | 'table:read'
  | 'table:write'
  | 'credentials:write'
  | 'credentials:read'
  | 'credentials:delete'
  | 'credentials:update'
  | 'platform-key'
  | 'revocation-queue:send'
  | 'backfill-queue:send'
  | 'connect-webhook-secret';

export const httpRoutes: readonly HttpRoute[] = [
  {
    name: 'ConnectStart',
    method: 'GET',
    path: '/api/connect/stripe',
    entry: 'functions/connect-start.ts',
    needs: ['table:write'],
  },
  {
    name: 'ConnectCallback',
    method: 'GET',
    path: '/api/connect/stripe/callback',
    entry: 'functions/connect-callback.ts',
    needs: [
      'table:write',
      'credentials:write',
      'platform-key',
      'revocation-queue:send',
      'backfill-queue:send',
    ],
  },
  {
    name: 'ConnectStatus',
    method: 'GET',
    path: '/api/connect/stripe/status',
    entry: 'functions/connect-status.ts',
    needs: ['table:read'],
  },
  {
    name: 'WebhookSecret',
    method: 'PUT',
    path: '/api/connect/stripe/webhook-secret',
    entry: 'functions/webhook-secret.ts',
    needs: ['table:write', 'credentials:update'],
  },
  {
    name: 'Disconnect',
    method: 'DELETE',
    path: '/api/connect/stripe',
    entry: 'functions/disconnect.ts',
    needs: ['table:write', 'credentials:delete', 'platform-key', 'revocation-queue:send'],
  },
  {
    name: 'BackfillRequest',
    method: 'POST',
    path: '/api/connect/stripe/backfill',
    entry: 'functions/backfill-request.ts',
    needs: ['table:write', 'backfill-queue:send'],
  },
  {
    name: 'WebhookTenant',
    method: 'POST',
    path: '/api/webhooks/stripe/{slug}',
    entry: 'functions/webhook-tenant.ts',
    // Writes records and the ledger; reads the tenant's signing secret; a deauthorization deletes it.
    needs: ['table:write', 'credentials:read', 'credentials:delete'],
  },
  {
    name: 'WebhookConnect',
    method: 'POST',
    path: '/api/webhooks/stripe-connect',
    entry: 'functions/webhook-connect.ts',
    needs: ['table:write', 'credentials:read', 'credentials:delete', 'connect-webhook-secret'],
  },
  {
    name: 'RecordsRead',
    method: 'GET',
    path: '/api/stripe/{collection}',
    entry: 'functions/records-read.ts',
    needs: ['table:read'],
  },
];

/** Answers every path no route claims, so unknown routes get the same JSON error shape. */
export const notFoundRoute = {
  name: 'NotFound',
  entry: 'functions/not-found.ts',
} as const;

/** Queue consumers (not HTTP). */
export const revocationWorker = {
  name: 'RevocationWorker',
  entry: 'functions/revocation-worker.ts',
  needs: ['table:read', 'platform-key', 'revocation-queue:send'] as readonly FunctionNeed[],
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
  needs: ['table:write', 'platform-key', 'backfill-queue:send'] as readonly FunctionNeed[],
} as const;
