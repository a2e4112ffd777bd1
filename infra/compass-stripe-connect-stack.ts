import { Duration, Stack, type StackProps } from 'aws-cdk-lib';
import { SqsEventSource } from 'aws-cdk-lib/aws-lambda-event-sources';
import { Secret } from 'aws-cdk-lib/aws-secretsmanager';
import type { IQueue } from 'aws-cdk-lib/aws-sqs';
import type { Construct } from 'constructs';
import {
  backfillWorker,
  type FunctionNeed,
  httpRoutes,
  notFoundRoute,
  revocationWorker,
} from '../functions/routes.ts';
import { Alarms } from './alarms.ts';
import { createConfigParameters } from './config-parameters.ts';
import { grantNeeds, type NeedResources } from './function-permissions.ts';
import { ConnectorHttpApi } from './http-api.ts';
import { Queues } from './queues.ts';
import { ServiceFunction } from './service-function.ts';
import { Storage } from './storage.ts';

/** Queue workers running at once (SQS event source); 5 keeps backfills under Stripe's allowance. */
const WORKER_MAX_CONCURRENCY = 5;

export const DEFAULT_CREDENTIALS_SECRET_PREFIX = 'compass-stripe-connect';

/** API Gateway gives up on an integration after 30 s; a handler that needs 10 s is already broken. */
export const HTTP_FUNCTION_TIMEOUT = Duration.seconds(10);
/** One revocation batch: a few `oauth.deauthorize` calls, each retried by the SDK. */
export const REVOCATION_WORKER_TIMEOUT = Duration.seconds(60);

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
  readonly needs: readonly FunctionNeed[];
}

/**
 * The Stripe Connect connector: an HTTP API with one function per route, the table, the
 * revocation and backfill queues, their workers, and the alarms (design §2).
 */
export class CompassStripeConnectStack extends Stack {
  readonly storage: Storage;
  readonly queues: Queues;
  readonly httpApi: ConnectorHttpApi;
  readonly alarms: Alarms;
  /** Every function of the stack, by the name routes.ts gives it. */
  readonly functions = new Map<string, ServiceFunction>();

  private readonly configEnvironment: Readonly<Record<string, string>>;
  private readonly needResources: NeedResources;

  constructor(scope: Construct, id: string, props: CompassStripeConnectStackProps = {}) {
    super(scope, id, {
      description: 'Compass Stripe Connect connector: OAuth, webhooks and backfill',
      ...props,
    });

    const credentialsSecretPrefix = props.credentialsSecretPrefix ?? DEFAULT_CREDENTIALS_SECRET_PREFIX;
    if (!SECRET_PREFIX.test(credentialsSecretPrefix)) {
      throw new Error(
        `credentialsSecretPrefix "${credentialsSecretPrefix}" is not a Secrets Manager name prefix`,
      );
    }

    const config = createConfigParameters(this);
    this.configEnvironment = config.environment;
    this.storage = new Storage(this, 'Storage');
    this.queues = new Queues(this, 'Queues', { revocationWorkerTimeout: REVOCATION_WORKER_TIMEOUT });
    this.needResources = {
      table: this.storage.table,
      credentialsSecretPrefix,
      platformKeySecret: Secret.fromSecretNameV2(this, 'PlatformKeySecret', config.platformKeySecretName),
      connectWebhookSecret: Secret.fromSecretNameV2(
        this,
        'ConnectWebhookSecret',
        config.connectWebhookSecretName,
      ),
      revocationQueue: this.queues.revocation.queue,
      backfillQueue: this.queues.backfill.queue,
    };

    // HTTP functions: one per route, plus the JSON 404 behind `$default`.
    for (const route of httpRoutes) {
      this.addFunction(route, {
        description: `${route.method} ${route.path}`,
        timeout: HTTP_FUNCTION_TIMEOUT,
      });
    }
    const notFound = this.addFunction(
      { ...notFoundRoute, needs: [] },
      { description: 'JSON 404 for unknown routes', timeout: HTTP_FUNCTION_TIMEOUT },
    );
    this.httpApi = new ConnectorHttpApi(this, 'HttpApi', {
      routes: httpRoutes,
      handlers: new Map(httpRoutes.map((route) => [route.name, this.functionNamed(route.name)])),
      notFoundHandler: notFound.function,
    });

    // Queue workers.
    const revocation = this.addQueueWorker(revocationWorker, this.queues.revocation.queue, {
      description: 'Retries Stripe OAuth revocations that failed at disconnect',
      timeout: REVOCATION_WORKER_TIMEOUT,
      batchSize: 5,
    });
    // One message per invocation: a run owns the whole 15 minutes, stops a minute early and
    // re-enqueues its continuation; the queue's 16-minute visibility outlasts any invocation.
    const backfill = this.addQueueWorker(backfillWorker, this.queues.backfill.queue, {
      description: "Imports a tenant's last 90 days of Stripe history, resumably",
      timeout: Duration.minutes(15),
      batchSize: 1,
    });

    this.alarms = new Alarms(this, 'Alarms', {
      deadLetterQueues: {
        Revocation: this.queues.revocation.deadLetterQueue,
        Backfill: this.queues.backfill.deadLetterQueue,
      },
      workers: { RevocationWorker: revocation.function, BackfillWorker: backfill.function },
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
    options: { readonly description: string; readonly timeout: Duration },
  ): ServiceFunction {
    if (this.functions.has(definition.name)) {
      throw new Error(`Two functions are named ${definition.name} in functions/routes.ts`);
    }
    const fn = new ServiceFunction(this, definition.name, {
      entry: definition.entry,
      description: options.description,
      timeout: options.timeout,
      environment: this.configEnvironment,
    });
    const environment = grantNeeds(fn.function, fn, definition.needs, this.needResources);
    for (const [name, value] of Object.entries(environment)) fn.function.addEnvironment(name, value);
    this.functions.set(definition.name, fn);
    return fn;
  }

  private addQueueWorker(
    definition: FunctionDefinition,
    queue: IQueue,
    options: { readonly description: string; readonly timeout: Duration; readonly batchSize: number },
  ): ServiceFunction {
    const worker = this.addFunction(definition, options);
    worker.function.addEventSource(
      new SqsEventSource(queue, {
        batchSize: options.batchSize,
        // Bounds how many tenants read from Stripe at once: the platform's read allowance is shared.
        maxConcurrency: WORKER_MAX_CONCURRENCY,
        // A failed message is retried alone; the rest of its batch is deleted.
        reportBatchItemFailures: true,
      }),
    );
    return worker;
  }
}
