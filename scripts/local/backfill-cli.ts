import { MAX_BACKFILL_DAYS } from '#shared/domain/backfill-job.ts';
import { TENANT_ID_PATTERN } from '#shared/domain/tenant.ts';
import { BackfillInProgressError } from '#shared/errors/backfill-in-progress-error.ts';
import { ConfigError } from '#shared/errors/config-error.ts';
import type { BackfillProgress } from '#shared/ports/backfill-status-store.ts';
import type { BackfillJob } from '#shared/ports/job-queues.ts';
import { type CliIo, parseCliArgs, reportUsage, UsageError, wholeNumber } from './cli-args.ts';
import type { CliStack } from './cli-stack.ts';

// The stores, Stripe and AWS modules load only once the arguments are good: `--help` and a typo
// answer at once.
const load = async () => {
  const [stack, queues, abandon, processJob, request] = await Promise.all([
    import('./cli-stack.ts'),
    import('#shared/adapters/local/in-process-queues.ts'),
    import('#shared/use-cases/backfill/abandon-backfill.ts'),
    import('#shared/use-cases/backfill/process-backfill-job.ts'),
    import('#shared/use-cases/backfill/request-backfill.ts'),
  ]);
  return { ...stack, ...queues, ...abandon, ...processJob, ...request };
};

/** Exit statuses of `npm run backfill`. */
export const EXIT = {
  succeeded: 0,
  /** The backfill failed, or could not run (the data folder in use, Stripe not answering). */
  failed: 1,
  /** Bad usage or configuration (including a platform key Stripe refuses): nothing was changed. */
  usage: 2,
  /** Ctrl-C: the run is marked failed, so the next one is not refused. */
  interrupted: 130,
} as const;

export const BACKFILL_CLI = {
  usage: 'usage: npm run backfill -- <tenantId> [--days 90] [--enqueue]',
  help: `Imports a tenant's last <days> days from Stripe (default 90, at most ${MAX_BACKFILL_DAYS}).

  --days N     the window, in days
  --enqueue    send the job to the deployed backfill queue instead (AWS credentials,
               TABLE_NAME and BACKFILL_QUEUE_URL from the environment)
  -h, --help   this help

Without --enqueue it runs in this process against the local stack, with nothing to set:
if npm run dev runs on the data folder (LOCAL_DATA_DIR, default .data/), its DynamoDB and its
Stripe (the built-in emulator, or the STRIPE_* variables it needs you to set here too);
otherwise it opens the folder itself, with the STRIPE_* variables if any is set, else a
built-in Stripe emulator of its own.

Progress goes to stderr, the JSON result to stdout. Exit status: 0 succeeded; 1 the backfill
failed or could not run; 2 bad usage or configuration (a key Stripe refuses included: nothing
is changed); 130 interrupted (Ctrl-C marks the run failed).`,
  options: {
    days: { type: 'string', default: '90' },
    enqueue: { type: 'boolean', default: false },
  },
  positionals: { min: 1, max: 1, name: 'the <tenantId>' },
} as const;

export interface BackfillCliIo extends CliIo {
  readonly env: NodeJS.ProcessEnv;
  /** Whether stderr is a terminal (progress redraws one line) or not (a line per update). */
  readonly progressOnOneLine?: boolean;
  /** Registers what Ctrl-C must do before the process exits with {@link EXIT.interrupted}. */
  readonly onInterrupt?: (handler: () => Promise<void>) => void;
  readonly cwd?: string;
}

/** `npm run backfill`: answers its exit status. */
export async function runBackfillCli(argv: readonly string[], io: BackfillCliIo): Promise<number> {
  const args = parseCliArgs(BACKFILL_CLI, argv, io);
  if (!args.ok) return args.exitCode;
  let job: BackfillJob;
  try {
    const tenantId = args.positionals[0] as string;
    if (!TENANT_ID_PATTERN.test(tenantId)) {
      throw new UsageError(`"${tenantId.slice(0, 60)}" is not a tenant id`);
    }
    job = { tenantId, days: wholeNumber(args.values.days, '--days', { min: 1, max: MAX_BACKFILL_DAYS }) };
  } catch (error) {
    if (error instanceof UsageError) return reportUsage(BACKFILL_CLI, error, io);
    throw error;
  }
  try {
    return args.values.enqueue ? await enqueue(job, io) : await runLocally(job, io);
  } catch (error) {
    const { StripeKeyRejectedError } = await import('./cli-stack.ts');
    const usage = error instanceof ConfigError || error instanceof StripeKeyRejectedError;
    const message =
      error instanceof ConfigError
        ? `${error.problems.join('\n  ')}`
        : error instanceof BackfillInProgressError
          ? `a backfill of ${job.tenantId} is already queued or running; wait for it to finish`
          : (error as Error).message;
    io.stderr(`\nbackfill: ${message}\n`);
    return usage ? EXIT.usage : EXIT.failed;
  }
}

