import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type App, type CfnElement, Validations } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import { LogGroup, RetentionDays } from 'aws-cdk-lib/aws-logs';
import { Queue } from 'aws-cdk-lib/aws-sqs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  backfillWorker,
  erasureWorker,
  httpRoutes,
  notFoundRoute,
  reconcileWorker,
  revocationWorker,
} from '#functions/routes.ts';
import { BACKFILL_QUEUE_AGE_ALARM, NO_SWEEP_ALARM_PERIOD, RECONCILE_QUEUE_AGE_ALARM } from '#infra/alarms.ts';
import { createApp } from '#infra/app.ts';
import {
  DEFAULT_BACKFILL_CONCURRENCY,
  ERASURE_WORKER_CONCURRENCY,
  FUNCTION_MEMORY_MB,
  MAX_BACKFILL_CONCURRENCY,
  NOT_FOUND_CAPACITY,
  RECONCILE_WORKER_CONCURRENCY,
  RESERVABLE_CONCURRENCY,
  REVOCATION_WORKER_CONCURRENCY,
  routeCapacity,
  routeReservedConcurrency,
} from '#infra/capacity-model.ts';
import type { CompassStripeConnectStack } from '#infra/compass-stripe-connect-stack.ts';
import { tableSchema } from '#infra/storage.ts';
import { tableKeySchema } from '#shared/adapters/dynamodb/table-definition.ts';
import { parseReconcileJob } from '#shared/domain/maintenance-jobs.ts';
import { STALE_QUEUED_MS } from '#shared/use-cases/backfill/request-backfill.ts';
import { SWEEP_SPREAD_SECONDS } from '#shared/use-cases/reconcile/schedule-sweeps.ts';

/**
 * The synthesized stack, checked against functions/routes.ts (the single source of the routes
 * and of what each function may touch) and against cdk-nag's AwsSolutions and HIPAA Security packs.
 */

/** Every function the stack must have, from routes.ts. */
const allFunctions: readonly { readonly name: string }[] = [
  ...httpRoutes,
  notFoundRoute,
  revocationWorker,
  backfillWorker,
  reconcileWorker,
  erasureWorker,
];

/** Every queue worker: its queue in stack.queues, its timeout (s), its batch size and concurrency. */
const WORKERS = [
  { queue: 'revocation', name: revocationWorker.name, timeout: 60, batchSize: 5, maxReceives: 3 },
  { queue: 'backfill', name: backfillWorker.name, timeout: 900, batchSize: 1, maxReceives: 5 },
  { queue: 'reconcile', name: reconcileWorker.name, timeout: 300, batchSize: 1, maxReceives: 5 },
  { queue: 'erasure', name: erasureWorker.name, timeout: 300, batchSize: 1, maxReceives: 5 },
] as const;

/** The reserved concurrency the capacity model gives a worker (the backfill's is a parameter). */
const WORKER_CONCURRENCY: Readonly<Record<string, number | { Ref: string }>> = {
  [revocationWorker.name]: REVOCATION_WORKER_CONCURRENCY,
  [backfillWorker.name]: { Ref: 'BackfillConcurrency' },
  [reconcileWorker.name]: RECONCILE_WORKER_CONCURRENCY,
  [erasureWorker.name]: ERASURE_WORKER_CONCURRENCY,
};

const CONFIG_ENV = [
  'STRIPE_CONNECT_CLIENT_ID',
  'OAUTH_REDIRECT_BASE_URL',
  'APP_BASE_URL',
  'SESSION_JWKS_URL',
  'SESSION_JWT_ISSUER',
  'SESSION_JWT_AUDIENCE',
];

const outdirs: string[] = [];

/** The app as `cdk synth` builds it (same feature flags from cdk.json), minus asset bundling. */
function buildApp(): { app: App; stack: CompassStripeConnectStack } {
  const cdkJson = JSON.parse(readFileSync(new URL('../../cdk.json', import.meta.url), 'utf8')) as {
    context?: Record<string, unknown>;
  };
  const outdir = mkdtempSync(join(tmpdir(), 'cdk-infra-test-'));
  outdirs.push(outdir);
  return createApp({ context: { ...cdkJson.context, 'aws:cdk:bundling-stacks': [] }, outdir });
}

let app: App;
let stack: CompassStripeConnectStack;
let template: Template;

beforeAll(() => {
  ({ app, stack } = buildApp());
  // Synthesizes the stack, cdk-nag included: an unacknowledged finding fails every test here.
  template = Template.fromStack(stack);
}, 120_000);

afterAll(() => {
  for (const dir of outdirs) rmSync(dir, { recursive: true, force: true });
});

function logicalId(element: unknown): string {
  return stack.getLogicalId(element as CfnElement);
}

function functionLogicalId(name: string): string {
  const fn = stack.functions.get(name);
  if (!fn) throw new Error(`stack has no function ${name}`);
  return logicalId(fn.function.node.defaultChild);
}

function environmentOf(name: string): Record<string, unknown> {
  const fn = template.findResources('AWS::Lambda::Function')[functionLogicalId(name)];
  return fn?.Properties.Environment.Variables ?? {};
}

