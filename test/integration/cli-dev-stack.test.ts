import { type ChildProcess, spawn } from 'node:child_process';
import { access, mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { acquireDataDirLock } from '../../scripts/local/data-dir-lock.ts';
import { EXIT, runDevEvents } from '../../scripts/local/dev-events-cli.ts';
import type { DevStackState } from '../../scripts/local/dev-stack-state.ts';
import { CookieBrowser, connectThroughEmulator, waitForBackfill } from '../support/cookie-browser.ts';

/**
 * The local CLIs next to a real `npm run dev` process (scripts/dev.ts, as npm runs it) on its
 * own data folder and free ports, with nothing else set: `npm run backfill` uses that stack's
 * DynamoDB and Stripe emulator, `npm run dev:events` finds it without LOCAL_DATA_DIR, and a
 * second stack on the same folder says who has it.
 */
let dataDir: string;
let runtimeDir: string;
let elsewhere: string;
const children: ChildProcess[] = [];

/** The environment of a fresh terminal: no STRIPE_* variables, and a private runtime directory. */
function cleanEnv(extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  const env = Object.fromEntries(
    Object.entries(process.env).filter(
      ([name]) => !name.startsWith('STRIPE_') && !name.startsWith('VITEST') && name !== 'LOCAL_DATA_DIR',
    ),
  );
  return { ...env, POWERTOOLS_LOG_LEVEL: 'SILENT', XDG_RUNTIME_DIR: runtimeDir, ...extra };
}

interface Run {
  readonly child: ChildProcess;
  readonly stdout: () => string;
  readonly stderr: () => string;
  readonly exited: Promise<number | null>;
}

function start(script: string, args: string[], env: NodeJS.ProcessEnv): Run {
  const child = spawn(process.execPath, ['--import', 'tsx', script, ...args], {
    cwd: process.cwd(),
    env,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  children.push(child);
  let stdout = '';
  let stderr = '';
  child.stdout?.setEncoding('utf8').on('data', (chunk: string) => {
    stdout += chunk;
  });
  child.stderr?.setEncoding('utf8').on('data', (chunk: string) => {
    stderr += chunk;
  });
  const exited = new Promise<number | null>((done) => child.once('close', (code) => done(code)));
  return { child, stdout: () => stdout, stderr: () => stderr, exited };
}

function startDev(args: string[] = [], env: Record<string, string> = {}): Run {
  return start(
    'scripts/dev.ts',
    args,
    cleanEnv({ LOCAL_DATA_DIR: dataDir, PORT: '0', STRIPE_EMULATOR_PORT: '0', ...env }),
  );
}

async function waitFor<T>(what: string, probe: () => Promise<T | undefined>, context: () => string) {
  const deadline = Date.now() + 30_000;
  for (;;) {
    const value = await probe();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}\n${context()}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

async function exists(path: string): Promise<boolean> {
  return access(path).then(
    () => true,
    () => false,
  );
}

function captured(env: NodeJS.ProcessEnv) {
  const out: string[] = [];
  const err: string[] = [];
  return {
    out: () => out.join(''),
    err: () => err.join(''),
    // The working directory has no .data/ of its own: only the registry can lead to the stack.
    io: { env, cwd: elsewhere, stdout: (t: string) => out.push(t), stderr: (t: string) => err.push(t) },
  };
}

let dev: Run;
let state: DevStackState;

beforeAll(async () => {
  dataDir = await mkdtemp(join(tmpdir(), 'compass-cli-dev-'));
  runtimeDir = await mkdtemp(join(tmpdir(), 'compass-cli-run-'));
  elsewhere = await mkdtemp(join(tmpdir(), 'compass-cli-cwd-'));
  // The stack's own sweep stays off: the reconcile CLI's counts are then exact.
  dev = startDev([], { RECONCILE_INTERVAL_S: '0' });
  state = await waitFor(
    'the dev stack',
    async () => {
      if (!/Press Ctrl-C to stop/.test(dev.stderr())) return undefined;
      return JSON.parse(await readFile(join(dataDir, 'dev-stack.json'), 'utf8')) as DevStackState;
    },
    () => dev.stderr(),
  );
}, 60_000);

afterEach(() => {
  // Everything but the shared dev stack ends with its test.
  for (const child of children.splice(0)) {
    if (child !== dev.child && child.exitCode === null) child.kill('SIGKILL');
  }
});

afterAll(async () => {
  if (dev.child.exitCode === null) dev.child.kill('SIGKILL');
  await rm(dataDir, { recursive: true, force: true });
  await rm(runtimeDir, { recursive: true, force: true });
  await rm(elsewhere, { recursive: true, force: true });
});

describe('CLIs next to a running npm run dev', () => {
  it('npm run dev:events finds a stack started with LOCAL_DATA_DIR when run without it', async () => {
    const run = captured({ XDG_RUNTIME_DIR: runtimeDir });
    // It reached the emulator: the demo account is not connected yet, and the emulator says so.
    expect(await runDevEvents(['customer.created'], run.io)).toBe(EXIT.notDelivered);
    expect(run.err()).toContain(`Using npm run dev on ${dataDir} (${state.url}).`);
    expect(run.err()).toContain('not connected to Compass');

    // With LOCAL_DATA_DIR set, it looks there and only there.
    const told = captured({ XDG_RUNTIME_DIR: runtimeDir, LOCAL_DATA_DIR: elsewhere });
    expect(await runDevEvents(['customer.created'], told.io)).toBe(EXIT.noDevStack);
    expect(told.err()).toContain(`npm run dev is not running (no live dev-stack.json in ${elsewhere})`);

    // Two running stacks: it does not guess.
    const otherData = join(elsewhere, 'other-data');
    await mkdir(otherData);
    const other: DevStackState = {
      pid: process.pid,
      dynamoEndpoint: 'http://127.0.0.1:9',
      url: 'http://localhost:9',
      emulatorUrl: 'http://127.0.0.1:9',
    };
    await writeFile(join(otherData, 'dev-stack.json'), JSON.stringify(other));
    const pointers = join(runtimeDir, `compass-stripe-connect-${process.getuid?.() ?? 'user'}`, 'dev-stacks');
    const pointer = join(pointers, `${process.pid}.json`);
    await writeFile(
      pointer,
      JSON.stringify({
        pid: process.pid,
        dataDir: otherData,
        checkout: resolve(fileURLToPath(new URL('.', import.meta.url)), '../..'),
      }),
    );
    const two = captured({ XDG_RUNTIME_DIR: runtimeDir });
    expect(await runDevEvents(['customer.created'], two.io)).toBe(EXIT.noDevStack);
    expect(two.err()).toContain('Several npm run dev are running; say which with LOCAL_DATA_DIR:');
    expect(two.err()).toContain(`LOCAL_DATA_DIR=${dataDir}`);
    expect(two.err()).toContain(`LOCAL_DATA_DIR=${otherData}`);
    await rm(pointer);
    // The stack's banner says where its data is.
    expect(dev.stderr()).toContain(`Local data:                  ${dataDir}`);
  });

  it('npm run backfill with nothing set uses the running stack: its DynamoDB and its emulator and key', async () => {
    const browser = new CookieBrowser();
    const stack = { url: state.url, signInUrl: () => `${state.url}/dev/sign-in` };
    expect(await connectThroughEmulator(browser, stack)).toBe(
      `${state.url}/settings/integrations?connected=stripe`,
    );
    const imported = await waitForBackfill(browser, state.url);
    expect(imported.status).toBe('succeeded');

    // A key set in this terminal is not the emulator's: it is left out, and said so.
    const backfill = start(
      'scripts/backfill.ts',
      ['demo-clinic', '--days', '90'],
      cleanEnv({ LOCAL_DATA_DIR: dataDir, STRIPE_SECRET_KEY: 'sk_test_guessedguessed' }),
    );
    expect(await backfill.exited, backfill.stderr()).toBe(0);
    expect(backfill.stderr()).toContain(
      `Using the running npm run dev (process ${state.pid}, ${state.url}) and its Stripe emulator (${state.emulatorUrl}).`,
    );
    expect(backfill.stderr()).toContain('Note: STRIPE_SECRET_KEY not used');
    expect(JSON.parse(backfill.stdout())).toMatchObject({
      tenantId: 'demo-clinic',
      outcome: 'succeeded',
      result: { customersUpserted: (imported.result as { customersUpserted: number }).customersUpserted },
    });
    // The run is the dev stack's own status: the settings page shows it.
    const status = await browser.json<{ backfill: { status: string; finishedAt: string } }>(
      `${state.url}/api/connect/stripe/status`,
    );
    expect(status.backfill.status).toBe('succeeded');
  }, 60_000);

  it('npm run reconcile with nothing set sweeps the running stack: a missed event is applied once', async () => {
    const browser = new CookieBrowser();
    await browser.get(`${state.url}/dev/sign-in`);
    const countCustomers = async () => {
      let count = 0;
      let cursor: string | null = null;
      do {
        const page: { data: unknown[]; nextCursor: string | null } = await browser.json(
          `${state.url}/api/stripe/customers?limit=100${cursor ? `&cursor=${cursor}` : ''}`,
        );
        count += page.data.length;
        cursor = page.nextCursor;
      } while (cursor);
      return count;
    };
    const before = await countCustomers();
    // Happens at Stripe, but no webhook reaches Compass.
    const fired = await fetch(`${state.emulatorUrl}/_emulator/events`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ type: 'customer.created', deliver: false }),
    });
    expect(fired.status).toBe(200);
    expect(await countCustomers()).toBe(before);

    const first = start('scripts/reconcile.ts', ['demo-clinic'], cleanEnv({ LOCAL_DATA_DIR: dataDir }));
    expect(await first.exited, first.stderr()).toBe(0);
    expect(JSON.parse(first.stdout())).toMatchObject({ tenantId: 'demo-clinic', eventsApplied: 1 });
    expect(await countCustomers()).toBe(before + 1);
    const second = start('scripts/reconcile.ts', ['demo-clinic'], cleanEnv({ LOCAL_DATA_DIR: dataDir }));
    expect(await second.exited, second.stderr()).toBe(0);
    expect(JSON.parse(second.stdout())).toMatchObject({ tenantId: 'demo-clinic', eventsApplied: 0 });
    const status = await browser.json<{ reconcile: { lastRunAt: string | null; eventsApplied: number } }>(
      `${state.url}/api/connect/stripe/status`,
    );
    expect(status.reconcile).toMatchObject({ eventsApplied: 0, lastRunAt: expect.any(String) });

    const help = start('scripts/reconcile.ts', ['--help'], cleanEnv({ LOCAL_DATA_DIR: dataDir }));
    expect(await help.exited).toBe(0);
    expect(help.stdout()).toContain('usage: npm run reconcile -- <tenantId> [--enqueue]');
    const bad = start(
      'scripts/reconcile.ts',
      ['demo-clinic', '--now'],
      cleanEnv({ LOCAL_DATA_DIR: dataDir }),
    );
    expect(await bad.exited).toBe(2);
    expect(bad.stderr()).toContain('usage: npm run reconcile -- <tenantId> [--enqueue]');
  }, 60_000);

  it('a second npm run dev on the same data folder says which process has it and exits 1', async () => {
    const second = startDev();
    expect(await second.exited).toBe(1);
    expect(second.stderr()).toContain(
      `Cannot start: The local data in ${dataDir} is in use by npm run dev (process ${state.pid}, ${state.url}). Stop it first (Ctrl-C in its terminal), or give this one its own LOCAL_DATA_DIR.`,
    );
    expect(second.stderr()).not.toContain('Database is closed');
    // The first one is untouched.
    expect(JSON.parse(await readFile(join(dataDir, 'dev-stack.json'), 'utf8'))).toEqual(state);
    expect((await fetch(`${state.url}/settings/integrations`)).status).toBe(200);
  }, 30_000);

  it('npm run dev answers --help (exit 0) and a bad flag with its usage (exit 2)', async () => {
    const help = startDev(['--help']);
    expect(await help.exited).toBe(0);
    expect(help.stdout()).toContain('usage: npm run dev [-- --reset]');
    const bad = startDev(['--rest']);
    expect(await bad.exited).toBe(2);
    expect(bad.stderr()).toContain('unknown option --rest\nusage: npm run dev [-- --reset]');
  }, 30_000);
});

describe('CLIs when npm run dev is not running', () => {
  it('npm run backfill opens the folder itself, with its own emulator, after a stack that was killed', async () => {
    // Killed without its Ctrl-C cleanup: its state and lock stay behind, naming a dead process.
    dev.child.kill('SIGKILL');
    await dev.exited;
    expect(await exists(join(dataDir, 'in-use.lock'))).toBe(true);
    expect(await exists(join(dataDir, 'dev-stack.json'))).toBe(true);

    const backfill = start('scripts/backfill.ts', ['demo-clinic'], cleanEnv({ LOCAL_DATA_DIR: dataDir }));
    expect(await backfill.exited, backfill.stderr()).toBe(0);
    expect(backfill.stderr()).toContain(
      `npm run dev is not running: opened ${dataDir}, with a built-in Stripe emulator of its own`,
    );
    expect(JSON.parse(backfill.stdout())).toMatchObject({
      outcome: 'succeeded',
      result: { subscriptionsCreated: 0, ordersCreated: 0 },
    });
    // It let the folder go.
    expect(await exists(join(dataDir, 'in-use.lock'))).toBe(false);
  }, 60_000);

  it('npm run dev started while a CLI has the folder says so', async () => {
    const lock = await acquireDataDirLock(dataDir, { command: 'npm run backfill' });
    try {
      const blocked = startDev();
      expect(await blocked.exited).toBe(1);
      expect(blocked.stderr()).toContain(
        `Cannot start: The local data in ${dataDir} is in use by npm run backfill (process ${process.pid}).`,
      );
    } finally {
      await lock.release();
    }
  }, 30_000);
});
