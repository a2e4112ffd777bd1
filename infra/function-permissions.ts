import { Arn, ArnFormat, Stack, Validations } from 'aws-cdk-lib';
import type { ITableV2 } from 'aws-cdk-lib/aws-dynamodb';
import { Effect, ManagedPolicy, PolicyStatement } from 'aws-cdk-lib/aws-iam';
import type { ISecret } from 'aws-cdk-lib/aws-secretsmanager';
import type { IQueue } from 'aws-cdk-lib/aws-sqs';
import type { IConstruct } from 'constructs';
import type { FunctionAccess, QueueName, SecretAction, TableItemAction } from '../functions/routes.ts';
import { iam5ResourceFinding } from './nag-findings.ts';
import type { ServiceFunction } from './service-function.ts';

/** What the `access` of functions/routes.ts refers to. */
export interface AccessResources {
  readonly table: ITableV2;
  /** Prefix of the per-tenant secrets: `{prefix}/stripe/oauth/*` and `{prefix}/stripe/webhook/*`. */
  readonly credentialsSecretPrefix: string;
  readonly platformKeySecret: ISecret;
  readonly connectWebhookSecret: ISecret;
  readonly queues: Readonly<Record<QueueName, IQueue>>;
}

/** The setting that tells a function where each queue it sends to is (shared/config/config.ts). */
export const QUEUE_URL_VARIABLES: Readonly<Record<QueueName, string>> = {
  revocation: 'REVOCATION_QUEUE_URL',
  backfill: 'BACKFILL_QUEUE_URL',
  erasure: 'ERASURE_QUEUE_URL',
  reconcile: 'RECONCILE_QUEUE_URL',
};

/** What Lambda's SQS event source does with the consumer's role (AWSLambdaSQSQueueExecutionRole). */
export const EVENT_SOURCE_ACTIONS = ['sqs:ReceiveMessage', 'sqs:DeleteMessage', 'sqs:GetQueueAttributes'];

/** ARN pattern of one kind of tenant secret (Secrets Manager appends `-XXXXXX` to names). */
export function tenantSecretsArn(scope: IConstruct, prefix: string, kind: 'oauth' | 'webhook'): string {
  return Arn.format(
    {
      service: 'secretsmanager',
      resource: 'secret',
      resourceName: `${prefix}/stripe/${kind}/*`,
      arnFormat: ArnFormat.COLON_RESOURCE_NAME,
    },
    Stack.of(scope),
  );
}

/**
 * Writes the function's permissions as one customer-managed policy attached to its role: one
 * statement per table action (limited by `dynamodb:LeadingKeys` to the key prefixes it names),
 * per secret kind, per queue. The role takes no other policy (its function is given the role
 * without policy updates), so CDK's own grants cannot widen it unseen, and nothing is inline
 * (HIPAA.Security-IAMNoInlinePolicy). Returns the environment that tells the function where
 * those resources are.
 */
