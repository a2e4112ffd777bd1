import { AsyncLocalStorage } from 'node:async_hooks';
import { appendFileSync, mkdirSync } from 'node:fs';
import { join, relative } from 'node:path';
import { expect } from 'vitest';
import {
  type AuthorizationRequest,
  type Decision,
  evaluate,
  type PolicyStatement,
} from './policy-evaluator.ts';

/**
 * AWS SDK clients that refuse, as AWS would, every call the current function's role does not
 * allow. The "current function" is the Lambda function a test is exercising: `asFunction(name,
 * …)` runs a handler (and everything it starts) as that function. Calls made outside any
 * function (a test arranging data or reading it back) are the operator's and are not checked.
 */

const running = new AsyncLocalStorage<string>();

export function asFunction<T>(functionName: string, body: () => T): T {
  return running.run(functionName, body);
}

export function currentFunction(): string | undefined {
  return running.getStore();
}

/** The roles the calls are checked against, and where each decision is recorded. */
export interface IamModel {
  statementsOf(functionName: string): readonly PolicyStatement[];
  /** Makes concrete names (a test's table, its queues) stable, so records can be re-evaluated. */
  normalize(request: AuthorizationRequest): AuthorizationRequest;
  readonly usageDir: string | undefined;
}

interface MiddlewareClient {
  readonly middlewareStack: {
    add(
      middleware: (
        next: (args: { input: Record<string, unknown> }) => Promise<unknown>,
        context: { commandName?: string },
      ) => (args: { input: Record<string, unknown> }) => Promise<unknown>,
      options: { step: 'build'; priority: 'high'; name: string },
    ): void;
  };
}

export type RequestsOf = (operation: string, input: Record<string, unknown>) => AuthorizationRequest[];

export function enforceIam(
  client: unknown,
  model: IamModel,
  requestsOf: RequestsOf,
  accessDenied: (message: string) => Error,
): void {
  (client as MiddlewareClient).middlewareStack.add(
    (next, context) => async (args) => {
      const functionName = currentFunction();
      if (functionName !== undefined) {
        const operation = (context.commandName ?? '').replace(/Command$/, '');
        for (const request of requestsOf(operation, args.input)) {
          const decision = evaluate(model.statementsOf(functionName), request);
          recordUsage(model, functionName, model.normalize(request), decision);
          if (decision !== 'allowed') {
            throw accessDenied(
              `User: arn:aws:sts::123456789012:assumed-role/${functionName}Role/${functionName} is not ` +
                `authorized to perform: ${request.action} on resource: ${request.resource} because ` +
                (decision === 'explicitDeny'
                  ? 'an identity-based policy explicitly denies it'
                  : `no identity-based policy allows the ${request.action} action`),
            );
          }
        }
      }
      return next(args);
    },
    // Before signing and sending, after the document client has marshalled the input.
    { step: 'build', priority: 'high', name: 'iamEnforcement' },
  );
}

/** One line per distinct (function, request, decision, test): what `npm run check:aws` reads. */
export interface UsageRecord {
  readonly functionName: string;
  readonly request: AuthorizationRequest;
  readonly decision: Decision;
  readonly testFile: string;
  readonly testName: string;
}

const recorded = new Set<string>();

function recordUsage(
  model: IamModel,
  functionName: string,
  request: AuthorizationRequest,
  decision: Decision,
): void {
  if (!model.usageDir) return;
  const state = expect.getState();
  const record: UsageRecord = {
    functionName,
    request,
    decision,
    testFile: relative(process.cwd(), state.testPath ?? ''),
    testName: state.currentTestName ?? '(outside a test)',
  };
  const line = JSON.stringify(record);
  if (recorded.has(line)) return;
  recorded.add(line);
  mkdirSync(model.usageDir, { recursive: true });
  appendFileSync(join(model.usageDir, `usage-${process.pid}.jsonl`), `${line}\n`);
}

/** How long each test that made checked calls took: the mutation runner picks the quickest. */
export interface TestDuration {
  readonly testFile: string;
  readonly testName: string;
  readonly durationMs: number;
}

export function recordTestDuration(usageDir: string, duration: TestDuration): void {
  mkdirSync(usageDir, { recursive: true });
  appendFileSync(join(usageDir, `durations-${process.pid}.jsonl`), `${JSON.stringify(duration)}\n`);
}