describe('HTTP API', () => {
  it('has one route per entry of functions/routes.ts, plus $default', () => {
    for (const route of httpRoutes) {
      template.hasResourceProperties('AWS::ApiGatewayV2::Route', {
        RouteKey: `${route.method} ${route.path}`,
      });
    }
    template.hasResourceProperties('AWS::ApiGatewayV2::Route', { RouteKey: '$default' });
    template.resourceCountIs('AWS::ApiGatewayV2::Route', httpRoutes.length + 1);
  });

  it("sends each route to its own entry's function, and $default to NotFound", () => {
    const routes = template.findResources('AWS::ApiGatewayV2::Route');
    const integrations = template.findResources('AWS::ApiGatewayV2::Integration');
    const functionBehind = (routeKey: string): string => {
      const route = Object.values(routes).find((r) => r.Properties.RouteKey === routeKey);
      if (!route) throw new Error(`no route ${routeKey}`);
      const [, parts] = route.Properties.Target['Fn::Join'] as [string, unknown[]];
      const integrationId = (parts[1] as { Ref: string }).Ref;
      return integrations[integrationId]?.Properties.IntegrationUri['Fn::GetAtt'][0];
    };

    for (const route of httpRoutes) {
      expect(functionBehind(`${route.method} ${route.path}`), route.name).toBe(functionLogicalId(route.name));
    }
    expect(functionBehind('$default')).toBe(functionLogicalId(notFoundRoute.name));
  });

  it('has no gateway authorizer (functions verify the session themselves)', () => {
    template.resourceCountIs('AWS::ApiGatewayV2::Authorizer', 0);
  });

  it('logs access to a log group and throttles $default like the 404 it is', () => {
    template.hasResourceProperties('AWS::ApiGatewayV2::Stage', {
      StageName: '$default',
      AutoDeploy: true,
      DefaultRouteSettings: { ThrottlingBurstLimit: 100, ThrottlingRateLimit: 50 },
      AccessLogSettings: {
        DestinationArn: { 'Fn::GetAtt': [Match.stringLikeRegexp('AccessLogs'), 'Arn'] },
        Format: Match.stringLikeRegexp('\\$context.requestId'),
      },
    });
  });

  it('throttles every route by its own settings: webhooks for bursts, tenant routes lower', () => {
    const [stage] = Object.values(template.findResources('AWS::ApiGatewayV2::Stage'));
    const settings = stage?.Properties.RouteSettings as Record<string, Record<string, number>>;
    expect(Object.keys(settings).sort()).toEqual(httpRoutes.map((r) => `${r.method} ${r.path}`).sort());
    for (const route of httpRoutes) {
      const { rateLimit, burstLimit } = routeCapacity(route.name);
      expect(settings[`${route.method} ${route.path}`], route.name).toEqual({
        ThrottlingRateLimit: rateLimit,
        ThrottlingBurstLimit: burstLimit,
      });
    }
    const webhook = settings['POST /api/webhooks/stripe-connect'];
    expect(webhook?.ThrottlingRateLimit).toBeGreaterThanOrEqual(1000);
    expect(webhook?.ThrottlingBurstLimit).toBeGreaterThanOrEqual(2000);
    expect(settings['POST /api/webhooks/stripe/{slug}']).toEqual(webhook);
    for (const tenantRoute of ['GET /api/connect/stripe/status', 'GET /api/connect/stripe/callback']) {
      expect(settings[tenantRoute]?.ThrottlingRateLimit, tenantRoute).toBeLessThan(
        webhook?.ThrottlingRateLimit ?? 0,
      );
    }
  });

  it('creates the stage after the routes its settings name (API Gateway refuses unknown route keys)', () => {
    const [stage] = Object.values(template.findResources('AWS::ApiGatewayV2::Stage'));
    const routeIds = Object.keys(template.findResources('AWS::ApiGatewayV2::Route')).filter(
      (id) => !id.includes('DefaultRoute'),
    );
    expect(routeIds).toHaveLength(httpRoutes.length);
    expect(stage?.DependsOn).toEqual(expect.arrayContaining(routeIds));
  });

  it('keeps query strings (OAuth code and state) out of the access log', () => {
    const stages = template.findResources('AWS::ApiGatewayV2::Stage');
    for (const stage of Object.values(stages)) {
      expect(stage.Properties.AccessLogSettings.Format).not.toMatch(/querystring|\$request/i);
    }
  });

  it('outputs the API URL', () => {
    template.hasOutput('ApiUrl', {});
  });
});

