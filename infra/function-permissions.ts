import { Arn, ArnFormat, Stack, Validations } from 'aws-cdk-lib';
import type { ITableV2 } from 'aws-cdk-lib/aws-dynamodb';
import { type IGrantable, PolicyStatement } from 'aws-cdk-lib/aws-iam';
import type { ISecret } from 'aws-cdk-lib/aws-secretsmanager';
import type { IQueue } from 'aws-cdk-lib/aws-sqs';
import type { IConstruct } from 'constructs';
import type { FunctionNeed } from '../functions/routes.ts';
import { iam5ResourceFinding } from './nag-findings.ts';

/** What the `needs` of functions/routes.ts refer to. */
export interface NeedResources {
  readonly table: ITableV2;
  /** Prefix of the per-tenant secrets: `{prefix}/stripe/{tenantId}`. */
  readonly credentialsSecretPrefix: string;
  readonly platformKeySecret: ISecret;
  readonly connectWebhookSecret: ISecret;
  readonly revocationQueue: IQueue;
  readonly backfillQueue: IQueue;
}

const CREDENTIALS_READ_ACTIONS = ['secretsmanager:GetSecretValue', 'secretsmanager:DescribeSecret'];
const CREDENTIALS_WRITE_ACTIONS = [
  ...CREDENTIALS_READ_ACTIONS,
  'secretsmanager:CreateSecret',
  'secretsmanager:PutSecretValue',
  'secretsmanager:TagResource',
];
/** Changes an existing secret (the webhook signing secret) without creating or deleting any. */
const CREDENTIALS_UPDATE_ACTIONS = ['secretsmanager:GetSecretValue', 'secretsmanager:PutSecretValue'];
/** Only a disconnect removes a tenant's credential. */
const CREDENTIALS_DELETE_ACTIONS = ['secretsmanager:DeleteSecret'];

/** ARN pattern of every tenant's credential secret (Secrets Manager appends `-XXXXXX` to names). */
export function tenantSecretsArn(scope: IConstruct, prefix: string): string {
  return Arn.format(
    {
      service: 'secretsmanager',
      resource: 'secret',
      resourceName: `${prefix}/stripe/*`,
      arnFormat: ArnFormat.COLON_RESOURCE_NAME,
    },
    Stack.of(scope),
  );
}

/**
 * Grants a function exactly what its `needs` list, and returns the environment variables that
 * tell it where those resources are. Nothing is granted that a need does not name.
 *
 * `grantee` is the function; `scope` is where the cdk-nag acknowledgements of the wildcards these
 * grants imply are recorded (the function's construct, so they cover only its own role).
 */
export function grantNeeds(
  grantee: IGrantable,
  scope: IConstruct,
  needs: readonly FunctionNeed[],
  resources: NeedResources,
): Record<string, string> {
  const environment: Record<string, string> = {};
  const has = (need: FunctionNeed) => needs.includes(need);

  if (has('table:write')) {
    resources.table.grantReadWriteData(grantee);
  } else if (has('table:read')) {
    resources.table.grantReadData(grantee);
  }
  if (has('table:write') || has('table:read')) {
    environment.TABLE_NAME = resources.table.tableName;
    Validations.of(scope).acknowledge({
      id: iam5ResourceFinding(scope, `${resources.table.tableArn}/index/*`),
      reason:
        'The table has one GSI (gsi1) that the repositories query; "<table>/index/*" is how IAM names ' +
        "the table's indexes and covers only this one table.",
    });
  }

  if (
    has('credentials:write') ||
    has('credentials:read') ||
    has('credentials:delete') ||
    has('credentials:update')
  ) {
    const arn = tenantSecretsArn(scope, resources.credentialsSecretPrefix);
    const actions = new Set<string>([
      ...(has('credentials:write')
        ? CREDENTIALS_WRITE_ACTIONS
        : has('credentials:read')
          ? CREDENTIALS_READ_ACTIONS
          : []),
      ...(has('credentials:update') ? CREDENTIALS_UPDATE_ACTIONS : []),
      ...(has('credentials:delete') ? CREDENTIALS_DELETE_ACTIONS : []),
    ]);
    grantee.grantPrincipal.addToPrincipalPolicy(
      new PolicyStatement({ actions: [...actions], resources: [arn] }),
    );
    environment.CREDENTIALS_SECRET_PREFIX = resources.credentialsSecretPrefix;
    Validations.of(scope).acknowledge({
      id: iam5ResourceFinding(scope, arn),
      reason:
        'One secret per tenant, created at connect time, so the names are not known at deploy time; the ' +
        `pattern is limited to this connector's "${resources.credentialsSecretPrefix}/stripe/" prefix.`,
    });
  }

  if (has('platform-key')) {
    resources.platformKeySecret.grantRead(grantee);
    environment.STRIPE_SECRET_KEY_SECRET_ID = resources.platformKeySecret.secretName;
  }

  if (has('connect-webhook-secret')) {
    resources.connectWebhookSecret.grantRead(grantee);
    environment.STRIPE_CONNECT_WEBHOOK_SECRET_SECRET_ID = resources.connectWebhookSecret.secretName;
  }

  if (has('revocation-queue:send')) {
    resources.revocationQueue.grantSendMessages(grantee);
    environment.REVOCATION_QUEUE_URL = resources.revocationQueue.queueUrl;
  }
  if (has('backfill-queue:send')) {
    resources.backfillQueue.grantSendMessages(grantee);
    environment.BACKFILL_QUEUE_URL = resources.backfillQueue.queueUrl;
  }

  return environment;
}
