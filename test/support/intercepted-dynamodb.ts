import type { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { createDocumentClient } from '#shared/adapters/dynamodb/document-client.ts';

export type Send = (command: unknown) => Promise<unknown>;

/**
 * A document client on dynalite whose every `send` goes through `hook`, which may act before or
 * after forwarding it with `send`: how tests put an event inside a batch's read-write window.
 */
export function interceptedDocumentClient(
  endpoint: string,
  hook: (command: unknown, send: Send) => Promise<unknown>,
): DynamoDBDocumentClient {
  const db = createDocumentClient({ endpoint });
  const send = db.send.bind(db) as Send;
  return new Proxy(db, {
    get(target, property, receiver) {
      if (property !== 'send') return Reflect.get(target, property, receiver);
      return (command: unknown) => hook(command, send);
    },
  });
}