describe('parameters', () => {
  it('takes the configuration as CloudFormation parameters and passes it to every function', () => {
    const parameters = {
      STRIPE_CONNECT_CLIENT_ID: 'StripeConnectClientId',
      OAUTH_REDIRECT_BASE_URL: 'OAuthRedirectBaseUrl',
      APP_BASE_URL: 'AppBaseUrl',
      SESSION_JWKS_URL: 'SessionJwksUrl',
      SESSION_JWT_ISSUER: 'SessionJwtIssuer',
      SESSION_JWT_AUDIENCE: 'SessionJwtAudience',
    };
    expect(Object.keys(parameters).sort()).toEqual([...CONFIG_ENV].sort());
    for (const fn of allFunctions) {
      const env = environmentOf(fn.name);
      for (const [variable, parameter] of Object.entries(parameters)) {
        expect(env[variable], `${fn.name} ${variable}`).toEqual({ Ref: parameter });
      }
    }
    template.hasParameter('StripeConnectClientId', { AllowedPattern: Match.stringLikeRegexp('^\\^ca_') });
    template.hasParameter('AppBaseUrl', { Default: '' });
    template.hasParameter('StripeSecretKeySecretName', {
      Default: 'compass-stripe-connect/platform/stripe-secret-key',
    });
  });

  it('takes BackfillConcurrency as a number from the SQS minimum to the model maximum', () => {
    template.hasParameter('BackfillConcurrency', {
      Type: 'Number',
      Default: DEFAULT_BACKFILL_CONCURRENCY,
      MinValue: 2,
      MaxValue: MAX_BACKFILL_CONCURRENCY,
    });
  });

  it('takes an optional AlarmEmail, subscribed only when it is set', () => {
    template.hasParameter('AlarmEmail', { Type: 'String', Default: '' });
    const conditions = template.findConditions('*');
    const subscriptions = Object.values(template.findResources('AWS::SNS::Subscription'));
    expect(subscriptions).toHaveLength(1);
    const [subscription] = subscriptions;
    expect(subscription?.Properties).toMatchObject({ Protocol: 'email', Endpoint: { Ref: 'AlarmEmail' } });
    expect(conditions[subscription?.Condition]).toEqual({
      'Fn::Not': [{ 'Fn::Equals': [{ Ref: 'AlarmEmail' }, ''] }],
    });
  });
});

describe('table', () => {
  it('uses the key schema of shared/adapters/dynamodb/table-definition.ts', () => {
    expect(tableSchema).toEqual(tableKeySchema);
  });

  it('has that key schema, one GSI projecting ALL, on-demand billing, TTL and PITR', () => {
    const { partitionKey, sortKey, gsi1, ttlAttribute } = tableKeySchema;
    template.resourceCountIs('AWS::DynamoDB::GlobalTable', 1);
    template.hasResourceProperties('AWS::DynamoDB::GlobalTable', {
      BillingMode: 'PAY_PER_REQUEST',
      KeySchema: [
        { AttributeName: partitionKey, KeyType: 'HASH' },
        { AttributeName: sortKey, KeyType: 'RANGE' },
      ],
      AttributeDefinitions: Match.arrayWith(
        [partitionKey, sortKey, gsi1.partitionKey, gsi1.sortKey].map((name) => ({
          AttributeName: name,
          AttributeType: 'S',
        })),
      ),
      GlobalSecondaryIndexes: [
        {
          IndexName: gsi1.name,
          KeySchema: [
            { AttributeName: gsi1.partitionKey, KeyType: 'HASH' },
            { AttributeName: gsi1.sortKey, KeyType: 'RANGE' },
          ],
          Projection: { ProjectionType: 'ALL' },
        },
      ],
      TimeToLiveSpecification: { AttributeName: ttlAttribute, Enabled: true },
      Replicas: [
        Match.objectLike({
          PointInTimeRecoverySpecification: { PointInTimeRecoveryEnabled: true },
          DeletionProtectionEnabled: true,
        }),
      ],
    });
  });

  it('is retained when the stack is deleted', () => {
    template.hasResource('AWS::DynamoDB::GlobalTable', {
      DeletionPolicy: 'Retain',
      UpdateReplacePolicy: 'Retain',
    });
  });
});

