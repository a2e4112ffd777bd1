import { inject } from 'vitest';
import { queueArn, tableArn } from './aws-requests.ts';
import { grantsOf, withoutGrant } from './grant-mutations.ts';
import type { IamModel } from './iam-enforcement.ts';
import type { AuthorizationRequest, PolicyStatement } from './policy-evaluator.ts';
import { boundRoles, STABLE_NAMES } from './template-roles.ts';

/**
 * `IAM_MUTATION` names one grant (see grant-mutations.ts) that the run leaves out, so
 * `npm run test:iam-mutations` can show a test fails without it.
 */
function mutated(roles: Map<string, PolicyStatement[]>): Map<string, PolicyStatement[]> {
  const id = inject('iamMutation') || process.env.IAM_MUTATION;
  if (!id) return roles;
  const functionName = id.split('/')[0] ?? '';
  const statements = roles.get(functionName) ?? [];
  const grant = grantsOf(functionName, statements).find((g) => g.id === id);
  if (!grant) throw new Error(`IAM_MUTATION names no grant of the template: ${id}`);
  return new Map(roles).set(functionName, withoutGrant(statements, grant));
}

/** The IAM model of one test app: its table and queue names stand for the template's. */
export function iamModelFor(names: {
  table: string;
  revocationQueue: string;
  backfillQueue: string;
  erasureQueue: string;
  reconcileQueue: string;
}): IamModel {
  const roles = mutated(boundRoles(inject('iamPolicies')));
  const replacements: [string, string][] = [
    [tableArn(names.table), tableArn(STABLE_NAMES.table)],
    [queueArn(names.revocationQueue), queueArn(STABLE_NAMES.revocationQueue)],
    [queueArn(names.backfillQueue), queueArn(STABLE_NAMES.backfillQueue)],
    [queueArn(names.erasureQueue), queueArn(STABLE_NAMES.erasureQueue)],
    [queueArn(names.reconcileQueue), queueArn(STABLE_NAMES.reconcileQueue)],
  ];
  const bound = new Map(
    [...roles].map(([name, statements]) => [
      name,
      // Each app's own names, so its real calls are checked against the same statements.
      JSON.parse(
        replacements.reduce(
          (text, [own, stable]) => text.split(stable).join(own),
          JSON.stringify(statements),
        ),
      ) as PolicyStatement[],
    ]),
  );
  return {
    statementsOf(functionName) {
      const statements = bound.get(functionName);
      if (!statements) throw new Error(`The template has no function named ${functionName}`);
      return statements;
    },
    normalize(request: AuthorizationRequest): AuthorizationRequest {
      let resource = request.resource;
      for (const [own, stable] of replacements) resource = resource.split(own).join(stable);
      return { ...request, resource };
    },
    usageDir: inject('iamUsageDir'),
  };
}
