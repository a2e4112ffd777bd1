import { type ChildProcess, spawn } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { DevStackState } from '../../../scripts/local/dev-stack-state.ts';
import type { FakeStripe } from '../../../scripts/stripe-emulator/fake-stripe-server.ts';

/**
 * `npm run dev` as a child process in its own process group, pointed at a fake Stripe that lives
 * in the test process (so Stripe's data outlives the stack's crashes), on a port the system
 * picks and the given data folder. A crash is SIGKILL to the whole group: no handler runs, no
 * cleanup, exactly what a power cut or an OOM kill leaves behind.
 */
export interface DevStack {
  readonly url: string;
  readonly dataDir: string;
  /** The running stack's dynalite (from `dev-stack.json`): the tests read the audit ledger there. */
  readonly dynamoEndpoint: string;
  readonly pid: number;
  /** The last lines the stack wrote (stdout and stderr), for failure messages. */
  output(): string;
  /** SIGKILL to the process group, now; resolves once every process of the group is gone. */
  crash(): Promise<void>;
  /** The crash's first half, synchronous: for a kill that must land between two answers. */
  killNow(): void;
  /** Resolves once every process of the group is gone. */
  gone(): Promise<void>;
}

/** The Connect endpoint's secret the stack is started with (the tests use the tenant endpoint). */
const CONNECT_SECRET = `whsec_${'faultsconnect'.repeat(3)}`;
const READY_TIMEOUT_MS = 30_000;
const GONE_TIMEOUT_MS = 10_000;
const OUTPUT_KEEP_CHARS = 20_000;

const running = new Set<number>();
// The test runner itself stopped (a timeout, Ctrl-C): its detached stacks must not outlive it.
process.once('exit', () => {
  for (const pid of running) killGroup(pid);
});

export async function startDevStack(options: {
  readonly dataDir: string;
  /** The child's TMPDIR: `npm run dev` lists itself in a registry there, which a kill leaves behind. */
  readonly tmpDir: string;
  readonly stripe: FakeStripe;
}): Promise<DevStack> {
  // The developer's own Stripe variables (or a parent test runner's) must not leak in.
  const inherited = Object.fromEntries(
    Object.entries(process.env).filter(
      ([name]) =>
        !name.startsWith('STRIPE_') &&
        !name.startsWith('VITEST') &&
        !['PORT', 'LOCAL_DATA_DIR', 'SESSION_JWT_SECRET', 'TMPDIR'].includes(name),
    ),
  );
  const { stripe } = options;
  const child = spawn('npm', ['run', '--silent', 'dev'], {
    cwd: process.cwd(),
    detached: true,
    env: {
      ...inherited,
      PORT: '0',
      LOCAL_DATA_DIR: options.dataDir,
      TMPDIR: options.tmpDir,
      STRIPE_CONNECT_CLIENT_ID: stripe.clientId,
      STRIPE_SECRET_KEY: stripe.secretKey,
      STRIPE_API_BASE_URL: stripe.url,
      STRIPE_CONNECT_BASE_URL: stripe.url,
      STRIPE_CONNECT_WEBHOOK_SECRET: CONNECT_SECRET,
      POWERTOOLS_LOG_LEVEL: 'WARN',
      // No Events API sweep: what the tests see is what the deliveries and the backfill did.
      RECONCILE_INTERVAL_S: '0',
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const pid = child.pid;
  if (!pid) throw new Error('npm run dev did not start');
  running.add(pid);
  let output = '';
  const keep = (chunk: string) => {
    output = (output + chunk).slice(-OUTPUT_KEEP_CHARS);
  };
  child.stdout?.setEncoding('utf8').on('data', keep);
  child.stderr?.setEncoding('utf8').on('data', keep);
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));

  const url = await waitForReady(child, () => output, exited);
  const state = JSON.parse(await readFile(join(options.dataDir, 'dev-stack.json'), 'utf8')) as DevStackState;
  if (state.url !== url) throw new Error(`dev-stack.json names ${state.url}, the stack printed ${url}`);

  const gone = async () => {
    const deadline = Date.now() + GONE_TIMEOUT_MS;
    while (groupAlive(pid)) {
      if (Date.now() > deadline) throw new Error(`process group ${pid} still alive after SIGKILL`);
      await sleep(20);
    }
    running.delete(pid);
  };
  const killNow = () => killGroup(pid);
  return {
    url,
    dataDir: options.dataDir,
    dynamoEndpoint: state.dynamoEndpoint,
    pid,
    output: () => output,
    killNow,
    gone,
    crash: async () => {
      killNow();
      await gone();
    },
  };
}

/** Test teardown: whatever a failed test left running dies with it. */
export async function killAllDevStacks(): Promise<void> {
  for (const pid of [...running]) {
    killGroup(pid);
    const deadline = Date.now() + GONE_TIMEOUT_MS;
    while (groupAlive(pid) && Date.now() < deadline) await sleep(20);
    running.delete(pid);
  }
}

async function waitForReady(
  child: ChildProcess,
  output: () => string,
  exited: Promise<void>,
): Promise<string> {
  const deadline = Date.now() + READY_TIMEOUT_MS;
  let ended = false;
  void exited.then(() => {
    ended = true;
  });
  for (;;) {
    const text = output();
    const url = /Compass Stripe connector \(local\) on (http:\/\/localhost:\d+)/.exec(text)?.[1];
    if (url && text.includes('Press Ctrl-C to stop.')) return url;
    if (ended || child.exitCode !== null) throw new Error(`npm run dev exited before it was ready:\n${text}`);
    if (Date.now() > deadline)
      throw new Error(`npm run dev not ready after ${READY_TIMEOUT_MS} ms:\n${text}`);
    await sleep(25);
  }
}

function killGroup(pid: number): void {
  try {
    process.kill(-pid, 'SIGKILL');
  } catch {
    // Already gone.
  }
}

function groupAlive(pid: number): boolean {
  try {
    process.kill(-pid, 0);
    return true;
  } catch {
    return false;
  }
}

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
