import 'vitest';
import { rmSync } from 'node:fs';
import type { TestProject } from 'vitest/node';
import { startDynalite } from '#shared/adapters/local/dynalite-server.ts';
import { synthesizeRolePolicies } from './iam/synthesize-role-policies.ts';
import type { RolePolicies } from './iam/template-roles.ts';
import { IAM_USAGE_DIR } from './iam/usage-dir.ts';

declare module 'vitest' {
  export interface ProvidedContext {
    dynamoEndpoint: string;
    /** Every function's role, from the synthesized template: what the AWS clients enforce. */
    iamPolicies: RolePolicies;
    /** Where each process records the calls it checked (read by `npm run check:aws`). */
    iamUsageDir: string;
    /** The grant a mutated run leaves out (set by `npm run test:iam-mutations` only). */
    iamMutation?: string;
  }
}

/**
 * One dynalite for the whole run (each test file creates its own table in it), and one synthesis
 * of the stack, whose roles every AWS client of the tests enforces.
 */
export default async function setup(project: TestProject) {
  const dynalite = await startDynalite();
  project.provide('dynamoEndpoint', dynalite.endpoint);
  project.provide('iamPolicies', synthesizeRolePolicies());
  const usageDir = IAM_USAGE_DIR;
  rmSync(usageDir, { recursive: true, force: true });
  project.provide('iamUsageDir', usageDir);
  return () => dynalite.close();
}
