import type { AuthorizationRequest } from './policy-evaluator.ts';

/**
 * What IAM authorizes for one SDK call: the actions, the resources and the condition keys AWS
 * documents for that operation. DynamoDB inputs arrive marshalled (the document client has
 * already turned values into attribute values at this point of the middleware stack).
 */

export const REGION = 'us-east-1';
export const ACCOUNT = '123456789012';

type Input = Record<string, unknown>;
type AttributeMap = Record<string, unknown>;

const stringOf = (value: unknown): string | undefined => {
  if (typeof value === 'string') return value;
  const s = (value as { S?: unknown } | undefined)?.S;
  return typeof s === 'string' ? s : undefined;
};

export const tableArn = (table: string) => `arn:aws:dynamodb:${REGION}:${ACCOUNT}:table/${table}`;

/**
 * The table's partition key is `pk`; LeadingKeys are the request's partition key values. AWS
 * always has them for an item request: one the model cannot read is an error, never "no key"
 * (which a ForAllValues condition would let through).
 */
function leadingKeys(items: readonly (AttributeMap | undefined)[]): string[] {
  const keys = items.map((item) => stringOf(item?.pk));
  if (keys.length === 0 || keys.some((k) => k === undefined)) {
    throw new Error('The IAM model cannot read the partition key of this request');
  }
  return [...new Set(keys as string[])];
}

function queryLeadingKeys(input: Input): string[] | undefined {
  if (input.IndexName !== undefined) return undefined;
  const expression = String(input.KeyConditionExpression ?? '');
  const names = (input.ExpressionAttributeNames ?? {}) as Record<string, string>;
  const values = (input.ExpressionAttributeValues ?? {}) as AttributeMap;
  // Every `name = :value` term of the key condition; the partition key's is the leading key.
  for (const [, name, placeholder] of expression.matchAll(/([#\w]+)\s*=\s*(:\w+)/g)) {
    const attribute = name?.startsWith('#') ? names[name] : name;
    const value = placeholder ? stringOf(values[placeholder]) : undefined;
    if (attribute === 'pk' && value !== undefined) return [value];
  }
  throw new Error(`The IAM model cannot read the partition key of the query ${expression}`);
}

export function dynamoDbRequests(operation: string, input: Input): AuthorizationRequest[] {
  const action = `dynamodb:${operation}`;
  switch (operation) {
    case 'GetItem':
    case 'DeleteItem':
    case 'UpdateItem':
      return [
        {
          action,
          resource: tableArn(String(input.TableName)),
          context: { 'dynamodb:LeadingKeys': leadingKeys([input.Key as AttributeMap]) },
        },
      ];
    case 'PutItem':
      return [
        {
          action,
          resource: tableArn(String(input.TableName)),
          context: { 'dynamodb:LeadingKeys': leadingKeys([input.Item as AttributeMap]) },
        },
      ];
    case 'Query':
    case 'Scan': {
      const table = tableArn(String(input.TableName));
      const resource = input.IndexName ? `${table}/index/${String(input.IndexName)}` : table;
      const context = operation === 'Query' ? { 'dynamodb:LeadingKeys': queryLeadingKeys(input) } : {};
      return [{ action, resource, context }];
    }
    case 'BatchGetItem':
      return Object.entries((input.RequestItems ?? {}) as Record<string, { Keys?: AttributeMap[] }>).map(
        ([table, request]) => ({
          action,
          resource: tableArn(table),
          context: { 'dynamodb:LeadingKeys': leadingKeys(request.Keys ?? []) },
        }),
      );
    case 'BatchWriteItem':
      return Object.entries(
        (input.RequestItems ?? {}) as Record<
          string,
          { PutRequest?: { Item?: AttributeMap }; DeleteRequest?: { Key?: AttributeMap } }[]
        >,
      ).map(([table, writes]) => ({
        action,
        resource: tableArn(table),
        context: {
          'dynamodb:LeadingKeys': leadingKeys(writes.map((w) => w.PutRequest?.Item ?? w.DeleteRequest?.Key)),
        },
      }));
    case 'CreateTable':
    case 'DescribeTable':
    case 'DeleteTable':
      return [{ action, resource: tableArn(String(input.TableName)), context: {} }];
    default:
      throw new Error(`The IAM model does not know DynamoDB's ${operation}: add it to aws-requests.ts`);
  }
}

/** Secrets Manager authorizes on the secret's ARN (the name plus a random `-XXXXXX`). */
export function secretsManagerRequests(
  operation: string,
  input: Input,
  arnOf: (nameOrArn: string) => string,
): AuthorizationRequest[] {
  const action = `secretsmanager:${operation}`;
  switch (operation) {
    case 'GetSecretValue':
    case 'DescribeSecret':
    case 'PutSecretValue':
    case 'DeleteSecret':
      return [{ action, resource: arnOf(String(input.SecretId)), context: {} }];
    case 'CreateSecret': {
      const resource = arnOf(String(input.Name));
      const requests: AuthorizationRequest[] = [{ action, resource, context: {} }];
      // Tags on CreateSecret need secretsmanager:TagResource too (AWS documents both).
      if (Array.isArray(input.Tags) && input.Tags.length > 0) {
        requests.push({ action: 'secretsmanager:TagResource', resource, context: {} });
      }
      return requests;
    }
    default:
      throw new Error(
        `The IAM model does not know Secrets Manager's ${operation}: add it to aws-requests.ts`,
      );
  }
}

export const queueUrl = (name: string) => `https://sqs.${REGION}.amazonaws.com/${ACCOUNT}/${name}`;
export const queueArn = (name: string) => `arn:aws:sqs:${REGION}:${ACCOUNT}:${name}`;

function queueArnOfUrl(url: string): string {
  const name = url.split('/').pop() ?? '';
  return queueArn(name);
}

export function sqsRequests(operation: string, input: Input): AuthorizationRequest[] {
  switch (operation) {
    case 'SendMessage':
    case 'SendMessageBatch':
      return [{ action: 'sqs:SendMessage', resource: queueArnOfUrl(String(input.QueueUrl)), context: {} }];
    case 'ReceiveMessage':
    case 'DeleteMessage':
    case 'ChangeMessageVisibility':
    case 'GetQueueAttributes':
      return [{ action: `sqs:${operation}`, resource: queueArnOfUrl(String(input.QueueUrl)), context: {} }];
    case 'DeleteMessageBatch':
      return [{ action: 'sqs:DeleteMessage', resource: queueArnOfUrl(String(input.QueueUrl)), context: {} }];
    default:
      throw new Error(`The IAM model does not know SQS's ${operation}: add it to aws-requests.ts`);
  }
}
