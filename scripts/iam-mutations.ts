/**
 * `npm run test:iam-mutations`: proves that every grant of every function's role is needed by a
 * test. For each grant (an action, a resource or a LeadingKeys prefix of one statement of the
 * synthesized template) it runs the tests whose calls needed it, quickest first, with that grant
 * removed from the role the IAM-enforcing clients apply, until one fails. A failure counts only
 * if the test passes unmutated and its mutated run was refused a call of that function.
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
import { synthesizeRolePolicies } from '../test/support/iam/synthesize-role-policies.ts';
import { boundRoles } from '../test/support/iam/template-roles.ts';
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

interface Candidate {
  readonly testFile: string;
  readonly testName: string;
}

interface Mutation {
  readonly ids: string[];
  /** Tests whose calls need the grant, quickest first: the first that fails catches it. */
  readonly candidates: readonly Candidate[];
}

/**
 * A test can need a grant's call and still pass without it (its assertion is elsewhere): a grant
 * every connect uses (the backfill queue's) is needed by dozens of quick tests that tolerate its
 * refusal, and the one that asserts it may come later in the quickest-first order. So a survivor
 * is tried on up to this many, which only a surviving mutation pays for.
 */
const MAX_CANDIDATES = 100;

const byPolicy = new Map<string, Mutation>();
const unexercised: string[] = [];
for (const fn of grantCoverage(roles, usage)) {
  for (const { grant, exercisedBy } of fn.grants) {
    // The quickest test that needs the grant (a call made in a hook runs its whole file).
    const cost = (u: (typeof exercisedBy)[number]) =>
      u.testName === OUTSIDE_A_TEST
        ? Number.POSITIVE_INFINITY
        : (durations.get(`${u.testFile} › ${u.testName}`) ?? 1e6);
    const candidates = [
      ...new Map(
        [...exercisedBy]
          .sort((a, b) => cost(a) - cost(b))
          .map((u) => [`${u.testFile} › ${u.testName}`, { testFile: u.testFile, testName: u.testName }]),
      ).values(),
    ].slice(0, MAX_CANDIDATES);
    if (candidates.length === 0) {
      unexercised.push(grant.id);
      continue;
    }
    const key = `${fn.functionName}:${JSON.stringify(withoutGrant(roles.get(fn.functionName) ?? [], grant))}`;
    const known = byPolicy.get(key);
    if (known) known.ids.push(grant.id);
    else byPolicy.set(key, { ids: [grant.id], candidates });
  }
}

const escapeRegExp = (text: string) => text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

/**
 * One Vitest per lane for all its mutated runs: its Vite server and transforms stay warm, and
 * each run hands the workers the grant to leave out through `provide` (read by
 * test/support/iam/iam-model.ts). Lanes run side by side (`IAM_MUTATION_LANES`, default 2: the
 * runs wait on dynalite and the fake Stripe as much as they compute), each with its own Vitest,
 * so a `provide` never reaches another lane's run.
 */
// The runs' own records go to a scratch folder: the test run's must survive them.
process.env.IAM_USAGE_DIR = join(work, 'usage');
const LANES = Math.max(1, Math.min(4, Number(process.env.IAM_MUTATION_LANES ?? 2) || 1));
const startVitest = () =>
  createVitest(
    'test',
    {
      watch: false,
      reporters: [{}],
      silent: true,
      env: { POWERTOOLS_LOG_LEVEL: 'SILENT' },
      // A refused call can leave a test waiting for what never comes: it fails at its timeout.
      // The slowest test alone takes 4 s; 20 s (npm test's) spent per such hang adds up.
      testTimeout: 10_000,
      // Each run starts a worker for one test: a thread starts faster than a child process
      // (237 runs: 257 s instead of 316 s on two cores).
      pool: 'threads',
    },
    {},
  );

interface Lane {
  vitest: Awaited<ReturnType<typeof startVitest>>;
}

/** A long series of runs can leave one Vitest unable to run a test that passes: start afresh. */
async function restartVitest(lane: Lane): Promise<void> {
  await lane.vitest.close();
  lane.vitest = await startVitest();
}

