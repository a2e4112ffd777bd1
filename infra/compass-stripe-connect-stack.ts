import { Duration, Stack, type StackProps, Validations } from 'aws-cdk-lib';
import type { Key } from 'aws-cdk-lib/aws-kms';
import { SqsEventSource } from 'aws-cdk-lib/aws-lambda-event-sources';
import { Secret } from 'aws-cdk-lib/aws-secretsmanager';
import type { IQueue } from 'aws-cdk-lib/aws-sqs';
import type { Construct } from 'constructs';
import {
  backfillWorker,
  erasureWorker,
  type FunctionAccess,
  httpRoutes,
  notFoundRoute,
  type QueueName,
  reconcileWorker,
  revocationWorker,
} from '../functions/routes.ts';
import { AlarmNotifications } from './alarm-notifications.ts';
import { Alarms } from './alarms.ts';
import { createBackfillConcurrencyParameter } from './backfill-concurrency-parameter.ts';
import {
  ERASURE_WORKER_CONCURRENCY,
  FUNCTION_MEMORY_MB,
  NOT_FOUND_CAPACITY,
  RECONCILE_WORKER_CONCURRENCY,
  REVOCATION_WORKER_CONCURRENCY,
  routeCapacity,
  routeReservedConcurrency,
} from './capacity-model.ts';
import { createConfigParameters } from './config-parameters.ts';
import { type AccessResources, grantAccess } from './function-permissions.ts';
import { ConnectorHttpApi } from './http-api.ts';
import { createLogEncryptionKey } from './log-encryption-key.ts';
import { Queues } from './queues.ts';
import { ReconcileSchedule } from './reconcile-schedule.ts';
import { ServiceFunction } from './service-function.ts';
import { Storage, tableSchema } from './storage.ts';

export const DEFAULT_CREDENTIALS_SECRET_PREFIX = 'compass-stripe-connect';

/** API Gateway gives up on an integration after 30 s; a handler that needs 10 s is already broken. */
export const HTTP_FUNCTION_TIMEOUT = Duration.seconds(10);
/** One revocation batch: a few `oauth.deauthorize` calls, each retried by the SDK. */
export const REVOCATION_WORKER_TIMEOUT = Duration.seconds(60);
/** Lambda's maximum: a backfill slice runs 14 minutes and hands over (the run stops 1 min early). */
export const BACKFILL_WORKER_TIMEOUT = Duration.minutes(15);
/**
 * A sweep takes about a second and the tick for 10,000 tenants about 20 s; a sweep of an account
 * with a backlog (after an outage) hands over before the deadline and continues in a new message.
 */
export const RECONCILE_WORKER_TIMEOUT = Duration.minutes(5);
/** One erasure step: 150,000 deletes at the worker's pace at most, then a checkpoint and its continuation. */
export const ERASURE_WORKER_TIMEOUT = Duration.minutes(5);

/** The characters Secrets Manager allows in a name, without a trailing slash. */
const SECRET_PREFIX = /^[A-Za-z0-9_+=.@-]+(\/[A-Za-z0-9_+=.@-]+)*$/;

export interface CompassStripeConnectStackProps extends StackProps {
  /**
   * Name prefix of the per-tenant credential secrets, `{prefix}/stripe/{tenantId}`. Functions
   * may touch only secrets under it.
   * @default 'compass-stripe-connect'
   */
  readonly credentialsSecretPrefix?: string;
}

/** A function of functions/routes.ts: an HTTP route, the 404 handler or a queue consumer. */
interface FunctionDefinition {
  readonly name: string;
  readonly entry: string;
  readonly access: FunctionAccess;
  /** The queue whose event source invokes it, if any. */
  readonly consumes?: QueueName;
}

/**
 * The Stripe Connect connector: an HTTP API with one function per route, the table, the
 * revocation, backfill, erasure and reconcile queues, their workers, the schedule of the
 * catch-up sweep, and the alarms (README "Architecture").
 */
export class CompassStripeConnectStack extends Stack {
  readonly storage: Storage;
  readonly queues: Queues;
  readonly httpApi: ConnectorHttpApi;
  readonly alarms: Alarms;
  readonly alarmNotifications: AlarmNotifications;
  readonly reconcileSchedule: ReconcileSchedule;
  /** Encrypts every log group. */
  readonly logKey: Key;
  /** Every function of the stack, by the name routes.ts gives it. */
  readonly functions = new Map<string, ServiceFunction>();

