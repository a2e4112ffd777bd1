/**
 * `npm run test:iam-mutations`: proves that every grant of every function's role is needed by a
 * test. For each grant (an action, a resource or a LeadingKeys prefix of one statement of the
 * synthesized template) it runs a test that exercised it, with that grant removed from the role
 * the IAM-enforcing clients apply (IAM_MUTATION), and expects the test to fail.
 *
 * Needs the usage of a full test run (.iam-usage/, written by `npm test`). Mutations that leave
 * the same policy (an action and the only resource of a one-action statement) run once.
 * Prints one line per grant and the test that caught it; exits 1 if any mutation survived.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { createVitest, type TestSpecification } from 'vitest/node';
import { grantCoverage, readDurations, readUsage } from '../test/support/iam/grant-coverage.ts';
import { withoutGrant } from '../test/support/iam/grant-mutations.ts';
import { boundRoles, synthesizeRolePolicies } from '../test/support/iam/template-roles.ts';
import { IAM_USAGE_DIR } from '../test/support/iam/usage-dir.ts';

const OUTSIDE_A_TEST = '(outside a test)';
const work = mkdtempSync(join(tmpdir(), 'iam-mutations-'));
const policies = synthesizeRolePolicies();
const roles = boundRoles(policies);
const usage = readUsage(IAM_USAGE_DIR);
const durations = readDurations(IAM_USAGE_DIR);
if (usage.length === 0) {
  console.error('test:iam-mutations: no calls recorded in .iam-usage/: run `npm test` first.');
  process.exit(2);
}

interface Mutation {
  readonly ids: string[];
  readonly testFile: string;
  readonly testName: string;
}

const byPolicy = new Map<string, Mutation>();
const unexercised: string[] = [];
for (const fn of grantCoverage(roles, usage)) {
  for (const { grant, exercisedBy } of fn.grants) {
    // The quickest test that needs the grant (a call made in a hook runs its whole file).
    const cost = (u: (typeof exercisedBy)[number]) =>
      u.testName === OUTSIDE_A_TEST
        ? Number.POSITIVE_INFINITY
        : (durations.get(`${u.testFile} › ${u.testName}`) ?? 1e6);
    const first = [...exercisedBy].sort((a, b) => cost(a) - cost(b))[0];
    if (!first) {
      unexercised.push(grant.id);
      continue;
    }
    const key = `${fn.functionName}:${JSON.stringify(withoutGrant(roles.get(fn.functionName) ?? [], grant))}`;
    const known = byPolicy.get(key);
    if (known) known.ids.push(grant.id);
    else byPolicy.set(key, { ids: [grant.id], testFile: first.testFile, testName: first.testName });
  }
}

const escapeRegExp = (text: string) => text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

/**
 * One Vitest for every mutated run: its Vite server and transforms stay warm, and each run hands
 * the workers the grant to leave out through `provide` (read by test/support/iam/iam-model.ts).
 */
// The runs' own records go to a scratch folder: the test run's must survive them.
process.env.IAM_USAGE_DIR = join(work, 'usage');
const vitest = await createVitest(
  'test',
  { watch: false, reporters: [{}], silent: true, env: { POWERTOOLS_LOG_LEVEL: 'SILENT' } },
  {},
);
const project = vitest.projects[0];
if (!project) throw new Error('no vitest project');

async function run(mutation: Mutation, index: number): Promise<{ failed: number; passed: number }> {
  project?.provide('iamMutation', mutation.ids[0] ?? '');
  project?.provide('iamUsageDir', join(work, `usage-${index}`));
  if (mutation.testName === OUTSIDE_A_TEST) vitest.resetGlobalTestNamePattern();
  else
    vitest.setGlobalTestNamePattern(
      new RegExp(`^${escapeRegExp(mutation.testName).split(' > ').join(' ')}$`),
    );
  const result = await vitest.runTestSpecifications([
    project?.createSpecification(resolve(mutation.testFile)) as TestSpecification,
  ]);
  let failed = result.unhandledErrors.length;
  let passed = 0;
  for (const module of result.testModules) {
    for (const test of module.children.allTests()) {
      const state = test.result().state;
      if (state === 'failed') failed += 1;
      if (state === 'passed') passed += 1;
    }
    if (module.state() === 'failed') failed += 1;
  }
  return { failed, passed };
}

const mutations = [...byPolicy.values()];
const survivors: string[] = [...unexercised.map((id) => `${id}: no test exercises it`)];

// Control: each chosen test passes with the template's own roles, so a failure below is the
// mutation's doing and not the test's.
const controls = new Map(mutations.map((m) => [`${m.testFile} › ${m.testName}`, { ...m, ids: [''] }]));
for (const [where, control] of controls) {
  const { failed, passed } = await run(control, -1);
  if (failed > 0 || passed === 0) survivors.push(`control: ${where} does not pass unmutated`);
}
let next = 0;
let caught = 0;
const catchers = new Map<string, Mutation>();
const started = Date.now();
async function lane() {
  while (next < mutations.length) {
    const index = next++;
    const mutation = mutations[index] as Mutation;
    const { failed, passed } = await run(mutation, index);
    const where = `${mutation.testFile} › ${mutation.testName}`;
    if (failed > 0) {
      caught += mutation.ids.length;
      for (const id of mutation.ids) catchers.set(id, mutation);
      for (const id of mutation.ids) console.log(`caught   ${id.padEnd(90)} ${where}`);
    } else {
      for (const id of mutation.ids) {
        survivors.push(`${id}: ${where} ${passed > 0 ? 'still passes' : 'did not run'}`);
        console.log(`SURVIVED ${id.padEnd(90)} ${where}`);
      }
    }
  }
}
await lane();
await vitest.close();
rmSync(work, { recursive: true, force: true });
console.log(
  `\ntest:iam-mutations: ${caught} grants caught by ${mutations.length} mutated runs, ` +
    `${survivors.length} survived, in ${Math.round((Date.now() - started) / 1000)} s`,
);
for (const survivor of survivors) console.error(`  ${survivor}`);
if (process.argv.includes('--markdown')) console.log(`\n${markdownTable()}`);

/** One row per statement: its actions and the tests that caught the removal of its grants. */
function markdownTable(): string {
  const rows = ['| function | statement | caught by |', '| --- | --- | --- |'];
  for (const [functionName, statements] of roles) {
    statements.forEach((statement, index) => {
      const tests = [...catchers]
        .filter(([id]) => id.startsWith(`${functionName}/${index}/`))
        .map(([, m]) => `${m.testFile.replace(/^test\//, '')} › ${m.testName.split(' > ').pop()}`);
      if (tests.length === 0) return;
      const actions = [statement.Action].flat().join(', ');
      const prefixes = Object.values(statement.Condition ?? {})
        .flatMap((keys) => Object.values(keys).flat())
        .join(' ');
      rows.push(
        `| ${functionName} | ${actions}${prefixes ? ` (${prefixes})` : ''} | ${[...new Set(tests)].join('; ')} |`,
      );
    });
  }
  return rows.join('\n');
}
process.exit(survivors.length > 0 ? 1 : 0);
