import { createHash, randomBytes, randomUUID } from 'node:crypto';
import {
  InvalidRequestException,
  ResourceExistsException,
  ResourceNotFoundException,
} from '@aws-sdk/client-secrets-manager';
import { ACCOUNT, queueUrl, REGION } from './iam/aws-requests.ts';

/**
 * In-memory stand-ins for Secrets Manager and SQS, attached to real SDK clients as the last
 * middleware before the network: the SDK builds and checks each command as usual (and the IAM
 * middleware sees it), then the stand-in answers instead of AWS.
 */

interface StandInClient {
  readonly middlewareStack: {
    add(
      middleware: (
        next: unknown,
        context: { commandName?: string },
      ) => (args: { input: Record<string, unknown> }) => Promise<{ output: unknown; response: unknown }>,
      options: { step: 'build'; priority: 'low'; name: string },
    ): void;
  };
}

function answerWith(
  client: unknown,
  name: string,
  answer: (operation: string, input: Record<string, unknown>) => Record<string, unknown>,
): void {
  (client as StandInClient).middlewareStack.add(
    (_next, context) => async (args) => {
      const operation = (context.commandName ?? '').replace(/Command$/, '');
      return {
        output: { ...answer(operation, args.input), $metadata: { httpStatusCode: 200 } },
        response: {},
      };
    },
    { step: 'build', priority: 'low', name },
  );
}

interface StoredSecret {
  readonly arn: string;
  value: string;
  readonly tags: Record<string, string>;
}

/** Secrets by name; ARNs carry a random six-character suffix, as Secrets Manager's do. */
export class InMemorySecretsManager {
  private readonly secrets = new Map<string, StoredSecret>();

  attach(client: unknown): void {
    answerWith(client, 'inMemorySecretsManager', (operation, input) => this.answer(operation, input));
  }

  /** The ARN IAM checks: the secret's own, or the one it would get (for a missing secret). */
  arnOf(nameOrArn: string): string {
    const name = this.nameOf(nameOrArn);
    return this.secrets.get(name)?.arn ?? `${arnPrefix}${name}-AbCdEf`;
  }

  seed(name: string, value: string): void {
    this.secrets.set(name, { arn: newArn(name), value, tags: {} });
  }

  private nameOf(nameOrArn: string): string {
    if (!nameOrArn.startsWith(arnPrefix)) return nameOrArn;
    return nameOrArn.slice(arnPrefix.length).replace(/-[A-Za-z0-9]{6}$/, '');
  }

  private answer(operation: string, input: Record<string, unknown>): Record<string, unknown> {
    const name = this.nameOf(String(input.SecretId ?? input.Name));
    const existing = this.secrets.get(name);
    const missing = () =>
      new ResourceNotFoundException({
        message: "Secrets Manager can't find the specified secret.",
        $metadata: {},
      });
    switch (operation) {
      case 'GetSecretValue':
        if (!existing) throw missing();
        return { ARN: existing.arn, Name: name, SecretString: existing.value, VersionId: randomUUID() };
      case 'DescribeSecret':
        if (!existing) throw missing();
        return { ARN: existing.arn, Name: name };
      case 'PutSecretValue':
        if (!existing) throw missing();
        existing.value = String(input.SecretString);
        return { ARN: existing.arn, Name: name, VersionId: randomUUID() };
      case 'CreateSecret': {
        if (existing) {
          throw new ResourceExistsException({ message: `The secret ${name} already exists.`, $metadata: {} });
        }
        if (typeof input.SecretString !== 'string') {
          throw new InvalidRequestException({ message: 'SecretString is required here', $metadata: {} });
        }
        const tags = Object.fromEntries(
          ((input.Tags ?? []) as { Key: string; Value: string }[]).map((t) => [t.Key, t.Value]),
        );
        const secret = { arn: newArn(name), value: input.SecretString, tags };
        this.secrets.set(name, secret);
        return { ARN: secret.arn, Name: name, VersionId: randomUUID() };
      }
      case 'DeleteSecret':
        if (!existing) throw missing();
        this.secrets.delete(name);
        return { ARN: existing.arn, Name: name, DeletionDate: new Date() };
      default:
        throw new Error(`The Secrets Manager stand-in does not implement ${operation}`);
    }
  }
}

const arnPrefix = `arn:aws:secretsmanager:${REGION}:${ACCOUNT}:secret:`;
const SUFFIX_ALPHABET = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789';
function newArn(name: string): string {
  const suffix = [...randomBytes(6)].map((b) => SUFFIX_ALPHABET[b % SUFFIX_ALPHABET.length]).join('');
  return `${arnPrefix}${name}-${suffix}`;
}

export interface SentMessage {
  readonly queueName: string;
  readonly body: string;
  readonly delaySeconds: number;
}

/** Queues that keep what was sent to them, in order. */
export class InMemorySqs {
  readonly sent: SentMessage[] = [];

  constructor(private readonly queueNames: readonly string[]) {}

  urlOf(name: string): string {
    return queueUrl(name);
  }

  attach(client: unknown): void {
    answerWith(client, 'inMemorySqs', (operation, input) => {
      const queueName = String(input.QueueUrl).split('/').pop() ?? '';
      if (!this.queueNames.includes(queueName) || input.QueueUrl !== queueUrl(queueName)) {
        throw sqsError('QueueDoesNotExist', 'The specified queue does not exist.');
      }
      if (operation === 'SendMessage') return this.accept(queueName, input);
      if (operation === 'SendMessageBatch') return this.acceptBatch(queueName, input);
      throw new Error(`The SQS stand-in does not implement ${operation}`);
    });
  }

  private accept(queueName: string, message: Record<string, unknown>) {
    const delaySeconds = Number(message.DelaySeconds ?? 0);
    if (!Number.isInteger(delaySeconds) || delaySeconds < 0 || delaySeconds > 900) {
      throw sqsError('InvalidParameterValue', 'Value for parameter DelaySeconds is invalid.');
    }
    const body = String(message.MessageBody);
    this.sent.push({ queueName, body, delaySeconds });
    // The SDK checks the MD5 of what SQS received against what it sent, as SQS answers it.
    return { MessageId: randomUUID(), MD5OfMessageBody: createHash('md5').update(body).digest('hex') };
  }

  /** As SQS: 1 to 10 entries with distinct ids, each sent (or refused) on its own. */
  private acceptBatch(queueName: string, input: Record<string, unknown>) {
    const entries = (input.Entries ?? []) as Record<string, unknown>[];
    if (entries.length === 0)
      throw sqsError('EmptyBatchRequest', 'There should be at least one entry in the request.');
    if (entries.length > 10)
      throw sqsError('TooManyEntriesInBatchRequest', 'Maximum number of entries per request are 10.');
    const ids = entries.map((entry) => String(entry.Id));
    if (new Set(ids).size !== ids.length)
      throw sqsError('BatchEntryIdsNotDistinct', 'Two or more batch entries have the same Id.');
    // The whole batch is checked before any of it is kept, as SQS refuses an invalid request whole.
    for (const entry of entries) {
      const delay = Number(entry.DelaySeconds ?? 0);
      if (!Number.isInteger(delay) || delay < 0 || delay > 900) {
        throw sqsError('InvalidParameterValue', 'Value for parameter DelaySeconds is invalid.');
      }
    }
    return {
      Successful: entries.map((entry) => ({ Id: String(entry.Id), ...this.accept(queueName, entry) })),
      Failed: [],
    };
  }
}

function sqsError(name: string, message: string): Error {
  return Object.assign(new Error(message), { name, $fault: 'client', $metadata: { httpStatusCode: 400 } });
}
