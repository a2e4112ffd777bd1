import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type App, type CfnElement, Validations } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import { Queue } from 'aws-cdk-lib/aws-sqs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  backfillWorker,
  type FunctionNeed,
  httpRoutes,
  notFoundRoute,
  revocationWorker,
} from '#functions/routes.ts';
import { createApp } from '#infra/app.ts';
import type { CompassStripeConnectStack } from '#infra/compass-stripe-connect-stack.ts';
import { flatten } from '#infra/nag-findings.ts';
import { tableSchema } from '#infra/storage.ts';
import { tableKeySchema } from '#shared/adapters/dynamodb/table-definition.ts';

/**
 * The synthesized stack, checked against functions/routes.ts (the single source of the routes
 * and of what each function may touch) and against cdk-nag's AwsSolutions pack.
 */

interface FunctionDefinition {
  readonly name: string;
  readonly needs: readonly FunctionNeed[];
}

/** Every function the stack must have, from routes.ts. */
const allFunctions: readonly FunctionDefinition[] = [
  ...httpRoutes,
  { name: notFoundRoute.name, needs: [] },
  revocationWorker,
  backfillWorker,
];

const CONFIG_ENV = [
  'STRIPE_CONNECT_CLIENT_ID',
  'OAUTH_REDIRECT_BASE_URL',
  'APP_BASE_URL',
  'SESSION_JWKS_URL',
  'SESSION_JWT_ISSUER',
  'SESSION_JWT_AUDIENCE',
];