export function grantAccess(
  fn: ServiceFunction,
  access: FunctionAccess,
  resources: AccessResources,
  consumes?: QueueName,
): Record<string, string> {
  const environment: Record<string, string> = {};
  const statements: PolicyStatement[] = [
    // What Lambda itself writes on the function's behalf: its logs and its traces.
    // (Sids keep CDK's policy minimization from merging them with the function's own statements.)
    new PolicyStatement({
      sid: 'LambdaLogs',
      actions: ['logs:CreateLogStream', 'logs:PutLogEvents'],
      resources: [fn.logGroup.logGroupArn],
    }),
    new PolicyStatement({
      sid: 'LambdaTracing',
      actions: ['xray:PutTraceSegments', 'xray:PutTelemetryRecords'],
      resources: ['*'],
    }),
  ];

  // Query too: on the table itself (not an index) it carries the partition key it reads, so
  // LeadingKeys limits it like an item action (a tenant's state, the partitions an erasure reads).
  const tableActions = Object.entries(access.table ?? {}) as [TableItemAction, readonly string[]][];
  for (const [action, prefixes] of tableActions) {
    statements.push(
      new PolicyStatement({
        // Its own Sid: CDK's policy minimization would merge actions that share prefixes, and each
        // action's prefixes must be removable (and shown needed) on their own.
        sid: `Table${action}`,
        actions: [`dynamodb:${action}`],
        resources: [resources.table.tableArn],
        conditions: {
          'ForAllValues:StringLike': { 'dynamodb:LeadingKeys': prefixes.map((prefix) => `${prefix}*`) },
        },
      }),
    );
  }
  if (access.queryIndex) {
    statements.push(
      new PolicyStatement({
        actions: ['dynamodb:Query'],
        resources: [`${resources.table.tableArn}/index/gsi1`],
      }),
    );
  }
  if (tableActions.length > 0 || access.queryIndex) {
    environment.TABLE_NAME = resources.table.tableName;
  }

  const secretStatement = (kind: 'oauth' | 'webhook', actions: readonly SecretAction[] | undefined) => {
    if (!actions?.length) return;
    const arn = tenantSecretsArn(fn, resources.credentialsSecretPrefix, kind);
    statements.push(
      new PolicyStatement({ actions: actions.map((a) => `secretsmanager:${a}`), resources: [arn] }),
    );
    environment.CREDENTIALS_SECRET_PREFIX = resources.credentialsSecretPrefix;
  };
  secretStatement('oauth', access.tokens);
  secretStatement('webhook', access.webhookSecrets);

  if (access.platformKey) {
    statements.push(secretRead(resources.platformKeySecret));
    environment.STRIPE_SECRET_KEY_SECRET_ID = resources.platformKeySecret.secretName;
  }
  if (access.connectWebhookSecret) {
    statements.push(secretRead(resources.connectWebhookSecret));
    environment.STRIPE_CONNECT_WEBHOOK_SECRET_SECRET_ID = resources.connectWebhookSecret.secretName;
  }

  for (const name of access.sendTo ?? []) {
    const queue = resources.queues[name];
    statements.push(new PolicyStatement({ actions: ['sqs:SendMessage'], resources: [queue.queueArn] }));
    environment[QUEUE_URL_VARIABLES[name]] = queue.queueUrl;
  }
  if (consumes) {
    statements.push(
      new PolicyStatement({
        sid: 'LambdaSqsEventSource',
        actions: EVENT_SOURCE_ACTIONS,
        resources: [resources.queues[consumes].queueArn],
      }),
    );
  }

  const policy = new ManagedPolicy(fn, 'Permissions', {
    description: `What ${fn.node.id} may do, and nothing else`,
    statements: statements.map((statement) => {
      statement.effect = Effect.ALLOW;
      return statement;
    }),
    roles: [fn.role],
  });
  // The role must hold its policy before the function (and its event source) is created.
  fn.function.node.addDependency(policy);
  acknowledgeWildcards(fn, policy, access, resources);
  return environment;
}

/** GetSecretValue only: Powertools' SecretsProvider needs nothing else. */
function secretRead(secret: ISecret): PolicyStatement {
  // Like ISecret.grantRead, whose ARN pattern (`name-??????`) names one secret by its name.
  return new PolicyStatement({
    actions: ['secretsmanager:GetSecretValue'],
    resources: [`${secret.secretArn}-??????`],
  });
}

function acknowledgeWildcards(
  fn: ServiceFunction,
  policy: ManagedPolicy,
  access: FunctionAccess,
  resources: AccessResources,
): void {
  const nag = Validations.of(policy);
  nag.acknowledge({
    id: 'AwsSolutions-IAM5[Resource::*]',
    reason:
      'X-Ray tracing: xray:PutTraceSegments and xray:PutTelemetryRecords support no resource-level ' +
      'permissions, so "*" is the only possible resource; no data action is granted on "*".',
  });
  for (const [kind, actions] of [
    ['oauth', access.tokens],
    ['webhook', access.webhookSecrets],
  ] as const) {
    if (!actions?.length) continue;
    nag.acknowledge({
      id: iam5ResourceFinding(fn, tenantSecretsArn(fn, resources.credentialsSecretPrefix, kind)),
      reason:
        'One secret per tenant, created at connect time, so the names are not known at deploy time; the ' +
        `pattern is limited to this connector's "${resources.credentialsSecretPrefix}/stripe/${kind}/" secrets.`,
    });
  }
  for (const secret of [
    access.platformKey && resources.platformKeySecret,
    access.connectWebhookSecret && resources.connectWebhookSecret,
  ]) {
    if (!secret) continue;
    nag.acknowledge({
      id: iam5ResourceFinding(fn, `${secret.secretArn}-??????`),
      reason:
        'Secrets Manager appends six random characters to a secret name in its ARN; "-??????" matches ' +
        'exactly those six, so the pattern names the one secret the stack parameter names.',
    });
  }
}
