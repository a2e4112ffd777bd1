import { describe, expect, it } from 'vitest';
import { dynamoDbRequests, secretsManagerRequests } from '#test/support/iam/aws-requests.ts';
import { grantsOf, withoutGrant } from '#test/support/iam/grant-mutations.ts';
import { evaluate, globMatches, type PolicyStatement } from '#test/support/iam/policy-evaluator.ts';

/** The IAM model the integration tests enforce: it must refuse what AWS refuses. */

const TABLE = 'arn:aws:dynamodb:us-east-1:123456789012:table/T';
const writeLedger: PolicyStatement = {
  Effect: 'Allow',
  Action: 'dynamodb:PutItem',
  Resource: TABLE,
  Condition: { 'ForAllValues:StringLike': { 'dynamodb:LeadingKeys': ['LEDGER#*', 'JOURNAL#*'] } },
};
const put = (pk: string) =>
  dynamoDbRequests('PutItem', { TableName: 'T', Item: { pk: { S: pk }, sk: { S: 'x' } } });

describe('policy evaluation', () => {
  it('allows an item action only on the prefixes of its LeadingKeys condition', () => {
    expect(evaluate([writeLedger], put('LEDGER#t1')[0] as never)).toBe('allowed');
    expect(evaluate([writeLedger], put('TENANT#t1')[0] as never)).toBe('implicitDeny');
  });

  it('needs every leading key of a batch to match (ForAllValues)', () => {
    const batch = dynamoDbRequests('BatchWriteItem', {
      RequestItems: {
        T: [
          { PutRequest: { Item: { pk: { S: 'LEDGER#a' } } } },
          { PutRequest: { Item: { pk: { S: 'REC#a' } } } },
        ],
      },
    });
    expect(evaluate([{ ...writeLedger, Action: 'dynamodb:BatchWriteItem' }], batch[0] as never)).toBe(
      'implicitDeny',
    );
  });

  it('lets a request without the key through a ForAllValues condition, as AWS does (why no Scan is granted)', () => {
    const scan = { ...writeLedger, Action: 'dynamodb:Scan' };
    expect(evaluate([scan], dynamoDbRequests('Scan', { TableName: 'T' })[0] as never)).toBe('allowed');
  });

  it('lets an explicit deny win over any allow', () => {
    const deny: PolicyStatement = { Effect: 'Deny', Action: 'dynamodb:*', Resource: '*' };
    expect(evaluate([writeLedger, deny], put('LEDGER#t1')[0] as never)).toBe('explicitDeny');
  });

  it('reads a negated operator as "matches none of the values"', () => {
    const statement: PolicyStatement = {
      Effect: 'Allow',
      Action: 'x:Y',
      Resource: '*',
      Condition: { StringNotEquals: { 'k:v': ['a', 'b'] } },
    };
    expect(evaluate([statement], { action: 'x:Y', resource: 'r', context: { 'k:v': 'a' } })).toBe(
      'implicitDeny',
    );
    expect(evaluate([statement], { action: 'x:Y', resource: 'r', context: { 'k:v': 'c' } })).toBe('allowed');
  });

  it('matches * and ? as IAM does, actions without case', () => {
    expect(globMatches('secret:name-??????', 'secret:name-AbCdEf')).toBe(true);
    expect(globMatches('secret:name-??????', 'secret:name-AbCdE')).toBe(false);
    expect(globMatches('secret:p/stripe/webhook/*', 'secret:p/stripe/oauth/t1-AbCdEf')).toBe(false);
    expect(
      evaluate([{ Effect: 'Allow', Action: 'SQS:sendmessage', Resource: '*' }], {
        action: 'sqs:SendMessage',
        resource: 'q',
        context: {},
      }),
    ).toBe('allowed');
  });

  it('throws on what it does not model, instead of allowing it', () => {
    expect(() =>
      evaluate(
        [{ ...writeLedger, Condition: { IpAddress: { 'aws:SourceIp': '1.2.3.4' } } }],
        put('LEDGER#1')[0] as never,
      ),
    ).toThrow(/not modelled/);
    expect(() =>
      evaluate([{ Effect: 'Allow', Action: 'a:B', NotResource: 'x', Resource: [] }], {
        action: 'a:B',
        resource: 'r',
        context: {},
      }),
    ).toThrow(/not modelled/);
  });
});

describe('what an SDK call asks IAM for', () => {
  it('reads the partition key of a query wherever it stands, and refuses one it cannot read', () => {
    const query = (expression: string) =>
      dynamoDbRequests('Query', {
        TableName: 'T',
        KeyConditionExpression: expression,
        ExpressionAttributeNames: { '#p': 'pk' },
        ExpressionAttributeValues: { ':p': { S: 'JOURNAL#t' }, ':s': { S: '2026' } },
      })[0]?.context['dynamodb:LeadingKeys'];
    expect(query('pk = :p AND sk >= :s')).toEqual(['JOURNAL#t']);
    expect(query('(#p = :p)')).toEqual(['JOURNAL#t']);
    expect(() => query('sk >= :s')).toThrow(/partition key/);
  });

  it('asks for TagResource too when CreateSecret carries tags', () => {
    const requests = secretsManagerRequests(
      'CreateSecret',
      { Name: 'n', Tags: [{ Key: 'a', Value: 'b' }] },
      (n) => `arn:${n}`,
    );
    expect(requests.map((r) => r.action)).toEqual([
      'secretsmanager:CreateSecret',
      'secretsmanager:TagResource',
    ]);
  });
});

describe('grants and their mutations', () => {
  it('lists each action, resource and condition value as a grant, and removes exactly one', () => {
    const grants = grantsOf('F', [writeLedger]);
    expect(grants.map((g) => `${g.element}:${g.value}`)).toEqual([
      'Action:dynamodb:PutItem',
      `Resource:${TABLE}`,
      'Condition:LEDGER#*',
      'Condition:JOURNAL#*',
    ]);
    const withoutJournal = withoutGrant([writeLedger], grants[3] as never);
    expect(withoutJournal[0]?.Condition).toEqual({
      'ForAllValues:StringLike': { 'dynamodb:LeadingKeys': ['LEDGER#*'] },
    });
    expect(withoutGrant([writeLedger], grants[0] as never)).toEqual([]);
  });
});
