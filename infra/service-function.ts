import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { type Duration, Validations } from 'aws-cdk-lib';
import { Role, ServicePrincipal } from 'aws-cdk-lib/aws-iam';
import type { IKey } from 'aws-cdk-lib/aws-kms';
import { Architecture, Runtime, Tracing } from 'aws-cdk-lib/aws-lambda';
import { NodejsFunction, OutputFormat } from 'aws-cdk-lib/aws-lambda-nodejs';
import { LogGroup, RetentionDays } from 'aws-cdk-lib/aws-logs';
import { Construct } from 'constructs';

/** The repository root: route entries, the lock file and tsconfig.json are relative to it. */
export const REPO_ROOT = fileURLToPath(new URL('..', import.meta.url));

/**
 * Lambda's newest Node.js. Named explicitly rather than `NODEJS_LATEST` (which CDK moves between
 * releases) so an upgrade of aws-cdk-lib never changes the deployed runtime unnoticed; cdk-nag's
 * AwsSolutions-L1 fails the build when a newer one ships, which is the cue to raise it.
 */
export const FUNCTION_RUNTIME = Runtime.NODEJS_24_X;

export const SERVICE_NAME = 'compass-stripe-connect';

export interface ServiceFunctionProps {
  /** Handler module relative to the repository root; it exports `handler`. */
  readonly entry: string;
  readonly description: string;
  readonly timeout: Duration;
  readonly environment: Readonly<Record<string, string>>;
  /** From infra/capacity-model.ts (FUNCTION_MEMORY_MB). */
  readonly memorySize: number;
  /** Instances reserved for it, and its cap (infra/capacity-model.ts); may be a parameter. */
  readonly reservedConcurrency: number;
  /** Encrypts its log group. */
  readonly logKey: IKey;
}

/**
 * One Lambda function of the connector, with the settings every one of them shares: arm64, the
 * newest Node.js, an ESM bundle with source maps, X-Ray, and its own log group kept 30 days.
 *
 * It gets its own role, and the function is given that role *without policy updates*: nothing
 * CDK would grant on its own (logs, traces, an event source's reads) reaches it. Every
 * permission is written in the one managed policy of function-permissions.ts, from the route's
 * `access`, so the template shows everything the function may do in one place. This also
 * avoids the AWSLambdaBasicExecutionRole managed policy, which may write to any log group.
 */
export class ServiceFunction extends Construct {
  readonly function: NodejsFunction;
  readonly role: Role;
  readonly logGroup: LogGroup;

  constructor(scope: Construct, id: string, props: ServiceFunctionProps) {
    super(scope, id);

    this.logGroup = new LogGroup(this, 'LogGroup', {
      retention: RetentionDays.ONE_MONTH,
      encryptionKey: props.logKey,
    });
    this.role = new Role(this, 'Role', {
      assumedBy: new ServicePrincipal('lambda.amazonaws.com'),
      description: `Execution role of ${id}`,
    });

    this.function = new NodejsFunction(this, 'Function', {
      entry: path.resolve(REPO_ROOT, props.entry),
      handler: 'handler',
      description: props.description,
      runtime: FUNCTION_RUNTIME,
      architecture: Architecture.ARM_64,
      memorySize: props.memorySize,
      reservedConcurrentExecutions: props.reservedConcurrency,
      timeout: props.timeout,
      role: this.role.withoutPolicyUpdates(),
      logGroup: this.logGroup,
      tracing: Tracing.ACTIVE,
      projectRoot: REPO_ROOT,
      depsLockFilePath: path.join(REPO_ROOT, 'package-lock.json'),
      bundling: {
        format: OutputFormat.ESM,
        target: 'node22',
        minify: true,
        sourceMap: true,
        mainFields: ['module', 'main'],
        // Some dependencies still call require(); ESM bundles have none unless it is recreated.
        banner: "import { createRequire } from 'module'; const require = createRequire(import.meta.url);",
        forceDockerBundling: false,
      },
      environment: {
        NODE_OPTIONS: '--enable-source-maps',
        POWERTOOLS_SERVICE_NAME: SERVICE_NAME,
        LOG_LEVEL: 'INFO',
        ...props.environment,
      },
    });
    acknowledgeHipaaFunctionFindings(this.function);
  }
}

/** HIPAA findings that hold for every function of the connector, with why each is accepted. */
function acknowledgeHipaaFunctionFindings(fn: NodejsFunction): void {
  Validations.of(fn).acknowledge(
    {
      id: 'HIPAA.Security-LambdaDLQ',
      reason:
        'No function is invoked asynchronously, and a function DLQ only catches failed asynchronous ' +
        'invocations: API Gateway invokes the HTTP functions synchronously (a failure is the HTTP answer, ' +
        'which Stripe retries; so is the backfill worker when invoked by hand), and the queue workers are ' +
        "invoked by SQS event source mappings, whose failed messages land in each queue's own dead-letter " +
        'queue (alarmed).',
    },
    {
      id: 'HIPAA.Security-LambdaInsideVPC',
      reason:
        'The functions accept no inbound connection and reach only AWS public endpoints (DynamoDB, Secrets ' +
        'Manager, SQS, X-Ray, CloudWatch Logs) over TLS with SigV4 authorization, and Stripe over the ' +
        'internet over TLS. A VPC would not change how those calls are authenticated or encrypted; it would ' +
        'add egress filtering at the cost of a NAT gateway per zone for Stripe and an interface endpoint per ' +
        'AWS service, which this connector does not need.',
    },
  );
}