async function run(
  lane: Lane,
  mutationId: string,
  test: Candidate,
  index: number,
): Promise<{ failed: number; passed: number; denied: boolean }> {
  const { vitest } = lane;
  const usageDir = join(work, `usage-${index}`);
  const project = vitest.projects[0];
  if (!project) throw new Error('no vitest project');
  project.provide('iamMutation', mutationId);
  project.provide('iamUsageDir', usageDir);
  if (test.testName === OUTSIDE_A_TEST) vitest.resetGlobalTestNamePattern();
  else vitest.setGlobalTestNamePattern(new RegExp(`^${escapeRegExp(test.testName).split(' > ').join(' ')}$`));
  const result = await vitest.runTestSpecifications([
    project.createSpecification(resolve(test.testFile)) as TestSpecification,
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
  // The failure must be the mutation's: the run was refused a call of the mutated function.
  const functionName = mutationId.split('/')[0];
  const denied = readUsage(usageDir).some((u) => u.functionName === functionName && u.decision !== 'allowed');
  return { failed, passed, denied };
}

const survivors: string[] = [...unexercised.map((id) => `${id}: no test exercises it`)];
let runs = 0;
let caught = 0;
const catchers = new Map<string, Candidate>();
/** Each test's unmutated result, shared by the lanes (a promise, so two lanes never run it twice). */
const controls = new Map<string, Promise<boolean>>();
const started = Date.now();

/** A test counts only if it passes with the template's own roles: then a failure is the mutation's. */
function passesUnmutated(lane: Lane, test: Candidate): Promise<boolean> {
  const key = `${test.testFile} › ${test.testName}`;
  let passes = controls.get(key);
  if (passes === undefined) {
    passes = (async () => {
      let { failed, passed } = await run(lane, '', test, runs++);
      if (failed > 0 || passed === 0) {
        await restartVitest(lane);
        ({ failed, passed } = await run(lane, '', test, runs++));
      }
      return failed === 0 && passed > 0;
    })();
    controls.set(key, passes);
  }
  return passes;
}

/**
 * Candidates whose unmutated run is known (or under way) go first, quickest first among them: a
 * catch then costs one run instead of two, and most grants of a function are caught by the same
 * few tests.
 */
function preferControlled(candidates: readonly Candidate[]): Candidate[] {
  const known = (test: Candidate) => controls.has(`${test.testFile} › ${test.testName}`);
  return [...candidates.filter(known), ...candidates.filter((test) => !known(test))];
}

/** Mutations are taken one at a time from one list, so lanes share the work as it comes. */
const pending = [...byPolicy.values()];

async function runLane(lane: Lane) {
  for (let mutation = pending.shift(); mutation; mutation = pending.shift()) {
    const tried: string[] = [];
    let catcher: Candidate | undefined;
    for (const test of preferControlled(mutation.candidates)) {
      const where = `${test.testFile} › ${test.testName}`;
      if (!(await passesUnmutated(lane, test))) {
        tried.push(`${where} (fails unmutated)`);
        continue;
      }
      const { failed, passed, denied } = await run(lane, mutation.ids[0] ?? '', test, runs++);
      if (failed > 0 && denied) {
        catcher = test;
        break;
      }
      const why = failed > 0 ? 'failed without a refused call' : passed > 0 ? 'still passes' : 'did not run';
      tried.push(`${where} (${why})`);
    }
    for (const id of mutation.ids) {
      if (catcher) {
        caught += 1;
        catchers.set(id, catcher);
        console.log(`caught   ${id.padEnd(90)} ${catcher.testFile} › ${catcher.testName}`);
      } else {
        survivors.push(`${id}: ${tried.join('; ')}`);
        console.log(`SURVIVED ${id}`);
      }
    }
  }
}
const lanes: Lane[] = [];
for (let i = 0; i < LANES; i++) lanes.push({ vitest: await startVitest() });
await Promise.all(lanes.map(runLane));
for (const lane of lanes) await lane.vitest.close();
rmSync(work, { recursive: true, force: true });
console.log(
  `\ntest:iam-mutations: ${caught} grants caught, ${byPolicy.size} distinct mutations, ` +
    `${runs} test runs (controls included), ` +
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
        .map(([, t]) => `${t.testFile.replace(/^test\//, '')} › ${t.testName.split(' > ').pop()}`);
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
