/**
 * `npm run check:aws`: what each function may do in AWS, and what its tests did with it.
 *
 * Reads the roles from the synthesized template and the calls the last test run made through the
 * IAM-enforcing clients (.iam-usage/, written by `npm test`). For each grant it names the tests
 * whose calls AWS would refuse without it. Exits 1 when a grant is exercised by no test (it is
 * not needed, or not tested) or when a call was refused during the run.
 *
 * `--quiet` prints only the summary and the problems.
 */
import { grantCoverage, readUsage } from '../test/support/iam/grant-coverage.ts';
import { synthesizeRolePolicies } from '../test/support/iam/synthesize-role-policies.ts';
import { boundRoles } from '../test/support/iam/template-roles.ts';
import { IAM_USAGE_DIR } from '../test/support/iam/usage-dir.ts';

const quiet = process.argv.includes('--quiet');
const usage = readUsage(IAM_USAGE_DIR);
if (usage.length === 0) {
  console.error('check:aws: no calls recorded in .iam-usage/: run `npm test` (or `npx vitest run`) first.');
  process.exit(2);
}
const coverage = grantCoverage(boundRoles(synthesizeRolePolicies()), usage);
const shortResource = (value: string) =>
  value
    .replace(/^arn:aws:dynamodb:[^:]+:\d+:table\/TABLE/, 'table')
    .replace(/^arn:aws:secretsmanager:[^:]+:\d+:secret:/, 'secret:')
    .replace(/^arn:aws:sqs:[^:]+:\d+:/, 'queue:');

const problems: string[] = [];
let grants = 0;
for (const fn of coverage) {
  grants += fn.grants.length;
  const missing = fn.grants.filter((g) => g.exercisedBy.length === 0);
  if (!quiet) {
    console.log(
      `\n${fn.functionName}: ${fn.grants.length} grants, ${fn.grants.length - missing.length} exercised`,
    );
    for (const { grant, exercisedBy } of fn.grants) {
      const tests = [...new Set(exercisedBy.map((u) => `${u.testFile} › ${u.testName}`))];
      const what =
        grant.element === 'Condition'
          ? `  ${grant.key} ${grant.value} (statement ${grant.statementIndex})`
          : `  ${grant.element === 'Action' ? grant.value : shortResource(grant.value)} (statement ${grant.statementIndex})`;
      console.log(
        `${what.padEnd(64)} ${tests.length === 0 ? 'NOT EXERCISED' : `${tests[0]}${tests.length > 1 ? ` (+${tests.length - 1} tests)` : ''}`}`,
      );
    }
    for (const statement of fn.serviceStatements) {
      console.log(`  by AWS on its behalf: ${[statement.Action].flat().join(', ')}`);
    }
  }
  for (const { grant } of missing) problems.push(`${grant.id}: no test needs this grant`);
  for (const denied of fn.denied) {
    problems.push(
      `${fn.functionName} was refused ${denied.request.action} on ${shortResource(denied.request.resource)} in ${denied.testFile} › ${denied.testName}`,
    );
  }
}

console.log(
  `\ncheck:aws: ${coverage.length} functions, ${grants} grants, ${usage.length} recorded calls, ${problems.length} problems`,
);
for (const problem of problems) console.error(`  ${problem}`);
process.exit(problems.length > 0 ? 1 : 0);
