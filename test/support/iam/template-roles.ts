import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { CfnElement } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import { createApp } from '#infra/app.ts';
import { queueArn, tableArn } from './aws-requests.ts';
import type { PolicyStatement } from './policy-evaluator.ts';

/**
 * Every function's permissions, read from the synthesized template (not from the declarations
 * that produced it), with intrinsic functions resolved: pseudo parameters to the test account,
 * parameters to their defaults, and resources the tests stand in for to `{{arn:<LogicalId>}}`
 * placeholders that each test app binds to its own table and queues.
 */
export interface RolePolicies {
  /** Function name (as functions/routes.ts names it) → the statements its role holds. */
  readonly functions: Readonly<Record<string, readonly PolicyStatement[]>>;
  /** Logical ids of what the tests bind: the table and the work queues. */
  readonly logicalIds: {
    readonly table: string;
    readonly revocationQueue: string;
    readonly backfillQueue: string;
    readonly erasureQueue: string;
    readonly reconcileQueue: string;
  };
  /** The environment variables the template gives each function (names only). */
  readonly environmentNames: Readonly<Record<string, readonly string[]>>;
  /** Defaults of the stack's parameters (secret names, …). */
  readonly parameters: Readonly<Record<string, string>>;
}

const PSEUDO: Record<string, string> = {
  'AWS::Partition': 'aws',
  'AWS::Region': 'us-east-1',
  'AWS::AccountId': '123456789012',
  'AWS::URLSuffix': 'amazonaws.com',
};

type Json = unknown;

function resolver(parameters: Record<string, string>) {
  const resolve = (node: Json): Json => {
    if (typeof node === 'string' || typeof node === 'number' || typeof node === 'boolean')
      return String(node);
    if (Array.isArray(node)) return node.map(resolve);
    if (node && typeof node === 'object') {
      const record = node as Record<string, Json>;
      if ('Ref' in record) {
        const name = String(record.Ref);
        if (name in PSEUDO) return PSEUDO[name];
        if (name in parameters) return parameters[name];
        return `{{ref:${name}}}`;
      }
      if ('Fn::GetAtt' in record) {
        const [id, attribute] = record['Fn::GetAtt'] as [string, string];
        return attribute === 'Arn' ? `{{arn:${id}}}` : `{{${attribute}:${id}}}`;
      }
      if ('Fn::Join' in record) {
        const [delimiter, parts] = record['Fn::Join'] as [string, Json[]];
        return parts.map((part) => String(resolve(part))).join(delimiter);
      }
      if ('Fn::If' in record || 'Fn::Select' in record || 'Fn::Split' in record || 'Fn::Sub' in record) {
        throw new Error(`The IAM model cannot resolve ${JSON.stringify(record)}`);
      }
      return Object.fromEntries(Object.entries(record).map(([k, v]) => [k, resolve(v)]));
    }
    return node;
  };
  return resolve;
}

interface PolicyResource {
  readonly Type: string;
  readonly Properties: {
    readonly Roles?: readonly { readonly Ref: string }[];
    readonly PolicyDocument: { readonly Statement: readonly PolicyStatement[] };
  };
}

export function synthesizeRolePolicies(): RolePolicies {
  const cdkJson = JSON.parse(readFileSync(new URL('../../../cdk.json', import.meta.url), 'utf8')) as {
    context?: Record<string, unknown>;
  };
  const outdir = mkdtempSync(join(tmpdir(), 'cdk-iam-model-'));
  try {
    const { stack } = createApp({ context: { ...cdkJson.context, 'aws:cdk:bundling-stacks': [] }, outdir });
    const template = Template.fromStack(stack).toJSON() as {
      Parameters?: Record<string, { Default?: unknown }>;
      Resources: Record<string, PolicyResource & { Properties: Record<string, unknown> }>;
    };
    const parameters = Object.fromEntries(
      Object.entries(template.Parameters ?? {})
        .filter(([, p]) => p.Default !== undefined)
        .map(([name, p]) => [name, String(p.Default)]),
    );
    const resolve = resolver(parameters);
    const logicalId = (construct: { node: { defaultChild?: unknown } }) =>
      stack.getLogicalId(construct.node.defaultChild as CfnElement);

    const functions: Record<string, PolicyStatement[]> = {};
    const environmentNames: Record<string, string[]> = {};
    for (const [name, fn] of stack.functions) {
      const lambda = template.Resources[logicalId(fn.function)]?.Properties as
        | { Environment?: { Variables?: Record<string, unknown> } }
        | undefined;
      environmentNames[name] = Object.keys(lambda?.Environment?.Variables ?? {});
      const roleId = logicalId(fn.role);
      const role = template.Resources[roleId]?.Properties as Record<string, unknown> | undefined;
      if (role?.ManagedPolicyArns || role?.Policies) {
        throw new Error(
          `${name}'s role has managed policy ARNs or inline Policies, which the IAM model does not read`,
        );
      }
      functions[name] = Object.values(template.Resources)
        .filter((r) => r.Type === 'AWS::IAM::Policy' || r.Type === 'AWS::IAM::ManagedPolicy')
        .filter((r) => (r.Properties.Roles ?? []).some((ref) => ref.Ref === roleId))
        .flatMap((r) => r.Properties.PolicyDocument.Statement.map((s) => resolve(s) as PolicyStatement));
    }
    return {
      functions,
      environmentNames,
      logicalIds: {
        table: logicalId(stack.storage.table),
        revocationQueue: logicalId(stack.queues.revocation.queue),
        backfillQueue: logicalId(stack.queues.backfill.queue),
        erasureQueue: logicalId(stack.queues.erasure.queue),
        reconcileQueue: logicalId(stack.queues.reconcile.queue),
      },
      parameters,
    };
  } finally {
    rmSync(outdir, { recursive: true, force: true });
  }
}

/** The statements with the placeholders of the stood-in resources replaced by their ARNs. */
export function bindStatements(
  statements: readonly PolicyStatement[],
  bindings: Readonly<Record<string, string>>,
): PolicyStatement[] {
  const bind = (value: string) =>
    value.replace(/\{\{arn:([A-Za-z0-9]+)\}\}/g, (whole, id: string) => bindings[id] ?? whole);
  return statements.map(
    (statement) =>
      JSON.parse(JSON.stringify(statement), (_key, value) =>
        typeof value === 'string' ? bind(value) : value,
      ) as PolicyStatement,
  );
}

/** Stable names the usage records use for what each test app names at random. */
export const STABLE_NAMES = {
  table: 'TABLE',
  revocationQueue: 'RevocationQueue',
  backfillQueue: 'BackfillQueue',
  erasureQueue: 'ErasureQueue',
  reconcileQueue: 'ReconcileQueue',
};

/** The roles of the synthesized template, bound to stable resource names. */
export function boundRoles(policies: RolePolicies, names = STABLE_NAMES): Map<string, PolicyStatement[]> {
  const bindings = {
    [policies.logicalIds.table]: tableArn(names.table),
    [policies.logicalIds.revocationQueue]: queueArn(names.revocationQueue),
    [policies.logicalIds.backfillQueue]: queueArn(names.backfillQueue),
    [policies.logicalIds.erasureQueue]: queueArn(names.erasureQueue),
    [policies.logicalIds.reconcileQueue]: queueArn(names.reconcileQueue),
  };
  return new Map(
    Object.entries(policies.functions).map(([name, statements]) => [
      name,
      bindStatements(statements, bindings),
    ]),
  );
}