  private readonly configEnvironment: Readonly<Record<string, string>>;
  private readonly accessResources: AccessResources;

  constructor(scope: Construct, id: string, props: CompassStripeConnectStackProps = {}) {
    super(scope, id, {
      description: 'Compass Stripe Connect connector: OAuth, webhooks, backfill and catch-up sweeps',
      ...props,
    });

    const credentialsSecretPrefix = props.credentialsSecretPrefix ?? DEFAULT_CREDENTIALS_SECRET_PREFIX;
    if (!SECRET_PREFIX.test(credentialsSecretPrefix)) {
      throw new Error(
        `credentialsSecretPrefix "${credentialsSecretPrefix}" is not a Secrets Manager name prefix`,
      );
    }

    const config = createConfigParameters(this);
    const backfillConcurrency = createBackfillConcurrencyParameter(this);
    this.configEnvironment = config.environment;
    this.logKey = createLogEncryptionKey(this, 'LogKey');
    this.alarmNotifications = new AlarmNotifications(this, 'AlarmNotifications');
    this.storage = new Storage(this, 'Storage');
    this.queues = new Queues(this, 'Queues', {
      revocationWorkerTimeout: REVOCATION_WORKER_TIMEOUT,
      backfillWorkerTimeout: BACKFILL_WORKER_TIMEOUT,
      erasureWorkerTimeout: ERASURE_WORKER_TIMEOUT,
      reconcileWorkerTimeout: RECONCILE_WORKER_TIMEOUT,
    });
    this.accessResources = {
      table: this.storage.table,
      credentialsSecretPrefix,
      platformKeySecret: Secret.fromSecretNameV2(this, 'PlatformKeySecret', config.platformKeySecretName),
      connectWebhookSecret: Secret.fromSecretNameV2(
        this,
        'ConnectWebhookSecret',
        config.connectWebhookSecretName,
      ),
      queues: {
        revocation: this.queues.revocation.queue,
        backfill: this.queues.backfill.queue,
        erasure: this.queues.erasure.queue,
        reconcile: this.queues.reconcile.queue,
      },
    };

    // HTTP functions: one per route, plus the JSON 404 behind `$default`.
    for (const route of httpRoutes) {
      const capacity = routeCapacity(route.name);
      this.addFunction(route, {
        description: `${route.method} ${route.path}`,
        timeout: HTTP_FUNCTION_TIMEOUT,
        memorySize: FUNCTION_MEMORY_MB[capacity.kind],
        reservedConcurrency: routeReservedConcurrency(capacity),
      });
    }
    const notFound = this.addFunction(notFoundRoute, {
      description: 'JSON 404 for unknown routes',
      timeout: HTTP_FUNCTION_TIMEOUT,
      memorySize: FUNCTION_MEMORY_MB['not-found'],
      reservedConcurrency: routeReservedConcurrency(NOT_FOUND_CAPACITY),
    });
    this.httpApi = new ConnectorHttpApi(this, 'HttpApi', {
      routes: httpRoutes,
      handlers: new Map(httpRoutes.map((route) => [route.name, this.functionNamed(route.name)])),
      notFoundHandler: notFound.function,
      logKey: this.logKey,
    });

    // Queue workers.
    const revocation = this.addQueueWorker(revocationWorker, this.queues.revocation.queue, {
      description: 'Retries Stripe OAuth revocations that failed at disconnect',
      timeout: REVOCATION_WORKER_TIMEOUT,
      batchSize: 5,
      memorySize: FUNCTION_MEMORY_MB.revocation,
      concurrency: REVOCATION_WORKER_CONCURRENCY,
    });
    // One message per invocation: a run owns the whole 15 minutes, stops a minute early and
    // re-enqueues its continuation. BackfillConcurrency bounds how many tenants are read at once.
    const backfill = this.addQueueWorker(backfillWorker, this.queues.backfill.queue, {
      description: "Imports a tenant's last 90 days of Stripe history, resumably",
      timeout: BACKFILL_WORKER_TIMEOUT,
      batchSize: 1,
      memorySize: FUNCTION_MEMORY_MB.backfill,
      concurrency: backfillConcurrency,
    });
    // cdk-nag's LambdaConcurrency rule cannot read a parameter's value at synthesis.
    Validations.of(backfill.function).acknowledge({
      id: 'HIPAA.Security-LambdaConcurrency',
      reason:
        'Reserved concurrency is set, to the BackfillConcurrency parameter (a Ref, bounded by its MinValue ' +
        'and MaxValue), which cdk-nag cannot resolve at synthesis and so reports as unverifiable.',
    });

    // One message per invocation: a tick or one tenant's sweep, each with its own deadline.
    const reconcile = this.addQueueWorker(reconcileWorker, this.queues.reconcile.queue, {
      description: "Sweeps each connected account's Stripe Events API for events webhooks missed",
      timeout: RECONCILE_WORKER_TIMEOUT,
      batchSize: 1,
      memorySize: FUNCTION_MEMORY_MB.reconcile,
      concurrency: RECONCILE_WORKER_CONCURRENCY,
    });
    this.reconcileSchedule = new ReconcileSchedule(this, 'ReconcileSchedule', {
      queue: this.queues.reconcile.queue,
    });
    const erasure = this.addQueueWorker(erasureWorker, this.queues.erasure.queue, {
      description: "Erases a disconnected or replaced Stripe account's data, resumably",
      timeout: ERASURE_WORKER_TIMEOUT,
      batchSize: 1,
      memorySize: FUNCTION_MEMORY_MB.erasure,
      concurrency: ERASURE_WORKER_CONCURRENCY,
    });

    this.alarms = new Alarms(this, 'Alarms', {
      action: this.alarmNotifications.action,
      revocationDeadLetterQueue: this.queues.revocation.deadLetterQueue,
      backfillDeadLetterQueue: this.queues.backfill.deadLetterQueue,
      erasureDeadLetterQueue: this.queues.erasure.deadLetterQueue,
      reconcileDeadLetterQueue: this.queues.reconcile.deadLetterQueue,
      backfillQueue: this.queues.backfill.queue,
      reconcileQueue: this.queues.reconcile.queue,
      webhookTenant: this.functionNamed('WebhookTenant'),
      webhookConnect: this.functionNamed('WebhookConnect'),
      revocationWorker: revocation.function,
      backfillWorker: backfill.function,
      reconcileWorker: reconcile.function,
      erasureWorker: erasure.function,
      httpFunctions: [...httpRoutes.map((route) => this.functionNamed(route.name)), notFound.function],
      apiStage: this.httpApi.stage,
      table: this.storage.table,
      tableIndexes: [tableSchema.gsi1.name],
    });
  }