const DYNAMODB_WRITE_ACTIONS = [
  'dynamodb:PutItem',
  'dynamodb:UpdateItem',
  'dynamodb:DeleteItem',
  'dynamodb:BatchWriteItem',
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

interface Statement {
  readonly Effect: string;
  readonly Action: string | string[];
  readonly Resource: unknown;
}

interface PolicyResource {
  readonly Properties: {
    readonly Roles: readonly { readonly Ref: string }[];
    readonly PolicyDocument: { readonly Statement: readonly Statement[] };
  };
}

const asArray = <T>(value: T | T[]): T[] => (Array.isArray(value) ? value : [value]);

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

function roleLogicalId(name: string): string {
  const fn = stack.functions.get(name);
  if (!fn) throw new Error(`stack has no function ${name}`);
  return logicalId(fn.role.node.defaultChild);
}

/** Every Allow statement of every policy, with the role it is attached to. */
function statements(): { role: string; actions: string[]; resources: string[] }[] {
  const policies = template.findResources('AWS::IAM::Policy') as Record<string, PolicyResource>;
  return Object.values(policies).flatMap((policy) =>
    policy.Properties.Roles.flatMap((role) =>
      policy.Properties.PolicyDocument.Statement.filter((statement) => statement.Effect === 'Allow').map(
        (statement) => ({
          role: role.Ref,
          actions: asArray(statement.Action),
          resources: asArray(statement.Resource).map(flatten),
        }),
      ),
    ),
  );
}

function actionsOf(name: string): string[] {
  const role = roleLogicalId(name);
  return statements()
    .filter((statement) => statement.role === role)
    .flatMap((statement) => statement.actions);
}

/** Names of the functions whose role may perform `action` on a resource matching `resource`. */
function functionsAllowed(action: (a: string) => boolean, resource: (r: string) => boolean): string[] {
  const roles = new Set(
    statements()
      .filter((s) => s.actions.some(action) && s.resources.some(resource))
      .map((s) => s.role),
  );
  return allFunctions
    .map((fn) => fn.name)
    .filter((name) => roles.has(roleLogicalId(name)))
    .sort();
}

function functionsNeeding(...needs: FunctionNeed[]): string[] {
  return allFunctions
    .filter((fn) => fn.needs.some((need) => needs.includes(need)))
    .map((fn) => fn.name)
    .sort();
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

  it('logs access to a log group and throttles the default stage', () => {
    template.hasResourceProperties('AWS::ApiGatewayV2::Stage', {
      StageName: '$default',
      AutoDeploy: true,
      DefaultRouteSettings: { ThrottlingBurstLimit: 200, ThrottlingRateLimit: 100 },
      AccessLogSettings: {
        DestinationArn: { 'Fn::GetAtt': [Match.stringLikeRegexp('AccessLogs'), 'Arn'] },
        Format: Match.stringLikeRegexp('\\$context.requestId'),
      },
    });
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

  it.each([
    ['revocation', 3],
    ['backfill', 5],
  ] as const)('the %s queue sends a message to its DLQ after %i receives', (name, maxReceiveCount) => {
    const { queue, deadLetterQueue } = stack.queues[name];
    const queues = template.findResources('AWS::SQS::Queue');
    expect(queues[queueId(queue)]?.Properties.RedrivePolicy).toEqual({
      deadLetterTargetArn: { 'Fn::GetAtt': [queueId(deadLetterQueue), 'Arn'] },
      maxReceiveCount,
    });
    expect(queues[queueId(queue)]?.Properties.MessageRetentionPeriod).toBe(4 * 24 * 3600);
    expect(queues[queueId(deadLetterQueue)]?.Properties.MessageRetentionPeriod).toBe(14 * 24 * 3600);
  });

  it('encrypts every queue and refuses plain-HTTP access to it', () => {
    const queues = template.findResources('AWS::SQS::Queue');
    expect(Object.keys(queues)).toHaveLength(4);
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

  it('hides a revocation message for at least six times the worker timeout', () => {
    const queues = template.findResources('AWS::SQS::Queue');
    const functions = template.findResources('AWS::Lambda::Function');
    const workerTimeout = functions[functionLogicalId(revocationWorker.name)]?.Properties.Timeout;
    const visibility = queues[queueId(stack.queues.revocation.queue)]?.Properties.VisibilityTimeout;
    expect(workerTimeout).toBe(60);
    expect(visibility).toBeGreaterThanOrEqual(6 * workerTimeout);
  });

  it('gives a backfill worker 16 minutes per message', () => {
    const queues = template.findResources('AWS::SQS::Queue');
    expect(queues[queueId(stack.queues.backfill.queue)]?.Properties.VisibilityTimeout).toBe(16 * 60);
  });

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

  it('feeds the revocation queue to the worker in batches of 5, reporting item failures', () => {
    template.resourceCountIs('AWS::Lambda::EventSourceMapping', 2);
    template.hasResourceProperties('AWS::Lambda::EventSourceMapping', {
      FunctionName: { Ref: functionLogicalId(revocationWorker.name) },
      EventSourceArn: { 'Fn::GetAtt': [queueId(stack.queues.revocation.queue), 'Arn'] },
      BatchSize: 5,
      FunctionResponseTypes: ['ReportBatchItemFailures'],
    });
  });
});

describe('alarms', () => {
  it.each(['revocation', 'backfill'] as const)('alarms as soon as one message is in the %s DLQ', (name) => {
    const dlq = logicalId(stack.queues[name].deadLetterQueue.node.defaultChild);
    template.hasResourceProperties('AWS::CloudWatch::Alarm', {
      Namespace: 'AWS/SQS',
      MetricName: 'ApproximateNumberOfMessagesVisible',
      Dimensions: [{ Name: 'QueueName', Value: { 'Fn::GetAtt': [dlq, 'QueueName'] } }],
      Threshold: 1,
      ComparisonOperator: 'GreaterThanOrEqualToThreshold',
    });
  });

  it("alarms on the revocation worker's errors", () => {
    template.hasResourceProperties('AWS::CloudWatch::Alarm', {
      Namespace: 'AWS/Lambda',
      MetricName: 'Errors',
      Dimensions: [{ Name: 'FunctionName', Value: { Ref: functionLogicalId(revocationWorker.name) } }],
      Threshold: 1,
      ComparisonOperator: 'GreaterThanOrEqualToThreshold',
    });
  });
});

describe('functions', () => {
  it('has one function per route, plus NotFound and the two workers, and no others', () => {
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

  it.each(allFunctions.map((fn) => [fn.name]))(
    '%s: 256 MB, X-Ray, its own log group kept 30 days',
    (name) => {
      const functions = template.findResources('AWS::Lambda::Function');
      const fn = functions[functionLogicalId(name)];
      expect(fn?.Properties).toMatchObject({
        MemorySize: 256,
        Timeout: name === revocationWorker.name ? 60 : name === backfillWorker.name ? 900 : 10,
        TracingConfig: { Mode: 'Active' },
        Handler: 'index.handler',
      });
      const logGroupId = fn?.Properties.LoggingConfig.LogGroup.Ref;
      expect(template.findResources('AWS::Logs::LogGroup')[logGroupId]?.Properties.RetentionInDays).toBe(30);
    },
  );

  it.each(allFunctions.map((fn) => [fn.name, fn.needs] as const))(
    '%s: gets the shared settings, and resource addresses only for its needs',
    (name, needs) => {
      const env = environmentOf(name);
      expect(env).toMatchObject({
        NODE_OPTIONS: '--enable-source-maps',
        POWERTOOLS_SERVICE_NAME: 'compass-stripe-connect',
        LOG_LEVEL: 'INFO',
      });
      for (const key of CONFIG_ENV) expect(env[key], key).toBeDefined();

      const has = (...n: FunctionNeed[]) => n.some((need) => needs.includes(need));
      expect('TABLE_NAME' in env).toBe(has('table:read', 'table:write'));
      expect('CREDENTIALS_SECRET_PREFIX' in env).toBe(
        has('credentials:read', 'credentials:write', 'credentials:delete', 'credentials:update'),
      );
      expect('STRIPE_SECRET_KEY_SECRET_ID' in env).toBe(has('platform-key'));
      expect('REVOCATION_QUEUE_URL' in env).toBe(has('revocation-queue:send'));
      expect('BACKFILL_QUEUE_URL' in env).toBe(has('backfill-queue:send'));
    },
  );

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
});

describe('least privilege', () => {
  it('grants no dynamodb, secretsmanager or sqs action on "*" or with a wildcard action', () => {
    const dataStatements = statements().filter((s) =>
      s.actions.some((action) => /^(dynamodb|secretsmanager|sqs):/.test(action)),
    );
    expect(dataStatements.length).toBeGreaterThan(0);
    for (const statement of dataStatements) {
      for (const action of statement.actions) expect(action).not.toMatch(/\*/);
      for (const resource of statement.resources) {
        expect(resource).not.toBe('*');
        if (statement.actions.some((action) => action.startsWith('secretsmanager:'))) {
          // A wildcard only as the tenant-secret pattern `…:secret:{prefix}/stripe/*`.
          if (resource.endsWith('*')) {
            expect(resource).toMatch(/:secret:compass-stripe-connect\/stripe\/\*$/);
          }
          expect(resource).not.toMatch(/:\*$/);
        }
      }
    }
  });

  it('gives the status function no secretsmanager action', () => {
    expect(httpRoutes.some((route) => route.name === 'ConnectStatus')).toBe(true);
    const actions = actionsOf('ConnectStatus');
    expect(actions.some((action) => action.startsWith('dynamodb:'))).toBe(true);
    expect(actions.filter((action) => action.startsWith('secretsmanager:'))).toEqual([]);
    expect(actions.filter((action) => DYNAMODB_WRITE_ACTIONS.includes(action))).toEqual([]);
  });

  it('gives the connect-start function no secretsmanager and no sqs action', () => {
    expect(httpRoutes.some((route) => route.name === 'ConnectStart')).toBe(true);
    const actions = actionsOf('ConnectStart');
    expect(actions.filter((action) => action.startsWith('secretsmanager:'))).toEqual([]);
    expect(actions.filter((action) => action.startsWith('sqs:'))).toEqual([]);
  });

  it('gives the NotFound function nothing but its logs and traces', () => {
    const services = new Set(actionsOf(notFoundRoute.name).map((action) => action.split(':')[0]));
    expect([...services].sort()).toEqual(['logs', 'xray']);
  });

  it.each(allFunctions.map((fn) => [fn.name, fn.needs] as const))(
    '%s: reaches only the services its needs name',
    (name, needs) => {
      const services = new Set(actionsOf(name).map((action) => action.split(':')[0]));
      const has = (...n: FunctionNeed[]) => n.some((need) => needs.includes(need));
      expect(services.has('dynamodb')).toBe(has('table:read', 'table:write'));
      expect(services.has('secretsmanager')).toBe(
        has(
          'credentials:read',
          'credentials:write',
          'credentials:delete',
          'credentials:update',
          'platform-key',
        ),
      );
      const consumesQueue = name === revocationWorker.name;
      expect(services.has('sqs')).toBe(consumesQueue || has('revocation-queue:send', 'backfill-queue:send'));
    },
  );

  it("lets only functions that need 'platform-key' read the platform key secret", () => {
    const platformKey = (resource: string) => resource.includes('<StripeSecretKeySecretName>');
    expect(functionsAllowed((a) => a.startsWith('secretsmanager:'), platformKey)).toEqual(
      functionsNeeding('platform-key'),
    );
    const actions = statements()
      .filter((s) => s.resources.some(platformKey))
      .flatMap((s) => s.actions);
    expect([...new Set(actions)].sort()).toEqual([
      'secretsmanager:DescribeSecret',
      'secretsmanager:GetSecretValue',
    ]);
  });

  it("lets only functions that need 'connect-webhook-secret' read the Connect endpoint's signing secret", () => {
    const connectSecret = (resource: string) => resource.includes('<ConnectWebhookSecretName>');
    expect(functionsAllowed((a) => a.startsWith('secretsmanager:'), connectSecret)).toEqual(
      functionsNeeding('connect-webhook-secret'),
    );
    expect(functionsNeeding('connect-webhook-secret')).toEqual(['WebhookConnect']);
  });

  it("lets only functions that need 'credentials:write' create tenant secrets, 'credentials:update' change them, and only 'credentials:delete' delete them", () => {
    const tenantSecrets = (resource: string) => resource.includes(':secret:compass-stripe-connect/stripe/*');
    expect(
      functionsAllowed(
        (a) => a === 'secretsmanager:CreateSecret' || a === 'secretsmanager:TagResource',
        tenantSecrets,
      ),
    ).toEqual(functionsNeeding('credentials:write'));
    expect(functionsAllowed((a) => a === 'secretsmanager:DeleteSecret', tenantSecrets)).toEqual(
      functionsNeeding('credentials:delete'),
    );
    expect(functionsAllowed((a) => a === 'secretsmanager:GetSecretValue', tenantSecrets)).toEqual(
      functionsNeeding('credentials:read', 'credentials:write', 'credentials:update'),
    );
    expect(functionsAllowed((a) => a === 'secretsmanager:PutSecretValue', tenantSecrets)).toEqual(
      functionsNeeding('credentials:write', 'credentials:update'),
    );
  });

  it("lets only functions that need 'table:write' write to the table", () => {
    const table = (resource: string) =>
      resource.startsWith(`<${logicalId(stack.storage.table.node.defaultChild)}.`);
    expect(functionsAllowed((a) => DYNAMODB_WRITE_ACTIONS.includes(a), table)).toEqual(
      functionsNeeding('table:write'),
    );
    expect(functionsAllowed((a) => a === 'dynamodb:Query', table)).toEqual(
      functionsNeeding('table:read', 'table:write'),
    );
  });

  it.each([
    ['revocation', 'revocation-queue:send'],
    ['backfill', 'backfill-queue:send'],
  ] as const)('lets only functions that need it send to the %s queue', (name, need) => {
    const queue = `<${logicalId(stack.queues[name].queue.node.defaultChild)}.Arn>`;
    expect(
      functionsAllowed(
        (a) => a === 'sqs:SendMessage',
        (r) => r === queue,
      ),
    ).toEqual(functionsNeeding(need));
  });
});

describe('cdk-nag (AwsSolutions)', () => {
  it('synthesizes with no unacknowledged finding', () => {
    expect(() => app.synth()).not.toThrow();
  });

  it('fails synthesis on a finding nobody acknowledged', () => {
    const probe = buildApp();
    new Queue(probe.stack, 'UnencryptedQueueWithoutDlq', {});
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