describe('queues', () => {
  const queueId = (queue: unknown) => logicalId((queue as Queue).node.defaultChild);

  it.each(WORKERS.map((w) => [w.queue, w.maxReceives] as const))(
    'the %s queue sends a message to its DLQ after %i receives',
    (name, maxReceiveCount) => {
      const { queue, deadLetterQueue } = stack.queues[name];
      const queues = template.findResources('AWS::SQS::Queue');
      expect(queues[queueId(queue)]?.Properties.RedrivePolicy).toEqual({
        deadLetterTargetArn: { 'Fn::GetAtt': [queueId(deadLetterQueue), 'Arn'] },
        maxReceiveCount,
      });
      expect(queues[queueId(queue)]?.Properties.MessageRetentionPeriod).toBe(14 * 24 * 3600);
      expect(queues[queueId(deadLetterQueue)]?.Properties.MessageRetentionPeriod).toBe(14 * 24 * 3600);
    },
  );

  it('encrypts every queue and refuses plain-HTTP access to it', () => {
    const queues = template.findResources('AWS::SQS::Queue');
    expect(Object.keys(queues)).toHaveLength(2 * WORKERS.length);
    const policies = Object.values(template.findResources('AWS::SQS::QueuePolicy'));
    for (const [id, queue] of Object.entries(queues)) {
      expect(queue.Properties.SqsManagedSseEnabled, id).toBe(true);
      const tlsOnly = policies.some(
        (policy) =>
          policy.Properties.Queues.some((q: { Ref?: string }) => q.Ref === id) &&
          policy.Properties.PolicyDocument.Statement.some(
            (s: { Effect: string; Condition?: { Bool?: Record<string, string> } }) =>
              s.Effect === 'Deny' && s.Condition?.Bool?.['aws:SecureTransport'] === 'false',
          ),
      );
      expect(tlsOnly, id).toBe(true);
    }
  });

  it.each(WORKERS.map((w) => [w.queue, w.name, w.timeout] as const))(
    'hides a %s message for six times its worker timeout',
    (name, worker, timeout) => {
      const queues = template.findResources('AWS::SQS::Queue');
      const functions = template.findResources('AWS::Lambda::Function');
      const workerTimeout = functions[functionLogicalId(worker)]?.Properties.Timeout;
      expect(workerTimeout).toBe(timeout);
      expect(queues[queueId(stack.queues[name].queue)]?.Properties.VisibilityTimeout).toBe(6 * timeout);
    },
  );

  it('lets a crashed backfill slice come back only after its lease and the stale-run hour', () => {
    const queues = template.findResources('AWS::SQS::Queue');
    const visibilityMs = queues[queueId(stack.queues.backfill.queue)]?.Properties.VisibilityTimeout * 1000;
    // Past the slice's lease (its 15-minute deadline), and past the hour after which a re-sync may
    // replace a run that stopped progressing: the README explains both.
    expect(visibilityMs).toBeGreaterThan(15 * 60_000);
    expect(visibilityMs).toBeGreaterThan(STALE_QUEUED_MS);
  });

  it.each(WORKERS.map((w) => [w.queue, w.name] as const))(
    'never lets the %s event source ask for more than the worker has reserved',
    (name, worker) => {
      const mapping = Object.values(template.findResources('AWS::Lambda::EventSourceMapping')).find(
        (m) => m.Properties.FunctionName.Ref === functionLogicalId(worker),
      );
      const fn = template.findResources('AWS::Lambda::Function')[functionLogicalId(worker)];
      expect(mapping?.Properties.EventSourceArn).toEqual({
        'Fn::GetAtt': [queueId(stack.queues[name].queue), 'Arn'],
      });
      expect(mapping?.Properties.ScalingConfig.MaximumConcurrency).toEqual(
        fn?.Properties.ReservedConcurrentExecutions,
      );
      expect(fn?.Properties.ReservedConcurrentExecutions).toEqual(WORKER_CONCURRENCY[worker]);
    },
  );

  it('feeds the backfill queue to its worker one message at a time, with a 15-minute timeout', () => {
    template.hasResourceProperties('AWS::Lambda::EventSourceMapping', {
      FunctionName: { Ref: functionLogicalId(backfillWorker.name) },
      EventSourceArn: { 'Fn::GetAtt': [queueId(stack.queues.backfill.queue), 'Arn'] },
      BatchSize: 1,
      FunctionResponseTypes: ['ReportBatchItemFailures'],
    });
    template.hasResourceProperties('AWS::Lambda::Function', {
      Description: "Imports a tenant's last 90 days of Stripe history, resumably",
      Timeout: 900,
    });
  });

  it.each(WORKERS.map((w) => [w.queue, w.batchSize, w.name] as const))(
    'feeds the %s queue to its worker in batches of %i, reporting item failures, and to no other',
    (name, batchSize, worker) => {
      template.resourceCountIs('AWS::Lambda::EventSourceMapping', WORKERS.length);
      const mappings = Object.values(template.findResources('AWS::Lambda::EventSourceMapping')).filter(
        (m) => m.Properties.EventSourceArn['Fn::GetAtt'][0] === queueId(stack.queues[name].queue),
      );
      expect(mappings).toHaveLength(1);
      expect(mappings[0]?.Properties).toMatchObject({
        FunctionName: { Ref: functionLogicalId(worker) },
        BatchSize: batchSize,
        FunctionResponseTypes: ['ReportBatchItemFailures'],
      });
    },
  );

  it('gives no dead-letter queue a consumer: what lands there waits for a person', () => {
    const sources = Object.values(template.findResources('AWS::Lambda::EventSourceMapping')).map(
      (m) => m.Properties.EventSourceArn['Fn::GetAtt'][0],
    );
    for (const { queue } of WORKERS) {
      expect(sources, queue).not.toContain(queueId(stack.queues[queue].deadLetterQueue));
    }
  });
});