  /** The function routes.ts names `name`; throws if there is none. */
  functionNamed(name: string): ServiceFunction['function'] {
    const fn = this.functions.get(name);
    if (!fn) throw new Error(`No function named ${name}`);
    return fn.function;
  }

  private addFunction(
    definition: FunctionDefinition,
    options: {
      readonly description: string;
      readonly timeout: Duration;
      readonly memorySize: number;
      readonly reservedConcurrency: number;
    },
  ): ServiceFunction {
    if (this.functions.has(definition.name)) {
      throw new Error(`Two functions are named ${definition.name} in functions/routes.ts`);
    }
    const fn = new ServiceFunction(this, definition.name, {
      entry: definition.entry,
      description: options.description,
      timeout: options.timeout,
      environment: this.configEnvironment,
      memorySize: options.memorySize,
      reservedConcurrency: options.reservedConcurrency,
      logKey: this.logKey,
    });
    const environment = grantAccess(fn, definition.access, this.accessResources, definition.consumes);
    for (const [name, value] of Object.entries(environment)) fn.function.addEnvironment(name, value);
    this.functions.set(definition.name, fn);
    return fn;
  }

  private addQueueWorker(
    definition: FunctionDefinition,
    queue: IQueue,
    options: {
      readonly description: string;
      readonly timeout: Duration;
      readonly batchSize: number;
      readonly memorySize: number;
      /** Both the event source's maximum concurrency and the worker's reserved concurrency. */
      readonly concurrency: number;
    },
  ): ServiceFunction {
    const worker = this.addFunction(definition, { ...options, reservedConcurrency: options.concurrency });
    worker.function.addEventSource(
      new SqsEventSource(queue, {
        batchSize: options.batchSize,
        // Equal to the reservation: a poller asking for more than it would be throttled.
        maxConcurrency: options.concurrency,
        // A failed message is retried alone; the rest of its batch is deleted.
        reportBatchItemFailures: true,
      }),
    );
    return worker;
  }
}
