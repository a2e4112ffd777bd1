import {
  type DynamoDBClient,
  InternalServerError,
  ProvisionedThroughputExceededException,
  ThrottlingException,
} from '@aws-sdk/client-dynamodb';
import {
  InternalServiceError,
  type SecretsManagerClient,
  SecretsManagerServiceException,
} from '@aws-sdk/client-secrets-manager';

/**
 * Faults injected into the real SDK clients of a test app (`app.dynamoDb`, `app.secretsManager`),
 * aimed at one operation on one key prefix, so that a test fails exactly one step of a flow.
 *
 * DynamoDB faults sit inside the SDK's retry loop (after its retry middleware, before the
 * request reaches dynalite): every attempt the SDK makes is failed and counted, so a fault that
 * outlasts the SDK's `maxAttempts` (3) is what the application itself sees. Secrets Manager is
 * answered by an in-memory stand-in before the SDK's retry step; its faults sit just before the
 * stand-in, so each call fails once, like an outage that outlasted the SDK's retries.
 */

type AttributeValue = { readonly S?: string };
type Marshalled = Readonly<Record<string, AttributeValue | undefined>>;

export interface KeyMatch {
  /** Prefix of the partition key (`pk`) the request names. */
  readonly pk: string;
  /** Prefix of the sort key (`sk`), when the request names one. */
  readonly sk?: string;
}

export interface FaultOptions {
  /** Matching requests let through before the fault starts (e.g. fail from the 3rd batch on). */
  readonly after?: number;
  /** Matching requests failed, then the fault is spent; default: all of them until removed. */
  readonly times?: number;
  /** Runs on every failed request (e.g. to move a test clock: time passes while throttled). */
  readonly onHit?: () => void;
}

export interface DynamoFault extends FaultOptions {
  /** The DynamoDB operation (`PutItem`, `UpdateItem`, `Query`, `BatchWriteItem`, …). */
  readonly operation: string;
  readonly key: KeyMatch;
  /** A new SDK exception per failed attempt. */
  readonly error: () => Error;
}

export interface SecretsFault extends FaultOptions {
  /** The Secrets Manager operations failed (`GetSecretValue`, `PutSecretValue`, …). */
  readonly operations: readonly string[];
  /** Matches the secret's name (`SecretId` or `Name`). */
  readonly secret: (name: string) => boolean;
  readonly error: () => Error;
}

/** One injected fault: how often it fired, and its removal ("the fault is over"). */
export interface ActiveFault {
  readonly hits: number;
  /** Matching requests seen, failed or let through. */
  readonly seen: number;
  remove(): void;
}

interface Stack {
  readonly middlewareStack: {
    add(
      middleware: (
        next: (args: { input: Record<string, unknown> }) => Promise<unknown>,
        context: { commandName?: string },
      ) => (args: { input: Record<string, unknown> }) => Promise<unknown>,
      options: { step: 'build' | 'finalizeRequest'; priority: 'normal' | 'low'; name: string },
    ): void;
  };
}

interface Armed {
  readonly matches: (operation: string, input: Record<string, unknown>) => boolean;
  readonly options: FaultOptions;
  readonly error: () => Error;
  hits: number;
  seen: number;
}

/** The faults of one SDK client; the middleware is installed once, on construction. */
class FaultSet {
  private readonly armed = new Set<Armed>();

  constructor(client: unknown, step: 'build' | 'finalizeRequest', priority: 'normal' | 'low') {
    (client as Stack).middlewareStack.add(
      (next, context) => async (args) => {
        const operation = (context.commandName ?? '').replace(/Command$/, '');
        for (const fault of this.armed) {
          if (!fault.matches(operation, args.input)) continue;
          fault.seen += 1;
          const { after = 0, times = Number.POSITIVE_INFINITY } = fault.options;
          if (fault.seen <= after || fault.hits >= times) continue;
          fault.hits += 1;
          fault.options.onHit?.();
          throw fault.error();
        }
        return next(args);
      },
      { step, priority, name: `faultInjection-${step}` },
    );
  }

  add(matches: Armed['matches'], error: () => Error, options: FaultOptions): ActiveFault {
    const fault: Armed = { matches, error, options, hits: 0, seen: 0 };
    this.armed.add(fault);
    return {
      get hits() {
        return fault.hits;
      },
      get seen() {
        return fault.seen;
      },
      remove: () => {
        this.armed.delete(fault);
      },
    };
  }

  clear(): void {
    this.armed.clear();
  }
}

export class DynamoDbFaults {
  private readonly faults: FaultSet;

  constructor(client: DynamoDBClient) {
    // After the retry middleware (finalizeRequest, high): inside the SDK's retry loop.
    this.faults = new FaultSet(client, 'finalizeRequest', 'low');
  }

