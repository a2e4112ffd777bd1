import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { type Grant, grantsOf, isServiceExercised, withoutGrant } from './grant-mutations.ts';
import type { TestDuration, UsageRecord } from './iam-enforcement.ts';
import { evaluate, type PolicyStatement } from './policy-evaluator.ts';

/** One grant, and the recorded calls that would have been refused without it. */
export interface GrantCoverage {
  readonly grant: Grant;
  readonly exercisedBy: readonly UsageRecord[];
}

export interface FunctionCoverage {
  readonly functionName: string;
  readonly grants: readonly GrantCoverage[];
  /** Statements only AWS services use on the function's behalf (logs, traces, event source). */
  readonly serviceStatements: readonly PolicyStatement[];
  /** Calls the role refused during the run: a test passed although AWS would have said no. */
  readonly denied: readonly UsageRecord[];
}

export function readUsage(dir: string): UsageRecord[] {
  return readLines<UsageRecord>(dir, 'usage-');
}

/** Each test's duration in ms, by `file › name`. */
export function readDurations(dir: string): Map<string, number> {
  return new Map(
    readLines<TestDuration>(dir, 'durations-').map((d) => [`${d.testFile} › ${d.testName}`, d.durationMs]),
  );
}

function readLines<T>(dir: string, prefix: string): T[] {
  let files: string[];
  try {
    files = readdirSync(dir).filter((f) => f.startsWith(prefix) && f.endsWith('.jsonl'));
  } catch {
    return [];
  }
  return files.flatMap((file) =>
    readFileSync(join(dir, file), 'utf8')
      .split('\n')
      .filter(Boolean)
      .map((line) => JSON.parse(line) as T),
  );
}

/** For every grant of every role: which recorded calls depend on it. */
export function grantCoverage(
  roles: ReadonlyMap<string, readonly PolicyStatement[]>,
  usage: readonly UsageRecord[],
): FunctionCoverage[] {
  return [...roles].map(([functionName, statements]) => {
    const calls = usage.filter((u) => u.functionName === functionName);
    const allowed = calls.filter((u) => u.decision === 'allowed');
    return {
      functionName,
      grants: grantsOf(functionName, statements).map((grant) => {
        const mutated = withoutGrant(statements, grant);
        return { grant, exercisedBy: allowed.filter((u) => evaluate(mutated, u.request) !== 'allowed') };
      }),
      serviceStatements: statements.filter((s) => s.Effect === 'Allow' && isServiceExercised(s)),
      denied: calls.filter((u) => u.decision !== 'allowed'),
    };
  });
}
