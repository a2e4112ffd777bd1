import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { CfnElement } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  backfillWorker,
  erasureWorker,
  httpRoutes,
  notFoundRoute,
  reconcileWorker,
  revocationWorker,
} from '#functions/routes.ts';
import { createApp } from '#infra/app.ts';
import type { CompassStripeConnectStack } from '#infra/compass-stripe-connect-stack.ts';
import { EVENT_SOURCE_ACTIONS, QUEUE_URL_VARIABLES } from '#infra/function-permissions.ts';
import { flatten } from '#infra/nag-findings.ts';
import { tableArn as iamTableArn, queueArn } from '#test/support/iam/aws-requests.ts';
import { evaluate, type PolicyStatement } from '#test/support/iam/policy-evaluator.ts';
import { synthesizeRolePolicies } from '#test/support/iam/synthesize-role-policies.ts';
import { boundRoles, STABLE_NAMES } from '#test/support/iam/template-roles.ts';

/**
 * The roles as the template writes them. What each grant is *for* is proved by the IAM-enforced
 * integration tests and `npm run test:iam-mutations`; these assertions pin the shape AWS sees.
 */

const workers = [revocationWorker, backfillWorker, reconcileWorker, erasureWorker];
const allFunctions = [...httpRoutes, notFoundRoute, ...workers].map((f) => f.name);

interface Statement {
  readonly Sid?: string;
  readonly Effect: string;
  readonly Action: string | string[];
  readonly Resource: unknown;
  readonly Condition?: Record<string, Record<string, string | string[]>>;
}

let stack: CompassStripeConnectStack;
let template: Template;
let outdir: string;

beforeAll(() => {
  const cdkJson = JSON.parse(readFileSync(new URL('../../cdk.json', import.meta.url), 'utf8')) as {
    context?: Record<string, unknown>;
  };
  outdir = mkdtempSync(join(tmpdir(), 'cdk-permissions-test-'));
  ({ stack } = createApp({ context: { ...cdkJson.context, 'aws:cdk:bundling-stacks': [] }, outdir }));
  template = Template.fromStack(stack);
}, 120_000);

afterAll(() => rmSync(outdir, { recursive: true, force: true }));

/** The roles as IAM evaluates them, bound to the stable names of the table and queues. */
let roles: Map<string, PolicyStatement[]> | undefined;
function evaluatedRoles() {
  roles ??= boundRoles(synthesizeRolePolicies());
  return roles;
}

/** The functions whose role allows `action` on `resource` with these partition keys. */
function allowedTo(action: string, resource: string, leadingKeys?: string[]): string[] {
  const context = leadingKeys ? { 'dynamodb:LeadingKeys': leadingKeys } : {};
  return [...evaluatedRoles()]
    .filter(([, statements]) => evaluate(statements, { action, resource, context }) === 'allowed')
    .map(([name]) => name)
    .sort();
}

const asArray = <T>(value: T | T[]): T[] => (Array.isArray(value) ? value : [value]);
const logicalId = (construct: { node: { defaultChild?: unknown } }) =>
  stack.getLogicalId(construct.node.defaultChild as CfnElement);

function fn(name: string) {
  const found = stack.functions.get(name);
  if (!found) throw new Error(`no function ${name}`);
  return found;
}

/** The statements of the managed policies attached to the function's role. */
function statementsOf(name: string): (Statement & { resources: string[]; actions: string[] })[] {
  const role = logicalId(fn(name).role);
  return Object.values(template.findResources('AWS::IAM::ManagedPolicy'))
    .filter((p) => (p.Properties.Roles as { Ref: string }[]).some((r) => r.Ref === role))
    .flatMap((p) => p.Properties.PolicyDocument.Statement as Statement[])
    .map((s) => ({ ...s, actions: asArray(s.Action), resources: asArray(s.Resource).map(flatten) }));
}

const grants = (name: string, action: string) =>
  statementsOf(name).filter((s) => s.Effect === 'Allow' && s.actions.includes(action));

