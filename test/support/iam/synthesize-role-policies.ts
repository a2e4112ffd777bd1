import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { CfnElement } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import { createApp } from '#infra/app.ts';
import type { PolicyStatement } from './policy-evaluator.ts';
import type { RolePolicies } from './template-roles.ts';

/*
 * The synthesis lives apart from template-roles.ts because it loads aws-cdk-lib (seconds of
 * import): only the global setup and the scripts synthesize; every test file that builds an
 * IAM-enforcing client imports template-roles.ts and stays light.
 */

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
