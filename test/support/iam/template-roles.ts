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