describe('roles', () => {
  it('hold no inline policy and no AWS-managed policy: one customer-managed policy each', () => {
    template.resourceCountIs('AWS::IAM::Policy', 0);
    for (const name of allFunctions) {
      const role = template.findResources('AWS::IAM::Role')[logicalId(fn(name).role)];
      expect(role?.Properties.Policies, name).toBeUndefined();
      expect(role?.Properties.ManagedPolicyArns, name).toBeUndefined();
      const attached = Object.values(template.findResources('AWS::IAM::ManagedPolicy')).filter((p) =>
        (p.Properties.Roles as { Ref: string }[]).some((r) => r.Ref === logicalId(fn(name).role)),
      );
      expect(attached, name).toHaveLength(1);
    }
  });

  it.each(allFunctions.map((name) => [name]))(
    '%s: is created after its policy (else AWS may invoke it, or create its event source, without it)',
    (name) => {
      const resource = template.findResources('AWS::Lambda::Function')[logicalId(fn(name).function)];
      const policies = Object.entries(template.findResources('AWS::IAM::ManagedPolicy'))
        .filter(([, p]) =>
          (p.Properties.Roles as { Ref: string }[]).some((r) => r.Ref === logicalId(fn(name).role)),
        )
        .map(([id]) => id);
      expect(resource?.DependsOn ?? [], name).toEqual(expect.arrayContaining(policies));
    },
  );

  it.each(allFunctions.map((name) => [name]))(
    '%s: writes only to its own log group and traces to X-Ray (what Lambda does on its behalf)',
    (name) => {
      const logs = statementsOf(name).filter((s) => s.actions.some((a) => a.startsWith('logs:')));
      expect(logs).toHaveLength(1);
      expect(logs[0]?.actions.sort()).toEqual(['logs:CreateLogStream', 'logs:PutLogEvents']);
      expect(logs[0]?.resources).toEqual([`<${logicalId(fn(name).logGroup)}.Arn>`]);
      const xray = statementsOf(name).filter((s) => s.actions.some((a) => a.startsWith('xray:')));
      expect(xray.flatMap((s) => s.actions).sort()).toEqual([
        'xray:PutTelemetryRecords',
        'xray:PutTraceSegments',
      ]);
    },
  );

  it('lets only each worker read its own queue, with exactly what the SQS event source needs', () => {
    const consumers = (queue: string) =>
      allFunctions.filter((name) =>
        statementsOf(name).some(
          (s) => s.actions.includes('sqs:ReceiveMessage') && s.resources.includes(`<${queue}.Arn>`),
        ),
      );
    for (const worker of workers) {
      expect(consumers(logicalId(stack.queues[worker.consumes].queue))).toEqual([worker.name]);
      expect(consumers(logicalId(stack.queues[worker.consumes].deadLetterQueue))).toEqual([]);
    }
    for (const name of workers.map((w) => w.name)) {
      const source = statementsOf(name).filter((s) => s.Sid === 'LambdaSqsEventSource');
      expect(source.flatMap((s) => s.actions).sort()).toEqual([...EVENT_SOURCE_ACTIONS].sort());
    }
  });
});