describe('catch-up schedule', () => {
  const rule = () => {
    const rules = Object.values(template.findResources('AWS::Events::Rule'));
    expect(rules).toHaveLength(1);
    return rules[0] as { Properties: Record<string, unknown> & { Targets: Record<string, unknown>[] } };
  };
  const reconcileQueueId = () => logicalId(stack.queues.reconcile.queue.node.defaultChild);
  const ruleId = () => logicalId(stack.reconcileSchedule.rule.node.defaultChild);

  it('ticks every 15 minutes, enabled', () => {
    expect(rule().Properties).toMatchObject({ ScheduleExpression: 'rate(15 minutes)', State: 'ENABLED' });
    // The tick's spread of the sweeps ends before the next tick.
    expect(SWEEP_SPREAD_SECONDS).toBeLessThan(15 * 60);
  });

  it('sends {"kind":"all"} to the reconcile queue, which the worker reads as a tick', () => {
    const targets = rule().Properties.Targets;
    expect(targets).toHaveLength(1);
    expect(targets[0]?.Arn).toEqual({ 'Fn::GetAtt': [reconcileQueueId(), 'Arn'] });
    const input = JSON.parse(String(targets[0]?.Input));
    expect(input).toEqual({ kind: 'all' });
    expect(parseReconcileJob(JSON.stringify(input))).toEqual({ kind: 'all' });
    // Retried within the interval only: the next tick replaces an older one.
    expect(targets[0]?.RetryPolicy).toEqual({ MaximumEventAgeInSeconds: 900, MaximumRetryAttempts: 10 });
  });

  it("lets EventBridge send to the reconcile queue for this rule only, over TLS, without a KMS key it can't use", () => {
    const queue = template.findResources('AWS::SQS::Queue')[reconcileQueueId()];
    // SQS-owned keys: no key policy to grant EventBridge (the AWS managed aws/sqs key would refuse it).
    expect(queue?.Properties.SqsManagedSseEnabled).toBe(true);
    expect(queue?.Properties.KmsMasterKeyId).toBeUndefined();
    const statements = Object.values(template.findResources('AWS::SQS::QueuePolicy')).flatMap((policy) =>
      (policy.Properties.PolicyDocument.Statement as Record<string, unknown>[]).map((statement) => ({
        queues: (policy.Properties.Queues as { Ref: string }[]).map((q) => q.Ref),
        statement,
      })),
    );
    const allows = statements.filter(({ statement }) => statement.Effect === 'Allow');
    expect(allows).toHaveLength(1);
    expect(allows[0]?.queues).toEqual([reconcileQueueId()]);
    expect(allows[0]?.statement).toMatchObject({
      Principal: { Service: 'events.amazonaws.com' },
      Action: expect.arrayContaining(['sqs:SendMessage']),
      Resource: { 'Fn::GetAtt': [reconcileQueueId(), 'Arn'] },
      Condition: { ArnEquals: { 'aws:SourceArn': { 'Fn::GetAtt': [ruleId(), 'Arn'] } } },
    });
    for (const action of (allows[0]?.statement.Action as string[]) ?? []) {
      expect(action).toMatch(/^sqs:(SendMessage|GetQueueAttributes|GetQueueUrl)$/);
    }
  });
});

