import { sign as signPayload } from '../../scripts/stripe-emulator/stripe-signature.ts';
import type { Handlers } from './handlers.ts';
import { bearer, beginConnect, callbackQuery } from './handlers.ts';
import { CONNECT_WEBHOOK_SECRET, type TestApp } from './harness.ts';
import { asFunction } from './iam/iam-enforcement.ts';

export { sign } from '../../scripts/stripe-emulator/stripe-signature.ts';

/** Connects a tenant through the real OAuth handlers and configures its webhook secret. */
export async function connectWithSecret(
  app: TestApp,
  handlers: Handlers,
  token: string,
  accountId: string,
  secret: string,
): Promise<void> {
  const flow = await beginConnect(handlers, token);
  const callback = await handlers.callback({
    query: callbackQuery({ code: app.stripe.issueCode(accountId), state: flow.state }),
    cookies: [flow.cookie],
  });
  if (!callback.headers.location?.endsWith('connected=stripe'))
    throw new Error(`connect failed: ${callback.headers.location}`);
  const put = await handlers.webhookSecret({ headers: bearer(token), body: JSON.stringify({ secret }) });
  if (put.statusCode !== 204) throw new Error(`webhook secret refused: ${put.body}`);
}

/** Every page of a read-API collection, following `nextCursor`. */
export async function readAll(handlers: Handlers, token: string, collection: string, limit = 100) {
  const all: Record<string, unknown>[] = [];
  let cursor: string | null = null;
  do {
    const query: string = `limit=${limit}${cursor ? `&cursor=${cursor}` : ''}`;
    const response = await handlers.records(collection, { headers: bearer(token), query });
    if (response.statusCode !== 200) throw new Error(`read failed: ${response.statusCode} ${response.body}`);
    const page = response.json<{ data: Record<string, unknown>[]; nextCursor: string | null }>();
    all.push(...page.data);
    cursor = page.nextCursor;
  } while (cursor);
  return all;
}

/**
 * A Connect-endpoint delivery through the real receiver (signature, ledger, journal, records), as
 * the WebhookConnect function, even when a test fires it from inside a running backfill.
 */
export function deliverConnectEvent(app: TestApp, event: object) {
  const body = JSON.stringify(event);
  return asFunction('WebhookConnect', () =>
    app.depsFor('WebhookConnect').webhooks.receiveConnectEvent({
      rawBody: Buffer.from(body),
      signature: signPayload(body, CONNECT_WEBHOOK_SECRET),
      invocation: undefined,
    }),
  );
}
