import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import dynalite from 'dynalite';
import { createDynamoDbClient } from '../dynamodb/document-client.ts';
import { createTableIfMissing } from '../dynamodb/table-definition.ts';

/** How long a close waits for requests dynalite is still processing. */
const CLOSE_GRACE_MS = 5000;

export interface RunningDynalite {
  readonly endpoint: string;
  close(): Promise<void>;
}

/**
 * Starts dynalite, the DynamoDB-protocol server the local stack and the tests use. In memory
 * unless `path` is given (the local stack keeps its data under `.data/`).
 */
export async function startDynalite(
  options: { port?: number; path?: string } = {},
): Promise<RunningDynalite> {
  const server: Server = dynalite({
    createTableMs: 0,
    deleteTableMs: 0,
    updateTableMs: 0,
    ...(options.path ? { path: options.path } : {}),
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 0, '127.0.0.1', () => {
      server.off('error', reject);
      resolve();
    });
  });
  // dynalite closes its database when the server closes; a request still being processed then
  // throws "Database is closed" out of dynalite itself. So close lets those finish first.
  let inFlight = 0;
  server.on('request', (_request, response) => {
    inFlight += 1;
    response.on('close', () => {
      inFlight -= 1;
    });
  });
  const { port } = server.address() as AddressInfo;
  return {
    endpoint: `http://127.0.0.1:${port}`,
    close: async () => {
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      server.closeIdleConnections();
      for (let waited = 0; inFlight > 0 && waited < CLOSE_GRACE_MS; waited += 10) {
        await new Promise((resolve) => setTimeout(resolve, 10));
      }
      server.closeAllConnections();
      await closed;
    },
  };
}

/** dynalite with the single table created: what the local stack and the backfill CLI open. */
export async function startDynaliteWithTable(
  tableName: string,
  options: { port?: number; path?: string } = {},
): Promise<RunningDynalite> {
  const dynalite = await startDynalite(options);
  const client = createDynamoDbClient({ endpoint: dynalite.endpoint });
  try {
    await createTableIfMissing(client, tableName);
  } catch (error) {
    await dynalite.close();
    throw error;
  } finally {
    client.destroy();
  }
  return dynalite;
}