describe('alarms', () => {
  interface AlarmResource {
    readonly Properties: Record<string, unknown> & {
      readonly AlarmDescription: string;
      readonly Metrics?: readonly {
        readonly Id: string;
        readonly Expression?: string;
        readonly MetricStat?: {
          readonly Metric: {
            readonly Namespace: string;
            readonly MetricName: string;
            readonly Dimensions: readonly { readonly Name: string; readonly Value: unknown }[];
          };
        };
      }[];
    };
  }
  const alarms = () => template.findResources('AWS::CloudWatch::Alarm') as Record<string, AlarmResource>;
  const alarmNamed = (id: string): AlarmResource => {
    const found = Object.entries(alarms()).find(([logical]) => logical.startsWith(`Alarms${id}`));
    if (!found) throw new Error(`no alarm ${id}`);
    return found[1];
  };
  /** The metrics a (math) alarm reads, as `namespace/name` with their dimensions. */
  const metricsOf = (alarm: AlarmResource) =>
    (alarm.Properties.Metrics ?? []).flatMap((query) => (query.MetricStat ? [query.MetricStat.Metric] : []));
  const topicId = () => logicalId(stack.alarmNotifications.topic.node.defaultChild);

  it('sends every alarm, and its return to OK, to the alarm topic', () => {
    const all = Object.entries(alarms());
    expect(all.length).toBeGreaterThanOrEqual(17);
    for (const [id, alarm] of all) {
      expect(alarm.Properties.AlarmActions, id).toEqual([{ Ref: topicId() }]);
      expect(alarm.Properties.OKActions, id).toEqual([{ Ref: topicId() }]);
      expect(alarm.Properties.ActionsEnabled, id).not.toBe(false);
      expect(alarm.Properties.AlarmDescription.length, id).toBeGreaterThan(120);
    }
  });

  it('encrypts the alarm topic with a rotated key that CloudWatch may use', () => {
    const keyId = logicalId(stack.alarmNotifications.key.node.defaultChild);
    template.hasResourceProperties('AWS::SNS::Topic', { KmsMasterKeyId: { 'Fn::GetAtt': [keyId, 'Arn'] } });
    const key = template.findResources('AWS::KMS::Key')[keyId];
    expect(key?.Properties.EnableKeyRotation).toBe(true);
    expect(key?.Properties.KeyPolicy.Statement).toContainEqual(
      expect.objectContaining({
        Effect: 'Allow',
        Principal: { Service: 'cloudwatch.amazonaws.com' },
        Action: expect.arrayContaining(['kms:Decrypt', 'kms:GenerateDataKey*']),
      }),
    );
    template.hasOutput('AlarmTopicArn', { Value: { Ref: topicId() } });
  });

  it.each(WORKERS.map((w) => w.queue))('alarms as soon as one message is in the %s DLQ', (name) => {
    const dlq = logicalId(stack.queues[name].deadLetterQueue.node.defaultChild);
    template.hasResourceProperties('AWS::CloudWatch::Alarm', {
      Namespace: 'AWS/SQS',
      MetricName: 'ApproximateNumberOfMessagesVisible',
      Dimensions: [{ Name: 'QueueName', Value: { 'Fn::GetAtt': [dlq, 'QueueName'] } }],
      Threshold: 1,
      ComparisonOperator: 'GreaterThanOrEqualToThreshold',
    });
  });

  it.each([...WORKERS.map((w) => w.name), 'WebhookTenant', 'WebhookConnect'])(
    "alarms on %s's errors",
    (name) => {
      template.hasResourceProperties('AWS::CloudWatch::Alarm', {
        Namespace: 'AWS/Lambda',
        MetricName: 'Errors',
        Dimensions: [{ Name: 'FunctionName', Value: { Ref: functionLogicalId(name) } }],
        Threshold: 1,
        ComparisonOperator: 'GreaterThanOrEqualToThreshold',
      });
    },
  );

  it("alarms when at least 5 requests, and 1 % of all, got a 5xx from the API's stage", () => {
    const alarm = alarmNamed('Api5xx');
    const dimensions = [
      { Name: 'ApiId', Value: { Ref: logicalId(stack.httpApi.api.node.defaultChild) } },
      { Name: 'Stage', Value: '$default' },
    ];
    expect(metricsOf(alarm)).toEqual(
      expect.arrayContaining([
        { Namespace: 'AWS/ApiGateway', MetricName: '5xx', Dimensions: dimensions },
        { Namespace: 'AWS/ApiGateway', MetricName: 'Count', Dimensions: dimensions },
      ]),
    );
    const expression = alarm.Properties.Metrics?.find((query) => query.Expression)?.Expression;
    expect(expression).toBe('IF(errors >= 5, 100 * errors / requests, 0)');
    expect(alarm.Properties).toMatchObject({
      Threshold: 1,
      ComparisonOperator: 'GreaterThanOrEqualToThreshold',
    });
  });

  it('alarms on read and write throttling of the table and of gsi1', () => {
    const alarm = alarmNamed('TableThrottled');
    const table = { Name: 'TableName', Value: { Ref: logicalId(stack.storage.table.node.defaultChild) } };
    const index = { Name: 'GlobalSecondaryIndexName', Value: tableKeySchema.gsi1.name };
    const metrics = metricsOf(alarm);
    for (const metricName of ['ReadThrottleEvents', 'WriteThrottleEvents']) {
      expect(metrics).toContainEqual({
        Namespace: 'AWS/DynamoDB',
        MetricName: metricName,
        Dimensions: [table],
      });
      expect(metrics).toContainEqual({
        Namespace: 'AWS/DynamoDB',
        MetricName: metricName,
        Dimensions: expect.arrayContaining([table, index]),
      });
    }
    expect(alarm.Properties.Metrics?.find((query) => query.Expression)?.Expression).toMatch(
      /^FILL\(m0, 0\)( \+ FILL\(m\d, 0\)){3}$/,
    );
    expect(alarm.Properties.Threshold).toBe(100);
  });

  it("alarms when the backfill queue's oldest message waited half the stale-run hour", () => {
    const queue = logicalId(stack.queues.backfill.queue.node.defaultChild);
    expect(BACKFILL_QUEUE_AGE_ALARM.toMilliseconds()).toBe(STALE_QUEUED_MS / 2);
    template.hasResourceProperties('AWS::CloudWatch::Alarm', {
      Namespace: 'AWS/SQS',
      MetricName: 'ApproximateAgeOfOldestMessage',
      Dimensions: [{ Name: 'QueueName', Value: { 'Fn::GetAtt': [queue, 'QueueName'] } }],
      Statistic: 'Maximum',
      Threshold: 30 * 60,
      ComparisonOperator: 'GreaterThanOrEqualToThreshold',
    });
  });

  it('alarms when the oldest sweep has waited a whole 15-minute round', () => {
    const queue = logicalId(stack.queues.reconcile.queue.node.defaultChild);
    expect(RECONCILE_QUEUE_AGE_ALARM.toMinutes()).toBe(15);
    // A sweep is delayed at most to the spread's last whole minute: the alarm is well past it.
    expect(RECONCILE_QUEUE_AGE_ALARM.toSeconds()).toBeGreaterThan(SWEEP_SPREAD_SECONDS);
    expect(alarmNamed('ReconcileQueueBacklog').Properties).toMatchObject({
      Namespace: 'AWS/SQS',
      MetricName: 'ApproximateAgeOfOldestMessage',
      Dimensions: [{ Name: 'QueueName', Value: { 'Fn::GetAtt': [queue, 'QueueName'] } }],
      Statistic: 'Maximum',
      Threshold: 15 * 60,
      ComparisonOperator: 'GreaterThanOrEqualToThreshold',
    });
  });

  it('alarms when no sweep ran for two rounds, no data counting as none', () => {
    expect(NO_SWEEP_ALARM_PERIOD.toMinutes()).toBe(30);
    expect(alarmNamed('NoSweepRan').Properties).toMatchObject({
      Namespace: 'AWS/Lambda',
      MetricName: 'Invocations',
      Dimensions: [{ Name: 'FunctionName', Value: { Ref: functionLogicalId(reconcileWorker.name) } }],
      Statistic: 'Sum',
      Period: 30 * 60,
      EvaluationPeriods: 1,
      Threshold: 1,
      ComparisonOperator: 'LessThanThreshold',
      TreatMissingData: 'breaching',
    });
  });

  it('alarms on Lambda throttles of every function, ten functions at most per alarm', () => {
    const throttleAlarms = Object.entries(alarms()).filter(
      ([id]) => /Throttled\d*[A-F0-9]{8}$/.test(id) && !id.includes('Table'),
    );
    const watched = throttleAlarms.flatMap(([, alarm]) => {
      const metrics = metricsOf(alarm);
      expect(metrics.length).toBeLessThanOrEqual(10);
      return metrics.map((metric) => {
        expect(metric).toMatchObject({ Namespace: 'AWS/Lambda', MetricName: 'Throttles' });
        expect(metric.Dimensions).toHaveLength(1);
        return (metric.Dimensions[0]?.Value as { Ref?: string } | undefined)?.Ref;
      });
    });
    expect(watched.sort()).toEqual(allFunctions.map((fn) => functionLogicalId(fn.name)).sort());
  });
});