  /**
   * Faults for `client`, whose retries keep their number and their decisions (what is retried,
   * the retry quota) but not their waits: the SDK's jittered back-off (up to 1 s, then 2 s, for
   * a throttled call) would make a matrix of throttled calls take minutes.
   */
  static async on(client: DynamoDBClient): Promise<DynamoDbFaults> {
    const strategy = (await client.config.retryStrategy()) as object & { retryBackoffStrategy?: unknown };
    if (!('retryBackoffStrategy' in strategy)) throw new Error('Unexpected SDK retry strategy');
    strategy.retryBackoffStrategy = { setDelayBase: () => undefined, computeNextBackoffDelay: () => 0 };
    return new DynamoDbFaults(client);
  }

  inject(fault: DynamoFault): ActiveFault {
    return this.faults.add(
      (operation, input) =>
        operation === fault.operation &&
        keysOf(operation, input).some(
          (key) =>
            key.pk.startsWith(fault.key.pk) &&
            (fault.key.sk === undefined || (key.sk ?? '').startsWith(fault.key.sk)),
        ),
      fault.error,
      fault,
    );
  }

  clear(): void {
    this.faults.clear();
  }
}

export class SecretsManagerFaults {
  private readonly faults: FaultSet;

  constructor(client: SecretsManagerClient) {
    // After the IAM check (build, high), before the in-memory stand-in answers (build, low).
    this.faults = new FaultSet(client, 'build', 'normal');
  }

  inject(fault: SecretsFault): ActiveFault {
    return this.faults.add(
      (operation, input) =>
        fault.operations.includes(operation) && fault.secret(String(input.SecretId ?? input.Name ?? '')),
      fault.error,
      fault,
    );
  }

  clear(): void {
    this.faults.clear();
  }
}

/** The (pk, sk) pairs a marshalled DynamoDB request names (a Query: every string value it binds). */
export function keysOf(operation: string, input: Record<string, unknown>): { pk: string; sk?: string }[] {
  const pair = (item: Marshalled | undefined) =>
    item?.pk?.S === undefined ? [] : [{ pk: item.pk.S, ...(item.sk?.S ? { sk: item.sk.S } : {}) }];
  switch (operation) {
    case 'GetItem':
    case 'DeleteItem':
    case 'UpdateItem':
      return pair(input.Key as Marshalled);
    case 'PutItem':
      return pair(input.Item as Marshalled);
    case 'Query':
    case 'Scan': {
      const values = Object.values((input.ExpressionAttributeValues ?? {}) as Marshalled);
      return values.flatMap((value) => (value?.S === undefined ? [] : [{ pk: value.S }]));
    }
    case 'BatchWriteItem': {
      const tables = Object.values((input.RequestItems ?? {}) as Record<string, unknown[]>);
      return tables.flat().flatMap((request) => {
        const r = request as { PutRequest?: { Item?: Marshalled }; DeleteRequest?: { Key?: Marshalled } };
        return pair(r.PutRequest?.Item ?? r.DeleteRequest?.Key);
      });
    }
    case 'BatchGetItem': {
      const tables = Object.values((input.RequestItems ?? {}) as Record<string, { Keys?: Marshalled[] }>);
      return tables.flatMap((table) => (table.Keys ?? []).flatMap(pair));
    }
    default:
      return [];
  }
}

/** What DynamoDB answers a request over a partition's throughput (HTTP 400, retried as throttling). */
export const provisionedThroughputExceeded = () =>
  new ProvisionedThroughputExceededException({
    $metadata: { httpStatusCode: 400 },
    message:
      'The level of configured provisioned throughput for the table was exceeded. Consider increasing your provisioning level with the UpdateTable API.',
  });

/** An on-demand table's throttling answer (HTTP 400, retried as throttling). */
export const throttlingException = () =>
  new ThrottlingException({
    $metadata: { httpStatusCode: 400 },
    message: 'Rate of requests exceeds the allowed throughput.',
  });

/** DynamoDB's 500 (retried as transient). */
export const dynamoInternalServerError = () =>
  new InternalServerError({ $metadata: { httpStatusCode: 500 }, message: 'Internal server error' });

/** Secrets Manager's own 500. */
export const secretsInternalServiceError = () =>
  new InternalServiceError({
    $metadata: { httpStatusCode: 500 },
    message: 'An error occurred on the server side.',
  });

/** A 503 from Secrets Manager's front end (not a modelled error: the service's base exception). */
export const secretsServiceUnavailable = () =>
  new SecretsManagerServiceException({
    name: 'ServiceUnavailable',
    $fault: 'server',
    $metadata: { httpStatusCode: 503 },
    message: 'Service Unavailable',
  });
