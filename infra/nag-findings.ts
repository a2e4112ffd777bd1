import { Stack } from 'aws-cdk-lib';
import type { IConstruct } from 'constructs';

/**
 * Renders a resource ARN the way cdk-nag names it in an `AwsSolutions-IAM5` finding
 * (`Resource::arn:<AWS::Partition>:…`, `<Table1234.Arn>/index/*`), so an acknowledgement names
 * exactly the one wildcard it accepts and nothing else.
 */
export function iam5ResourceFinding(scope: IConstruct, arn: string): string {
  return `AwsSolutions-IAM5[Resource::${flatten(Stack.of(scope).resolve(arn))}]`;
}

/**
 * Flattens a resolved CloudFormation value to a string (`{Ref: X}` → `<X>`, `Fn::GetAtt` →
 * `<X.Arn>`, `Fn::Join` joined), exactly as cdk-nag's `flattenCfnReference` does
 * (cdk-nag/lib/utils/flatten-cfn-reference.js).
 */
export function flatten(node: unknown): string {
  if (node === undefined) return '';
  if (typeof node === 'string') return node.replace(/\$\{/g, '<').replace(/}/g, '>');
  if (typeof node === 'object' && node !== null) {
    const record = node as Record<string, unknown>;
    if (Array.isArray(record['Fn::Join'])) {
      const [delimiter, items] = record['Fn::Join'] as [string, unknown[]];
      return items.map(flatten).join(delimiter);
    }
    if (record['Fn::Sub'] !== undefined) return flatten(record['Fn::Sub']);
    if (Array.isArray(record['Fn::GetAtt'])) {
      const [resource, attribute] = record['Fn::GetAtt'] as [unknown, unknown];
      return `<${flatten(resource)}.${flatten(attribute)}>`;
    }
    if (record['Fn::ImportValue'] !== undefined) return flatten(record['Fn::ImportValue']);
    if (record.Ref !== undefined) return `<${flatten(record.Ref)}>`;
  }
  return JSON.stringify(node);
}