async function enqueue(job: BackfillJob, io: BackfillCliIo): Promise<number> {
  const { createAwsDependencies } = await import('../../functions/commons/aws-dependencies.ts');
  const { requestBackfill } = await load();
  const deps = createAwsDependencies(io.env);
  const runId = await requestBackfill(deps, job.tenantId, job.days);
  io.stdout(`${JSON.stringify({ status: 'queued', tenantId: job.tenantId, days: job.days, runId })}\n`);
  return EXIT.succeeded;
}

async function runLocally(job: BackfillJob, io: BackfillCliIo): Promise<number> {
  const {
    openCliStack,
    createCliDependencies,
    checkPlatformKey,
    createBackfillRun,
    abandonBackfill,
    processBackfillJob,
    InProcessQueues,
  } = await load();
  const stack = await openCliStack({
    env: io.env,
    command: 'npm run backfill',
    notice: io.stderr,
    cwd: io.cwd,
  });
  let closed = false;
  const close = async () => {
    if (closed) return;
    closed = true;
    await stack.close();
  };
  // Until a run exists, Ctrl-C only has to let the folder go.
  io.onInterrupt?.(close);
  try {
    io.stderr(`${stack.description}\n`);
    const deps = createCliDependencies(stack, { queues: new InProcessQueues() });
    let pending = job;
    const integration = await deps.integrations.getByTenant(job.tenantId);
    if (integration?.status === 'connected') {
      checkEmulatorHoldsAccount(stack, integration.stripeAccountId);
      await checkPlatformKey(stack);
      // The run exists before it starts, so Ctrl-C can mark it failed instead of leaving it running.
      const runId = await createBackfillRun(deps, job.tenantId, job.days);
      pending = { ...job, runId };
      io.onInterrupt?.(async () => {
        await abandonBackfill(deps, job.tenantId, runId, 'Interrupted by the operator').finally(close);
      });
    }
    const started = Date.now();
    const bar = progressBar(started, io);
    for (;;) {
      const outcome = await processBackfillJob(
        { ...deps, source: deps.backfillSource, backfillQueue: { enqueueBackfill: async () => undefined } },
        pending,
        Date.now() + 15 * 60_000,
        bar,
      );
      if (outcome.outcome === 'continue') {
        pending = { ...pending, runId: outcome.runId };
        continue;
      }
      io.stderr('\n');
      const elapsedSeconds = Math.round((Date.now() - started) / 100) / 10;
      io.stdout(`${JSON.stringify({ tenantId: job.tenantId, ...outcome, elapsedSeconds }, null, 2)}\n`);
      return outcome.outcome === 'succeeded' ? EXIT.succeeded : EXIT.failed;
    }
  } finally {
    await close();
  }
}

/** The emulator holds one demo account: a tenant connected elsewhere would only fail at Stripe. */
function checkEmulatorHoldsAccount(stack: CliStack, stripeAccountId: string): void {
  if (stack.emulatorAccountId === undefined || stack.emulatorAccountId === stripeAccountId) return;
  throw new ConfigError([
    `this tenant is connected to ${stripeAccountId}, which the built-in Stripe emulator does not hold (it has ${stack.emulatorAccountId}): run with the STRIPE_* variables of the Stripe it was connected with. Nothing was changed.`,
  ]);
}

function progressBar(started: number, io: BackfillCliIo) {
  return (progress: BackfillProgress) => {
    const objects = Object.entries(progress.objects)
      .map(([phase, count]) => `${phase} ${count}`)
      .join(' · ');
    const elapsed = ((Date.now() - started) / 1000).toFixed(1);
    const line = `backfill [${progress.phase}] ${objects} · ${progress.requests} requests · ${progress.pages} pages · ${elapsed}s`;
    io.stderr(io.progressOnOneLine ? `\r\x1b[2K${line}` : `${line}\n`);
  };
}