describe('functions', () => {
  it('has one function per route, plus NotFound and the four workers, and no others', () => {
    template.resourceCountIs('AWS::Lambda::Function', allFunctions.length);
    for (const fn of allFunctions) expect(stack.functions.has(fn.name), fn.name).toBe(true);
  });

  it('runs every function on arm64 and Node.js 22 or newer', () => {
    const functions = template.findResources('AWS::Lambda::Function');
    for (const [id, fn] of Object.entries(functions)) {
      const version = /^nodejs(\d+)\.x$/.exec(fn.Properties.Runtime)?.[1];
      expect(Number(version), `${id}: ${fn.Properties.Runtime}`).toBeGreaterThanOrEqual(22);
      expect(fn.Properties.Architectures, id).toEqual(['arm64']);
    }
  });

  /** The memory the capacity model gives each function's kind. */
  const WORKER_MEMORY: Readonly<Record<string, number>> = {
    [notFoundRoute.name]: FUNCTION_MEMORY_MB['not-found'],
    [revocationWorker.name]: FUNCTION_MEMORY_MB.revocation,
    [backfillWorker.name]: FUNCTION_MEMORY_MB.backfill,
    [reconcileWorker.name]: FUNCTION_MEMORY_MB.reconcile,
    [erasureWorker.name]: FUNCTION_MEMORY_MB.erasure,
  };
  const memoryOf = (name: string): number =>
    WORKER_MEMORY[name] ?? FUNCTION_MEMORY_MB[routeCapacity(name).kind];
  const timeoutOf = (name: string): number => WORKERS.find((w) => w.name === name)?.timeout ?? 10;

  it.each(allFunctions.map((fn) => [fn.name, memoryOf(fn.name)] as const))(
    '%s: %i MB, X-Ray, its own log group kept 30 days and encrypted with the log key',
    (name, memory) => {
      const functions = template.findResources('AWS::Lambda::Function');
      const fn = functions[functionLogicalId(name)];
      expect(fn?.Properties).toMatchObject({
        MemorySize: memory,
        Timeout: timeoutOf(name),
        TracingConfig: { Mode: 'Active' },
        Handler: 'index.handler',
      });
      const logGroupId = fn?.Properties.LoggingConfig.LogGroup.Ref;
      expect(template.findResources('AWS::Logs::LogGroup')[logGroupId]?.Properties).toMatchObject({
        RetentionInDays: 30,
        KmsKeyId: { 'Fn::GetAtt': [logicalId(stack.logKey.node.defaultChild), 'Arn'] },
      });
    },
  );

  it('gives the webhooks and the backfill 1 GB (CPU-bound at 256 MB), the 404 and revocations 256 MB', () => {
    for (const name of ['WebhookTenant', 'WebhookConnect', backfillWorker.name])
      expect(memoryOf(name), name).toBe(1024);
    for (const name of [notFoundRoute.name, revocationWorker.name]) expect(memoryOf(name), name).toBe(256);
  });

  it('gives the sweep and the erasure 512 MB (they wait on Stripe and DynamoDB), and 5 minutes each', () => {
    for (const name of [reconcileWorker.name, erasureWorker.name]) {
      expect(memoryOf(name), name).toBe(512);
      expect(timeoutOf(name), name).toBe(300);
    }
  });

  it.each(allFunctions.map((fn) => [fn.name]))(
    '%s: reserves the concurrency the capacity model gives it',
    (name) => {
      const fn = template.findResources('AWS::Lambda::Function')[functionLogicalId(name)];
      const expected =
        WORKER_CONCURRENCY[name] ??
        routeReservedConcurrency(name === notFoundRoute.name ? NOT_FOUND_CAPACITY : routeCapacity(name));
      expect(fn?.Properties.ReservedConcurrentExecutions).toEqual(expected);
    },
  );

  it("reserves in all, with BackfillConcurrency at its maximum, no more than the account's 1,000 minus the 100 Lambda keeps unreserved", () => {
    const reserved = Object.values(template.findResources('AWS::Lambda::Function')).map((fn) => {
      const value = fn.Properties.ReservedConcurrentExecutions;
      if (typeof value === 'number') return value;
      expect(value).toEqual({ Ref: 'BackfillConcurrency' });
      return template.toJSON().Parameters.BackfillConcurrency.MaxValue as number;
    });
    expect(reserved).toHaveLength(allFunctions.length);
    expect(reserved.every((n) => n >= 1)).toBe(true);
    expect(reserved.reduce((a, b) => a + b, 0)).toBeLessThanOrEqual(RESERVABLE_CONCURRENCY);
    expect(RESERVABLE_CONCURRENCY).toBe(900);
  });

  it('encrypts every log group, the API access logs included, with one rotated key CloudWatch Logs may use', () => {
    const keyId = logicalId(stack.logKey.node.defaultChild);
    const logGroups = Object.entries(template.findResources('AWS::Logs::LogGroup'));
    expect(logGroups).toHaveLength(allFunctions.length + 1);
    for (const [id, group] of logGroups) {
      expect(group.Properties.KmsKeyId, id).toEqual({ 'Fn::GetAtt': [keyId, 'Arn'] });
    }
    const key = template.findResources('AWS::KMS::Key')[keyId];
    expect(key?.Properties.EnableKeyRotation).toBe(true);
    expect(key?.Properties.KeyPolicy.Statement).toContainEqual(
      expect.objectContaining({
        Effect: 'Allow',
        Principal: { Service: { 'Fn::Join': ['', ['logs.', { Ref: 'AWS::Region' }, '.amazonaws.com']] } },
        Action: ['kms:Decrypt*', 'kms:Describe*', 'kms:Encrypt*', 'kms:GenerateDataKey*', 'kms:ReEncrypt*'],
        Condition: {
          ArnLike: {
            'kms:EncryptionContext:aws:logs:arn': {
              'Fn::Join': [
                '',
                [
                  'arn:',
                  { Ref: 'AWS::Partition' },
                  ':logs:',
                  { Ref: 'AWS::Region' },
                  ':',
                  { Ref: 'AWS::AccountId' },
                  ':log-group:*',
                ],
              ],
            },
          },
        },
      }),
    );
  });

  it.each(allFunctions.map((fn) => [fn.name]))('%s: gets the shared settings', (name) => {
    const env = environmentOf(name);
    expect(env).toMatchObject({
      NODE_OPTIONS: '--enable-source-maps',
      POWERTOOLS_SERVICE_NAME: 'compass-stripe-connect',
      LOG_LEVEL: 'INFO',
    });
    for (const key of CONFIG_ENV) expect(env[key], key).toBeDefined();
  });

  it('puts no secret in an environment variable', () => {
    const functions = template.findResources('AWS::Lambda::Function');
    for (const [id, fn] of Object.entries(functions)) {
      const variables = fn.Properties.Environment.Variables as Record<string, unknown>;
      expect(Object.keys(variables), id).not.toContain('STRIPE_SECRET_KEY');
      expect(Object.keys(variables), id).not.toContain('SESSION_JWT_SECRET');
      expect(JSON.stringify(variables), id).not.toMatch(/(sk|rk)_(live|test)_|whsec_/);
    }
    expect(environmentOf('ConnectCallback').STRIPE_SECRET_KEY_SECRET_ID).toEqual({
      Ref: 'StripeSecretKeySecretName',
    });
  });

  it('tells each function where the queues it sends to are, and only those', () => {
    const urls = {
      REVOCATION_QUEUE_URL: 'revocation',
      BACKFILL_QUEUE_URL: 'backfill',
      ERASURE_QUEUE_URL: 'erasure',
      RECONCILE_QUEUE_URL: 'reconcile',
    } as const;
    const all = [
      ...httpRoutes,
      notFoundRoute,
      revocationWorker,
      backfillWorker,
      reconcileWorker,
      erasureWorker,
    ];
    for (const fn of all) {
      const env = environmentOf(fn.name);
      for (const [variable, queue] of Object.entries(urls)) {
        const sends = (fn.access.sendTo ?? []).includes(queue);
        expect(env[variable], `${fn.name} ${variable}`).toEqual(
          sends ? { Ref: logicalId(stack.queues[queue].queue.node.defaultChild) } : undefined,
        );
      }
    }
  });
});

