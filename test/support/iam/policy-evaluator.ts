/**
 * IAM's evaluation of identity-based policies, for the statements CDK writes: Allow and Deny,
 * Action and Resource with `*` and `?` wildcards, and the condition operators below, with the
 * ForAllValues / ForAnyValue set qualifiers as AWS defines them (ForAllValues is *true* when the
 * request carries no value for the key: an unguarded Scan passes a LeadingKeys condition).
 * Anything else (NotAction, NotResource, an unknown operator) throws, so a template this model
 * cannot read fails the tests instead of being taken as allowed.
 */

export interface PolicyStatement {
  readonly Sid?: string;
  readonly Effect: 'Allow' | 'Deny';
  readonly Action: string | readonly string[];
  readonly Resource: string | readonly string[];
  readonly Condition?: Readonly<Record<string, Readonly<Record<string, string | readonly string[]>>>>;
  readonly NotAction?: unknown;
  readonly NotResource?: unknown;
}

/** One request as IAM sees it: an action on a resource, with the request's condition keys. */
export interface AuthorizationRequest {
  readonly action: string;
  readonly resource: string;
  /** Condition keys, e.g. `dynamodb:LeadingKeys` (multi-valued), `aws:SecureTransport`. */
  readonly context: Readonly<Record<string, string | readonly string[] | undefined>>;
}

export type Decision = 'allowed' | 'implicitDeny' | 'explicitDeny';

const list = <T>(value: T | readonly T[] | undefined): readonly T[] =>
  value === undefined ? [] : Array.isArray(value) ? (value as readonly T[]) : [value as T];

/** IAM's glob: `*` any run of characters, `?` one character, nothing else special. */
export function globMatches(pattern: string, value: string, ignoreCase = false): boolean {
  const source = pattern
    .split('')
    .map((c) => (c === '*' ? '.*' : c === '?' ? '.' : c.replace(/[.+^${}()|[\]\\/]/g, '\\$&')))
    .join('');
  return new RegExp(`^${source}$`, ignoreCase ? 'is' : 's').test(value);
}

export function actionMatches(statement: PolicyStatement, action: string): boolean {
  if (statement.NotAction !== undefined) throw new Error('NotAction is not modelled');
  return list(statement.Action).some((pattern) => globMatches(pattern, action, true));
}

export function resourceMatches(statement: PolicyStatement, resource: string): boolean {
  if (statement.NotResource !== undefined) throw new Error('NotResource is not modelled');
  return list(statement.Resource).some((pattern) => globMatches(pattern, resource));
}

type ValueTest = (policyValue: string, requestValue: string) => boolean;

const OPERATORS: Record<string, ValueTest> = {
  StringEquals: (p, r) => p === r,
  StringNotEquals: (p, r) => p !== r,
  StringLike: (p, r) => globMatches(p, r),
  StringNotLike: (p, r) => !globMatches(p, r),
  ArnEquals: (p, r) => p === r,
  ArnLike: (p, r) => globMatches(p, r),
  Bool: (p, r) => p.toLowerCase() === r.toLowerCase(),
};

/** One condition block entry: `{Operator: {key: values}}` for one key. */
function conditionHolds(
  qualifiedOperator: string,
  key: string,
  policyValues: readonly string[],
  context: AuthorizationRequest['context'],
): boolean {
  const [qualifier, operator] = qualifiedOperator.includes(':')
    ? (qualifiedOperator.split(':') as [string, string])
    : [undefined, qualifiedOperator];
  const raw = context[key];
  if (operator === 'Null') {
    const absent = raw === undefined || list(raw).length === 0;
    return policyValues.some((value) => (value === 'true') === absent);
  }
  const test = OPERATORS[operator];
  if (!test) throw new Error(`Condition operator ${qualifiedOperator} is not modelled`);
  const values = list(raw);
  // A negated operator holds when the value matches *none* of the policy's values.
  const negated = operator.includes('Not');
  const matchesOne = (requestValue: string) =>
    negated
      ? policyValues.every((p) => test(p, requestValue))
      : policyValues.some((p) => test(p, requestValue));
  if (qualifier === 'ForAllValues') return values.every(matchesOne);
  if (qualifier === 'ForAnyValue') return values.some(matchesOne);
  if (qualifier !== undefined) throw new Error(`Condition qualifier ${qualifier} is not modelled`);
  // A single-valued operator on an absent key does not match (except the negated ones, as in AWS).
  if (values.length === 0) return operator.includes('Not');
  return values.some(matchesOne);
}

export function conditionsHold(
  statement: PolicyStatement,
  context: AuthorizationRequest['context'],
): boolean {
  return Object.entries(statement.Condition ?? {}).every(([operator, keys]) =>
    Object.entries(keys).every(([key, values]) => conditionHolds(operator, key, list(values), context)),
  );
}

export function applies(statement: PolicyStatement, request: AuthorizationRequest): boolean {
  return (
    actionMatches(statement, request.action) &&
    resourceMatches(statement, request.resource) &&
    conditionsHold(statement, request.context)
  );
}

/** An explicit Deny wins; then any Allow; otherwise the implicit deny. */
export function evaluate(statements: readonly PolicyStatement[], request: AuthorizationRequest): Decision {
  let allowed = false;
  for (const statement of statements) {
    if (!applies(statement, request)) continue;
    if (statement.Effect === 'Deny') return 'explicitDeny';
    allowed = true;
  }
  return allowed ? 'allowed' : 'implicitDeny';
}
