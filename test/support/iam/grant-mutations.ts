import type { PolicyStatement } from './policy-evaluator.ts';

/**
 * A grant is one element of one Allow statement of a role: an action, a resource, or one value
 * of a condition (a `dynamodb:LeadingKeys` prefix). Removing any one of them is a mutation; the
 * harness proves that every mutation makes a test fail.
 *
 * Statements that only AWS services exercise on the function's behalf (CloudWatch Logs, X-Ray,
 * the SQS event source's poller) are not grants here: no test of ours makes those calls, so the
 * infra tests pin them to exactly what those services document instead.
 */
export interface Grant {
  readonly id: string;
  readonly functionName: string;
  readonly statementIndex: number;
  readonly element: 'Action' | 'Resource' | 'Condition';
  readonly value: string;
  readonly operator?: string;
  readonly key?: string;
}

/** What Lambda's SQS event source needs of the function's role (AWSLambdaSQSQueueExecutionRole). */
export const EVENT_SOURCE_ACTIONS = ['sqs:ReceiveMessage', 'sqs:DeleteMessage', 'sqs:GetQueueAttributes'];

const list = <T>(value: T | readonly T[] | undefined): readonly T[] =>
  value === undefined ? [] : Array.isArray(value) ? (value as readonly T[]) : [value as T];

export function isServiceExercised(statement: PolicyStatement): boolean {
  return list(statement.Action).every(
    (action) => /^(logs|xray):/.test(action) || EVENT_SOURCE_ACTIONS.includes(action),
  );
}

export function grantsOf(functionName: string, statements: readonly PolicyStatement[]): Grant[] {
  return statements.flatMap((statement, statementIndex) => {
    if (statement.Effect !== 'Allow' || isServiceExercised(statement)) return [];
    const id = (element: string, value: string) => `${functionName}/${statementIndex}/${element}/${value}`;
    const grants: Grant[] = [
      ...list(statement.Action).map((value) => ({
        id: id('Action', value),
        functionName,
        statementIndex,
        element: 'Action' as const,
        value,
      })),
      ...list(statement.Resource).map((value) => ({
        id: id('Resource', value),
        functionName,
        statementIndex,
        element: 'Resource' as const,
        value,
      })),
    ];
    for (const [operator, keys] of Object.entries(statement.Condition ?? {})) {
      for (const [key, values] of Object.entries(keys)) {
        for (const value of list(values)) {
          grants.push({
            id: id(`Condition/${operator}/${key}`, value),
            functionName,
            statementIndex,
            element: 'Condition',
            value,
            operator,
            key,
          });
        }
      }
    }
    return grants;
  });
}

/** The statements with one grant taken out (a statement left with no action or resource goes). */
export function withoutGrant(statements: readonly PolicyStatement[], grant: Grant): PolicyStatement[] {
  return statements.flatMap((statement, index) => {
    if (index !== grant.statementIndex) return [statement];
    if (grant.element === 'Action' || grant.element === 'Resource') {
      const kept = list(statement[grant.element]).filter((value) => value !== grant.value);
      return kept.length === 0 ? [] : [{ ...statement, [grant.element]: kept }];
    }
    const operator = grant.operator ?? '';
    const key = grant.key ?? '';
    const values = list(statement.Condition?.[operator]?.[key]).filter((value) => value !== grant.value);
    return [
      {
        ...statement,
        Condition: {
          ...statement.Condition,
          [operator]: { ...statement.Condition?.[operator], [key]: values },
        },
      },
    ];
  });
}
