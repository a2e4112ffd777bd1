/**
 * `npm run backfill -- <tenantId> [--days 90] [--enqueue]`
 *
 * Runs a tenant's backfill in this process against the local stack's stores (the running
 * `npm run dev`'s DynamoDB if there is one, else `.data/` directly), or with `--enqueue` sends
 * the job to the deployed backfill queue (AWS credentials, TABLE_NAME and BACKFILL_QUEUE_URL
 * from the environment). Progress goes to stderr, the JSON result to stdout; the exit status is
 * 0 on success, 1 when the backfill failed, 2 for bad usage or configuration.
 */

import { readFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { startDynaliteWithTable } from '#shared/adapters/local/dynalite-server.ts';
import { InProcessQueues } from '#shared/adapters/local/in-process-queues.ts';
import { createSessionVerifier } from '#shared/adapters/session/session-verifier.ts';
import { loadConfig } from '#shared/config/config.ts';
import { parseBackfillJob } from '#shared/domain/backfill-job.ts';
import { ConfigError } from '#shared/errors/config-error.ts';
import { ValidationError } from '#shared/errors/validation-error.ts';
import type { BackfillProgress } from '#shared/ports/backfill-status-store.ts';
import { systemClock } from '#shared/ports/clock.ts';
import { abandonBackfill } from '#shared/use-cases/backfill/abandon-backfill.ts';
import { processBackfillJob } from '#shared/use-cases/backfill/process-backfill-job.ts';
import { createBackfillRun, requestBackfill } from '#shared/use-cases/backfill/request-backfill.ts';
import { createAwsDependencies } from '../functions/commons/aws-dependencies.ts';
import { createLocalDependencies } from './local/local-dependencies.ts';
import { LOCAL_TABLE_NAME, STACK_STATE_FILE } from './local/local-stack.ts';

const USAGE = 'usage: npm run backfill -- <tenantId> [--days 90] [--enqueue]';
const quiet = { info() {}, warn() {}, error() {} };

async function main(argv: string[]): Promise<number> {
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: { days: { type: 'string', default: '90' }, enqueue: { type: 'boolean', default: false } },
  });
  if (positionals.length !== 1) {
    process.stderr.write(`${USAGE}\n`);
    return 2;
  }
  const job = parseBackfillJob({ tenantId: positionals[0], days: Number(values.days) });
  if (values.enqueue) {
    const deps = createAwsDependencies(process.env);
    const runId = await requestBackfill(deps, job.tenantId, job.days);
    process.stdout.write(
      `${JSON.stringify({ status: 'queued', tenantId: job.tenantId, days: job.days, runId })}\n`,
    );
    return 0;
  }
  return runLocally(job);
}

async function runLocally(job: ReturnType<typeof parseBackfillJob>): Promise<number> {
  const dataDir = resolve(process.env.LOCAL_DATA_DIR ?? '.data');
  const { endpoint, close } = await localDynamoDb(dataDir);
  try {
    const config = loadConfig(
      {
        OAUTH_REDIRECT_BASE_URL: 'http://localhost:3000',
        SESSION_JWT_SECRET: 'unused-by-the-backfill-cli-but-required-by-config',
        ...process.env,
      },
      ['stripe', 'stripeKey', 'oauth', 'session'],
    );
    if (config.stripeKey.secretKey.kind !== 'value')
      throw new ConfigError(['STRIPE_SECRET_KEY is required locally']);
    const deps = createLocalDependencies({
      dynamoEndpoint: endpoint,
      tableName: LOCAL_TABLE_NAME,
      secretsDir: join(dataDir, 'secrets'),
      stripe: config.stripe,
      stripeSecretKey: config.stripeKey.secretKey.value,
      oauth: config.oauth,
      sessions: createSessionVerifier(config.session),
      queues: new InProcessQueues(),
      clock: systemClock,
      log: quiet,
    });
    const started = Date.now();
    const bar = progressBar(started);
    let pending = job;
    if ((await deps.integrations.getByTenant(job.tenantId))?.status === 'connected') {
      // The run exists before it starts, so Ctrl-C can mark it failed instead of leaving it running.
      const runId = await createBackfillRun(deps, job.tenantId, job.days);
      pending = { ...job, runId };
      process.once('SIGINT', () => {
        void abandonBackfill(deps, job.tenantId, runId, 'Interrupted by the operator').finally(() =>
          process.exit(130),
        );
      });
    }
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
      process.stderr.write('\n');
      const elapsedSeconds = Math.round((Date.now() - started) / 100) / 10;
      process.stdout.write(
        `${JSON.stringify({ tenantId: job.tenantId, ...outcome, elapsedSeconds }, null, 2)}\n`,
      );
      return outcome.outcome === 'succeeded' ? 0 : 1;
    }
  } finally {
    await close();
  }
}

/** The running dev stack's DynamoDB when there is one (its files are locked), else our own. */
async function localDynamoDb(dataDir: string): Promise<{ endpoint: string; close: () => Promise<void> }> {
  try {
    const state = JSON.parse(await readFile(join(dataDir, STACK_STATE_FILE), 'utf8')) as {
      pid: number;
      dynamoEndpoint: string;
    };
    process.kill(state.pid, 0);
    return { endpoint: state.dynamoEndpoint, close: async () => undefined };
  } catch {
    const dynalite = await startDynaliteWithTable(LOCAL_TABLE_NAME, { path: join(dataDir, 'dynamodb') });
    return { endpoint: dynalite.endpoint, close: () => dynalite.close() };
  }
}

function progressBar(started: number) {
  const tty = process.stderr.isTTY;
  return (progress: BackfillProgress) => {
    const objects = Object.entries(progress.objects)
      .map(([phase, count]) => `${phase} ${count}`)
      .join(' · ');
    const elapsed = ((Date.now() - started) / 1000).toFixed(1);
    const line = `backfill [${progress.phase}] ${objects} · ${progress.requests} requests · ${progress.pages} pages · ${elapsed}s`;
    process.stderr.write(tty ? `\r\x1b[2K${line}` : `${line}\n`);
  };
}

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (error: unknown) => {
    const usage = error instanceof ValidationError || error instanceof ConfigError;
    process.stderr.write(`\nbackfill: ${(error as Error).message}\n${usage ? `${USAGE}\n` : ''}`);
    process.exit(usage ? 2 : 1);
  },
);