describe('table', () => {
  const tableArn = () => `<${logicalId(stack.storage.table)}.Arn>`;

  it('no function may Scan; only the backfill worker may BatchGetItem, and it and the erasure worker BatchWriteItem', () => {
    for (const name of allFunctions) {
      expect(grants(name, 'dynamodb:Scan'), name).toEqual([]);
      expect(grants(name, 'dynamodb:BatchGetItem').length > 0, name).toBe(name === backfillWorker.name);
      expect(grants(name, 'dynamodb:BatchWriteItem').length > 0, name).toBe(
        name === backfillWorker.name || name === erasureWorker.name,
      );
    }
  });

  it("lets the erasure worker delete only a tenant's records, journal and ledger, never its rows or claims", () => {
    const table = iamTableArn(STABLE_NAMES.table);
    const eraser = erasureWorker.name;
    for (const pk of ['REC#tenant_a#customers', 'JOURNAL#tenant_a', 'LEDGER#tenant_a']) {
      expect(allowedTo('dynamodb:BatchWriteItem', table, [pk]), pk).toContain(eraser);
      expect(allowedTo('dynamodb:Query', table, [pk]), pk).toContain(eraser);
    }
    for (const pk of ['TENANT#tenant_a', 'STRIPE_ACCOUNT#acct_1', 'OAUTH_STATE#s']) {
      expect(allowedTo('dynamodb:BatchWriteItem', table, [pk]), pk).not.toContain(eraser);
      expect(allowedTo('dynamodb:DeleteItem', table, [pk]), pk).not.toContain(eraser);
    }
    // One batch mixing a record and a tenant row is refused whole (ForAllValues).
    expect(allowedTo('dynamodb:BatchWriteItem', table, ['REC#tenant_a#orders', 'TENANT#tenant_a'])).toEqual(
      [],
    );
  }, 60_000);

  it("reads a tenant's state with one Query of its partition: the webhook functions and the sweep, nothing else", () => {
    const table = iamTableArn(STABLE_NAMES.table);
    expect(allowedTo('dynamodb:Query', table, ['TENANT#tenant_a'])).toEqual(
      ['ReconcileWorker', 'WebhookConnect', 'WebhookTenant'].sort(),
    );
    // The other partitions a function queries on the table itself (not gsi1).
    expect(allowedTo('dynamodb:Query', table, ['REC#tenant_a#orders'])).toEqual([
      'BackfillWorker',
      'ErasureWorker',
      'MetricsRead',
      'SubscriptionHistoryRead',
    ]);
    expect(allowedTo('dynamodb:Query', table, ['LEDGER#tenant_a'])).toEqual(['ErasureWorker']);
    expect(allowedTo('dynamodb:Query', table, ['STRIPE_ACCOUNT#acct_1'])).toEqual([]);
  }, 60_000);

  it('limits every item action on the table to the partition key prefixes the function names', () => {
    for (const name of allFunctions) {
      for (const statement of statementsOf(name)) {
        if (!statement.actions.some((a) => a.startsWith('dynamodb:'))) continue;
        if (statement.resources.every((r) => r === `${tableArn()}/index/gsi1`)) {
          expect(statement.actions, name).toEqual(['dynamodb:Query']);
          continue;
        }
        expect(statement.resources, name).toEqual([tableArn()]);
        const prefixes = statement.Condition?.['ForAllValues:StringLike']?.['dynamodb:LeadingKeys'];
        expect(asArray(prefixes ?? []).length, `${name} ${statement.actions}`).toBeGreaterThan(0);
        for (const prefix of asArray(prefixes ?? [])) expect(prefix).toMatch(/^[A-Z_]+#\*$/);
        // ForAllValues is true for a request with no key at all: only item actions may carry it.
        for (const action of statement.actions) {
          expect(action).toMatch(
            /^dynamodb:(GetItem|Query|BatchGetItem|PutItem|UpdateItem|DeleteItem|BatchWriteItem)$/,
          );
        }
      }
    }
  });

  it('the public webhook functions write only the ledger, journal, records and tenant rows (+ claims for a deauthorization)', () => {
    const writes = (name: string) =>
      statementsOf(name)
        .filter((s) => s.actions.some((a) => /^dynamodb:(Put|Update|Delete)Item$/.test(a)))
        .flatMap((s) => asArray(s.Condition?.['ForAllValues:StringLike']?.['dynamodb:LeadingKeys'] ?? []));
    // A deauthorization on either endpoint deletes the tenant's row and frees its claim.
    expect([...new Set(writes('WebhookTenant'))].sort()).toEqual([
      'JOURNAL#*',
      'LEDGER#*',
      'REC#*',
      'STRIPE_ACCOUNT#*',
      'TENANT#*',
    ]);
    expect([...new Set(writes('WebhookConnect'))].sort()).toEqual([
      'JOURNAL#*',
      'LEDGER#*',
      'REC#*',
      'STRIPE_ACCOUNT#*',
      'TENANT#*',
    ]);
  });
});

describe('secrets', () => {
  const webhookSecrets = ':secret:compass-stripe-connect/stripe/webhook/*';
  const readers = (pattern: string) =>
    allFunctions.filter((name) =>
      grants(name, 'secretsmanager:GetSecretValue').some((s) => s.resources.some((r) => r.endsWith(pattern))),
    );

  it('no function can read an OAuth token, and only the tenant webhook function a signing secret (evaluated as IAM would)', () => {
    const roles = evaluatedRoles();
    const arn = (name: string) => `arn:aws:secretsmanager:us-east-1:123456789012:secret:${name}-AbCdEf`;
    const canRead = (name: string) =>
      [...roles]
        .filter(([, statements]) =>
          ['secretsmanager:GetSecretValue', 'secretsmanager:DescribeSecret'].some(
            (action) => evaluate(statements, { action, resource: arn(name), context: {} }) === 'allowed',
          ),
        )
        .map(([fnName]) => fnName);
    expect(canRead('compass-stripe-connect/stripe/oauth/tenant_a')).toEqual([]);
    expect(canRead('compass-stripe-connect/stripe/webhook/tenant_a')).toEqual(['WebhookTenant']);
    // Nothing else under the prefix either (the old one-secret-per-tenant name, a future kind).
    expect(canRead('compass-stripe-connect/stripe/tenant_a')).toEqual([]);
    expect(canRead('compass-stripe-connect/anything')).toEqual([]);
  }, 60_000);

  it('only the tenant webhook function reads the tenants’ webhook signing secrets', () => {
    expect(readers(webhookSecrets)).toEqual(['WebhookTenant']);
  });

  it('the public webhook functions read no secret but their signing secrets', () => {
    for (const name of ['WebhookTenant', 'WebhookConnect']) {
      const read = grants(name, 'secretsmanager:GetSecretValue').flatMap((s) => s.resources);
      for (const resource of read) {
        expect(resource, name).toMatch(/stripe\/webhook\/\*$|<ConnectWebhookSecretName>-\?{6}$/);
      }
    }
  });

  it('reads the platform key only where Stripe is called with it', () => {
    const platformKey = allFunctions.filter((name) =>
      grants(name, 'secretsmanager:GetSecretValue').some((s) =>
        s.resources.some((r) => r.includes('<StripeSecretKeySecretName>')),
      ),
    );
    expect(platformKey.sort()).toEqual([
      'BackfillWorker',
      'ConnectCallback',
      'Disconnect',
      'ReconcileWorker',
      'RevocationWorker',
    ]);
  });

  it('gives the sweep no tenant secret and no deletion of a row, claim or secret (it never disconnects)', () => {
    const statements = statementsOf(reconcileWorker.name);
    const secretActions = statements.flatMap((s) => s.actions.filter((a) => a.startsWith('secretsmanager:')));
    expect(secretActions).toEqual(['secretsmanager:GetSecretValue']);
    const deletes = statements
      .filter((s) => s.actions.includes('dynamodb:DeleteItem'))
      .flatMap((s) => asArray(s.Condition?.['ForAllValues:StringLike']?.['dynamodb:LeadingKeys'] ?? []));
    expect(deletes).toEqual(['LEDGER#*']);
  });

  it('grants no secretsmanager, sqs or dynamodb action on "*" or with a wildcard action', () => {
    for (const name of allFunctions) {
      for (const statement of statementsOf(name)) {
        if (!statement.actions.some((a) => /^(dynamodb|secretsmanager|sqs):/.test(a))) continue;
        for (const action of statement.actions) expect(action).not.toMatch(/\*/);
        for (const resource of statement.resources) expect(resource).not.toBe('*');
      }
    }
  });
});

describe('queues', () => {
  const senders = (queue: 'revocation' | 'backfill' | 'erasure' | 'reconcile') =>
    allowedTo('sqs:SendMessage', queueArn(STABLE_NAMES[`${queue}Queue`]));

  it('lets exactly the functions that queue an erasure send to the erasure queue: never a webhook', () => {
    expect(senders('erasure')).toEqual(['ConnectCallback', 'Disconnect', 'ErasureWorker', 'ReconcileWorker']);
  }, 60_000);

  it('lets only the sweep itself send to the reconcile queue (the schedule sends through the queue policy)', () => {
    expect(senders('reconcile')).toEqual(['ReconcileWorker']);
  }, 60_000);

  it('lets the erasure worker queue the backfill that waited for it', () => {
    expect(senders('backfill')).toEqual([
      'BackfillRequest',
      'BackfillWorker',
      'ConnectCallback',
      'ErasureWorker',
    ]);
  }, 60_000);

  it('has a queue and a URL setting for every queue name a function may send to', () => {
    for (const name of Object.keys(QUEUE_URL_VARIABLES) as (keyof typeof QUEUE_URL_VARIABLES)[]) {
      expect(stack.queues[name].queue, name).toBeDefined();
      expect(QUEUE_URL_VARIABLES[name]).toBe(`${name.toUpperCase()}_QUEUE_URL`);
    }
  });
});
