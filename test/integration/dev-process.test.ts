import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { access, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { EXIT, runDevEvents } from '../../scripts/local/dev-events-cli.ts';
import type { DevStackState } from '../../scripts/local/dev-stack-state.ts';
import { CookieBrowser, connectThroughEmulator, waitForBackfill } from '../support/cookie-browser.ts';

/**
 * `npm run dev` as a newcomer runs it: a child process started by npm, on ports the system picks
 * (PORT=0, STRIPE_EMULATOR_PORT=0) and its own data folder, stopped with Ctrl-C (SIGINT to the
 * whole process group, as a terminal sends it). Also `npm run dev:events` against it.
 */
let dataDir: string;
const started: ChildProcess[] = [];

beforeAll(async () => {
  dataDir = await mkdtemp(join(tmpdir(), 'compass-dev-process-'));
});

afterEach(() => {
  // A failed test must not leave a stack running.
  for (const child of started.splice(0)) {
    if (child.exitCode === null && child.signalCode === null && child.pid) {
      try {
        process.kill(-child.pid, 'SIGKILL');
      } catch {
        // Already gone.
      }
    }
  }
});

afterAll(async () => {
  await rm(dataDir, { recursive: true, force: true });
});

interface Dev {
  readonly child: ChildProcess;
  readonly stderr: () => string;
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

function startDev(env: Record<string, string>, args: string[] = []): Dev {
  const clean = Object.fromEntries(
    Object.entries(process.env).filter(([name]) => !name.startsWith('STRIPE_') && !name.startsWith('VITEST')),
  );
  const child = spawn('npm', ['run', '--silent', 'dev', '--', ...args], {
    cwd: process.cwd(),
    // Its own process group, so the test can send Ctrl-C to all of it, like a terminal.
    detached: true,
    env: { ...clean, POWERTOOLS_LOG_LEVEL: 'ERROR', LOCAL_DATA_DIR: dataDir, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  started.push(child);
  let stderr = '';
  child.stderr?.setEncoding('utf8').on('data', (chunk: string) => {
    stderr += chunk;
  });
  child.stdout?.resume();
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    child.once('exit', (code, signal) => resolve({ code, signal })),
  );
  return { child, stderr: () => stderr, exited };
}

async function waitFor<T>(
  what: string,
  probe: () => T | undefined,
  timeoutMs = 30_000,
  context: () => string = () => '',
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = probe();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}\n${context()}`);
    await new Promise((r) => setTimeout(r, 50));
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

async function exists(path: string): Promise<boolean> {
  return access(path).then(
    () => true,
    () => false,
  );
}

function captured() {
  const out: string[] = [];
  const err: string[] = [];
  return {
    out,
    err,
    io: {
      env: { LOCAL_DATA_DIR: dataDir },
      stdout: (text: string) => out.push(text),
      stderr: (text: string) => err.push(text),
    },
  };
}

async function occupiedPort(): Promise<{ port: number; server: Server }> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { port: (server.address() as { port: number }).port, server };
}

describe('npm run dev as a process', () => {
  it('--reset wipes local data, prints the sign-in link, serves dev:events, stops cleanly on Ctrl-C and keeps its data for the next run', async () => {
    await writeFile(join(dataDir, 'left-over-from-an-old-run'), 'x');
    const dev = startDev({ PORT: '0', STRIPE_EMULATOR_PORT: '0' }, ['--reset']);
    const signIn = await waitFor(
      'the sign-in line',
      () => /Sign in as the demo tenant:\s+(\S+)/.exec(dev.stderr())?.[1],
      30_000,
      dev.stderr,
    );
    expect(await exists(join(dataDir, 'left-over-from-an-old-run'))).toBe(false);
    expect(dev.stderr()).toMatch(/Send test events:\s+http:\/\/127\.0\.0\.1:\d+\/ or npm run dev:events/);

    const state = JSON.parse(await readFile(join(dataDir, 'dev-stack.json'), 'utf8')) as DevStackState;
    expect(signIn).toBe(`${state.url}/dev/sign-in`);
    expect(state.emulatorUrl).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    expect(JSON.stringify(state)).not.toMatch(/whsec_|sk_test_/);

    // Not connected yet: the emulator refuses, and says why.
    const early = captured();
    expect(await runDevEvents(['customer.created'], early.io)).toBe(EXIT.notDelivered);
    expect(early.err.join('')).toContain('not connected to Compass');

    const browser = new CookieBrowser();
    const stack = { url: state.url, signInUrl: () => signIn };
    expect(await connectThroughEmulator(browser, stack)).toBe(
      `${state.url}/settings/integrations?connected=stripe`,
    );
    expect((await waitForBackfill(browser, state.url)).status).toBe('succeeded');

    const fired = captured();
    expect(await runDevEvents(['customer.created'], fired.io)).toBe(EXIT.delivered);
    expect(fired.out.join('')).toMatch(/^customer\.created evt_\w+ \(cus_\w+\) → HTTP 200 processed\n$/);
    const json = captured();
    expect(await runDevEvents(['invoice.paid', '--json'], json.io)).toBe(EXIT.delivered);
    expect(JSON.parse(json.out.join(''))).toMatchObject({
      type: 'invoice.paid',
      deliveries: [
        { type: 'invoice_payment.paid', status: 200 },
        { type: 'invoice.paid', status: 200 },
      ],
    });

    // Ctrl-C in a terminal signals the whole foreground process group.
    const pid = dev.child.pid as number;
    process.kill(-pid, 'SIGINT');
    const exit = await dev.exited;
    // npm reports the Ctrl-C (130, or dies of the SIGINT); the stack below it closes cleanly first.
    expect([0, 130].includes(exit.code ?? -1) || exit.signal === 'SIGINT').toBe(true);
    await waitFor('every process of the group to exit', () => (groupAlive(pid) ? undefined : true), 10_000);
    expect(dev.stderr()).not.toMatch(/Error|EADDRINUSE|unhandled/i);
    await expect(fetch(state.url)).rejects.toThrow();
    await expect(fetch(`${state.emulatorUrl}/`)).rejects.toThrow();
    // The stack says it is gone; its data stays for the next run.
    expect(await exists(join(dataDir, 'dev-stack.json'))).toBe(false);
    expect(await exists(join(dataDir, 'session-secret'))).toBe(true);
    expect(await exists(join(dataDir, 'dynamodb'))).toBe(true);

    const after = captured();
    expect(await runDevEvents(['customer.created'], after.io)).toBe(EXIT.noDevStack);
    expect(after.err.join('')).toContain('npm run dev is not running');

    // The next run finds its data: the same session still signs in, the connection and records
    // are there, and the emulator (in memory) grants the remembered account again.
    const again = startDev({ PORT: '0', STRIPE_EMULATOR_PORT: '0' });
    await waitFor(
      'the sign-in line',
      () => (/Sign in as/.test(again.stderr()) ? true : undefined),
      30_000,
      again.stderr,
    );
    const restarted = JSON.parse(await readFile(join(dataDir, 'dev-stack.json'), 'utf8')) as DevStackState;
    const sameBrowser = new CookieBrowser();
    await sameBrowser.follow(`${restarted.url}/dev/sign-in`);
    expect(await sameBrowser.json(`${restarted.url}/api/connect/stripe/status`)).toMatchObject({
      connected: true,
    });
    const records = await sameBrowser.json<{ data: unknown[] }>(
      `${restarted.url}/api/stripe/customers?limit=1`,
    );
    expect(records.data).toHaveLength(1);
    const afterRestart = captured();
    expect(await runDevEvents(['customer.updated'], afterRestart.io)).toBe(EXIT.delivered);
    const againPid = again.child.pid as number;
    process.kill(-againPid, 'SIGINT');
    await again.exited;
    await waitFor(
      'every process of the group to exit',
      () => (groupAlive(againPid) ? undefined : true),
      10_000,
    );
  }, 120_000);

  it('stops with everything below it when npm alone gets SIGTERM (an IDE stop button, a process manager)', async () => {
    const dev = startDev({ PORT: '0', STRIPE_EMULATOR_PORT: '0' });
    await waitFor(
      'the sign-in line',
      () => /Sign in as the demo tenant:\s+(\S+)/.exec(dev.stderr())?.[1],
      30_000,
      dev.stderr,
    );
    const pid = dev.child.pid as number;
    // To npm only, not to the group: `sh -c` would not pass it on; the script execs instead.
    process.kill(pid, 'SIGTERM');
    await dev.exited;
    await waitFor('every process of the group to exit', () => (groupAlive(pid) ? undefined : true), 10_000);
    expect(await exists(join(dataDir, 'dev-stack.json'))).toBe(false);
  }, 60_000);

  it('names the API port in use and exits 1', async () => {
    const { port, server } = await occupiedPort();
    try {
      const dev = startDev({ PORT: String(port), STRIPE_EMULATOR_PORT: '0' });
      expect((await dev.exited).code).toBe(1);
      expect(dev.stderr()).toContain(
        `Cannot start: Port ${port} is already in use: stop what uses it or set PORT to another port`,
      );
      const pid = dev.child.pid as number;
      await waitFor('the group to exit', () => (groupAlive(pid) ? undefined : true), 10_000);
    } finally {
      server.close();
    }
  }, 30_000);

  it('names the emulator port in use and exits 1', async () => {
    const { port, server } = await occupiedPort();
    try {
      const dev = startDev({ PORT: '0', STRIPE_EMULATOR_PORT: String(port) });
      expect((await dev.exited).code).toBe(1);
      expect(dev.stderr()).toContain(
        'Cannot start: The Stripe emulator port is already in use (another npm run dev or npm run stripe:fake?): stop what uses it or set STRIPE_EMULATOR_PORT',
      );
    } finally {
      server.close();
    }
  }, 30_000);
});

describe('npm run dev:events without a running stack', () => {
  it('lists the types on bad input (exit 2) and says when no stack runs (exit 3)', async () => {
    const bad = captured();
    expect(await runDevEvents(['customer.exploded'], bad.io)).toBe(EXIT.usage);
    expect(bad.err.join('')).toContain('Unknown event type "customer.exploded"');
    expect(bad.err.join('')).toContain('charge.refunded');

    const none = captured();
    expect(await runDevEvents([], none.io)).toBe(EXIT.usage);
    expect(none.err.join('')).toContain('usage: npm run dev:events -- <type>');

    const list = captured();
    expect(await runDevEvents(['--list'], list.io)).toBe(EXIT.delivered);
    expect(list.out.join('')).toContain('customer.subscription.updated');

    const unknownFlag = captured();
    expect(await runDevEvents(['customer.created', '--jsn'], unknownFlag.io)).toBe(EXIT.usage);
    expect(unknownFlag.err.join('')).toBe(
      'unknown option --jsn\nusage: npm run dev:events -- <type> [--json]   (npm run dev:events -- --list for the types)\n(--help for more)\n',
    );

    // Help is an answer, not an error: stdout, exit 0, with the types.
    const help = captured();
    expect(await runDevEvents(['--help'], help.io)).toBe(0);
    expect(help.out.join('')).toMatch(/^usage: npm run dev:events -- <type>/);
    expect(help.out.join('')).toContain('charge.refunded');
    expect(help.err).toEqual([]);

    // A state file left by a stack that was killed (its process is gone) counts as not running.
    const gone = spawnSync(process.execPath, ['-e', '0']).pid;
    const stale: DevStackState = {
      pid: gone,
      dynamoEndpoint: 'http://127.0.0.1:9',
      url: 'http://localhost:9',
      emulatorUrl: 'http://127.0.0.1:9',
    };
    await writeFile(join(dataDir, 'dev-stack.json'), JSON.stringify(stale));
    const staleRun = captured();
    expect(await runDevEvents(['customer.created'], staleRun.io)).toBe(EXIT.noDevStack);
    expect(staleRun.err.join('')).toContain('npm run dev is not running');

    // Real Stripe configured: no emulator to ask.
    await writeFile(
      join(dataDir, 'dev-stack.json'),
      JSON.stringify({ ...stale, pid: process.pid, emulatorUrl: null }),
    );
    const real = captured();
    expect(await runDevEvents(['customer.created'], real.io)).toBe(EXIT.noDevStack);
    expect(real.err.join('')).toContain('stripe trigger');
    await rm(join(dataDir, 'dev-stack.json'));
  });
});
