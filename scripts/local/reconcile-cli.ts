import { TENANT_ID_PATTERN } from '#shared/domain/tenant.ts';
import { ConfigError } from '#shared/errors/config-error.ts';
import { type CliIo, parseCliArgs, reportUsage, UsageError } from './cli-args.ts';

/** Exit statuses of `npm run reconcile` (as `npm run backfill`'s). */
export const RECONCILE_EXIT = { succeeded: 0, failed: 1, usage: 2 } as const;

export const RECONCILE_CLI = {
  usage: 'usage: npm run reconcile -- <tenantId> [--enqueue]',
  help: `Runs one catch-up sweep of the tenant's Stripe Events API: every event created since the last
sweep is applied as a webhook delivery would be (already applied ones count once).

  --enqueue    send the sweep to the deployed reconcile queue instead (AWS credentials and
               RECONCILE_QUEUE_URL from the environment)
  -h, --help   this help

Without --enqueue it runs in this process against the local stack, with nothing to set, as
npm run backfill does (the running npm run dev on LOCAL_DATA_DIR, default .data/, or the folder
itself). Prints {"tenantId", "eventsRead", "eventsApplied"} on stdout: eventsRead the events
listed, eventsApplied those that changed a record. Exit status: 0 swept; 1 the sweep failed or
could not run (the tenant not connected included); 2 bad usage or configuration.`,
  options: { enqueue: { type: 'boolean', default: false } },
  positionals: { min: 1, max: 1, name: 'the <tenantId>' },
} as const;

export interface ReconcileCliIo extends CliIo {
  readonly env: NodeJS.ProcessEnv;
  readonly cwd?: string;
}

/** `npm run reconcile`: answers its exit status. */
export async function runReconcileCli(argv: readonly string[], io: ReconcileCliIo): Promise<number> {
  const args = parseCliArgs(RECONCILE_CLI, argv, io);
  if (!args.ok) return args.exitCode;
  const tenantId = args.positionals[0] as string;
  if (!TENANT_ID_PATTERN.test(tenantId)) {
    return reportUsage(RECONCILE_CLI, new UsageError(`"${tenantId.slice(0, 60)}" is not a tenant id`), io);
  }
  try {
    return args.values.enqueue ? await enqueue(tenantId, io) : await sweepLocally(tenantId, io);
  } catch (error) {
    const { StripeKeyRejectedError } = await import('./cli-stack.ts');
    const usage = error instanceof ConfigError || error instanceof StripeKeyRejectedError;
    const message = error instanceof ConfigError ? error.problems.join('\n  ') : (error as Error).message;
    io.stderr(`reconcile: ${message}\n`);
    return usage ? RECONCILE_EXIT.usage : RECONCILE_EXIT.failed;
  }
}

async function enqueue(tenantId: string, io: ReconcileCliIo): Promise<number> {
  const { createAwsDependencies } = await import('../../functions/commons/aws-dependencies.ts');
  await createAwsDependencies(io.env).reconcileQueue.enqueueReconcile([{ kind: 'tenant', tenantId }]);
  io.stdout(`${JSON.stringify({ status: 'queued', tenantId })}\n`);
  return RECONCILE_EXIT.succeeded;
}

async function sweepLocally(tenantId: string, io: ReconcileCliIo): Promise<number> {
  const [
    { openCliStack, createCliDependencies, checkPlatformKey },
    { InProcessQueues },
    { sweepAccountEvents },
  ] = await Promise.all([
    import('./cli-stack.ts'),
    import('#shared/adapters/local/in-process-queues.ts'),
    import('#shared/use-cases/reconcile/sweep-account-events.ts'),
  ]);
  const stack = await openCliStack({
    env: io.env,
    command: 'npm run reconcile',
    notice: io.stderr,
    cwd: io.cwd,
  });
  try {
    io.stderr(`${stack.description}\n`);
    const queues = new InProcessQueues();
    const deps = createCliDependencies(stack, { queues });
    const integration = await deps.integrations.getByTenant(tenantId);
    if (integration?.status !== 'connected') {
      io.stderr(`reconcile: ${tenantId} is not connected to Stripe: nothing to sweep\n`);
      return RECONCILE_EXIT.failed;
    }
    await checkPlatformKey(stack);
    let eventsRead = 0;
    let eventsApplied = 0;
    // One sweep, however many invocations it takes: a continuation is carried on here.
    for (;;) {
      const deadline = Date.now() + 5 * 60_000;
      const summary = await sweepAccountEvents({ ...deps, events: deps.stripeEvents }, tenantId, {
        getRemainingTimeInMillis: () => deadline - Date.now(),
      });
      eventsRead += summary.eventsRead;
      eventsApplied += summary.eventsApplied;
      if (summary.outcome === 'continued') continue;
      if (summary.outcome === 'skipped') {
        io.stderr(`reconcile: the sweep stopped (${summary.reason ?? 'skipped'})\n`);
        return RECONCILE_EXIT.failed;
      }
      break;
    }
    // A deauthorization swept up disconnects the tenant; its revocation is already done at Stripe.
    io.stdout(`${JSON.stringify({ tenantId, eventsRead, eventsApplied })}\n`);
    return RECONCILE_EXIT.succeeded;
  } finally {
    await stack.close();
  }
}