describe('cdk-nag (AwsSolutions, HIPAA Security)', () => {
  it('synthesizes with no unacknowledged finding', () => {
    expect(() => app.synth()).not.toThrow();
  });

  it('fails synthesis on a finding nobody acknowledged', () => {
    const probe = buildApp();
    new Queue(probe.stack, 'UnencryptedQueueWithoutDlq', {});
    expect(() => probe.app.synth()).toThrow(expect.objectContaining({ name: 'ValidationFailed' }));
  });

  it('fails synthesis on a HIPAA finding nobody acknowledged', () => {
    const probe = buildApp();
    // AwsSolutions has no rule on log group encryption; HIPAA Security does.
    new LogGroup(probe.stack, 'UnencryptedLogGroup', { retention: RetentionDays.ONE_MONTH });
    expect(() => probe.app.synth()).toThrow(expect.objectContaining({ name: 'ValidationFailed' }));
  });

  it('gives every acknowledgement a real reason', () => {
    const acknowledgements = app.node
      .findAll()
      .flatMap((construct) =>
        construct.node.metadata
          .filter((entry) => entry.type === Validations.ACKNOWLEDGED_RULES_METADATA_KEY)
          .flatMap((entry) => Object.entries(entry.data as Record<string, string>)),
      );
    expect(acknowledgements.length).toBeGreaterThan(0);
    for (const [id, reason] of acknowledgements) {
      expect(reason.length, id).toBeGreaterThanOrEqual(60);
      expect(reason.split(/\s+/).length, id).toBeGreaterThanOrEqual(10);
      expect(reason.toLowerCase(), id).not.toMatch(/^(todo|tbd|n\/a|ok|fine|ignore|suppress)/);
    }
  });
});
