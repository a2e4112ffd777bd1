import { access, mkdtemp, rm } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { type LocalStack, startLocalStack } from '../../scripts/local/local-stack.ts';
import { CookieBrowser, connectThroughEmulator, waitForBackfill } from '../support/cookie-browser.ts';

/** The local stack against what a hostile review found: restarts, --reset, ports, hosts, the emulator. */
const cleanups: (() => Promise<unknown>)[] = [];
beforeEach(() => {
  for (const stream of [process.stdout, process.stderr])
    vi.spyOn(stream, 'write').mockImplementation(() => true);
});
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup().catch(() => undefined);
  vi.restoreAllMocks();
});

async function tempDir(): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'local-hardening-'));
  cleanups.push(() => rm(dir, { recursive: true, force: true }));
  return dir;
}

async function freePort(): Promise<number> {
  const s = createServer();
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
  const { port } = s.address() as AddressInfo;
  await new Promise((r) => s.close(r));
  return port;
}

async function start(options: Parameters<typeof startLocalStack>[0]): Promise<LocalStack> {
  const stack = await startLocalStack(options);
  cleanups.push(() => stack.close());
  return stack;
}

/** A stack on free ports with an in-memory dynalite and the emulator. */
async function startInMemory(): Promise<LocalStack> {
  return start({ env: {}, port: 0, emulatorPort: 0, inMemory: true, dataDir: await tempDir() });
}

const exists = (path: string) =>
  access(path).then(
    () => true,
    () => false,
  );

describe('local stack hardening', () => {
  it('a backfill cut short by Ctrl-C (stack.close) is not left "running" for an hour after npm run dev restarts', async () => {
    const dataDir = await tempDir();
    const first = await startLocalStack({ env: {}, port: 0, emulatorPort: 0, dataDir });
    const emulator = first.stripeEmulator;
    if (!emulator) throw new Error('no emulator');
    // A slow Stripe (as real Stripe is for a real account): the backfill takes a while.
    emulator.stripe.latencyMs = 300;
    const browser = new CookieBrowser();
    expect(await connectThroughEmulator(browser, first)).toBe(
      `${first.url}/settings/integrations?connected=stripe`,
    );
    for (let i = 0; i < 50; i++) {
      const s = await browser.json<{ backfill: { status: string } }>(
        `${first.url}/api/connect/stripe/status`,
      );
      if (s.backfill.status === 'running') break;
      await new Promise((r) => setTimeout(r, 100));
    }
    // Ctrl-C: scripts/dev.ts calls stack.close() and exits.
    await first.close();

    const second = await start({ env: {}, port: 0, emulatorPort: 0, dataDir });
    const again = new CookieBrowser();
    await again.follow(second.signInUrl());
    await new Promise((r) => setTimeout(r, 5_000));
    const status = await again.json<{ backfill: { status: string } }>(
      `${second.url}/api/connect/stripe/status`,
    );
    const resync = await again.get(`${second.url}/api/connect/stripe/backfill`, { method: 'POST' });
    // The in-process queue died with the process: the restarted stack hands the run back to its
    // queue, so it finishes instead of showing "Importing…" (and Re-sync 409) for an hour.
    expect({ status: status.backfill.status, resync: resync.status }).not.toEqual({
      status: 'running',
      resync: 409,
    });
  }, 60_000);

  it('npm run dev -- --reset in a second terminal does not wipe the data of the npm run dev already running', async () => {
    const dataDir = await tempDir();
    const emulatorPort = await freePort();
    const running = await start({ env: {}, port: 0, emulatorPort, dataDir });
    const browser = new CookieBrowser();
    await connectThroughEmulator(browser, running);
    await waitForBackfill(browser, running.url);
    expect(await exists(join(dataDir, 'dev-stack.json'))).toBe(true);

    // The same command a second time (same default ports), with --reset: refused before any rm -rf.
    await expect(startLocalStack({ env: {}, port: 0, emulatorPort, dataDir, reset: true })).rejects.toThrow(
      /Another npm run dev .* stop it before --reset/,
    );
    expect({
      stateFile: await exists(join(dataDir, 'dev-stack.json')),
      dynamodb: await exists(join(dataDir, 'dynamodb')),
      secrets: await exists(join(dataDir, 'secrets')),
    }).toEqual({ stateFile: true, dynamodb: true, secrets: true });
  }, 60_000);

  it('says the port is in use when another program holds localhost:PORT on ::1 (where the browser goes)', async () => {
    const port = await freePort();
    const other: Server = createServer((_q, s) => s.end('another app'));
    await new Promise<void>((r) => other.listen(port, '::1', r));
    cleanups.push(() => new Promise((r) => other.close(r)));
    // The stack prints http://localhost:PORT; Chromium's "localhost" tries ::1 first, so a program
    // there would get the OAuth callback: the stack takes the port on both or says it is taken.
    await expect(
      startLocalStack({ env: {}, port, emulatorPort: 0, inMemory: true, dataDir: await tempDir() }).then(
        async (stack) => {
          cleanups.push(() => stack.close());
          return stack.url;
        },
      ),
    ).rejects.toThrow(`Port ${port} is already in use`);
  });

  it("the emulator's consent screen, like Stripe's, refuses a redirect_uri that is not the platform's", async () => {
    const stack = await startInMemory();
    const emulator = stack.stripeEmulator;
    if (!emulator) throw new Error('no emulator');
    const query = new URLSearchParams({
      response_type: 'code',
      client_id: emulator.stripe.clientId,
      scope: 'read_write',
      redirect_uri: 'https://attacker.example/steal',
      decision: 'authorize',
    });
    const response = await fetch(`${emulator.url}/oauth/authorize?${query}`, { redirect: 'manual' });
    // Not an open redirect handing out codes: only the platform's registered callback.
    expect(response.headers.get('location') ?? '').not.toMatch(/^https:\/\/attacker\.example\//);
  });

  it('the emulator does not keep every request (with its Authorization header) in memory for the life of npm run dev', async () => {
    const stack = await startInMemory();
    const emulator = stack.stripeEmulator;
    if (!emulator) throw new Error('no emulator');
    const browser = new CookieBrowser();
    await connectThroughEmulator(browser, stack);
    await waitForBackfill(browser, stack.url);
    for (let i = 0; i < 3; i++) {
      await browser.get(`${stack.url}/api/connect/stripe/backfill`, { method: 'POST' });
      await waitForBackfill(browser, stack.url);
    }
    // The emulator keeps only its last few requests (they carry the platform key).
    expect(emulator.stripe.requests.length).toBeLessThan(20);
  }, 60_000);

  it('answers only its own host names (a DNS-rebinding page cannot sign in and read the records)', async () => {
    const stack = await startInMemory();
    const { request } = await import('node:http');
    const port = new URL(stack.url).port;
    // What a page on http://rebind.attacker.example:PORT reaches once its name resolves to 127.0.0.1.
    const answer = await new Promise<{ status: number; cookie: string | undefined }>((resolve, reject) => {
      request(
        {
          host: '127.0.0.1',
          port,
          path: '/dev/sign-in',
          headers: { host: `rebind.attacker.example:${port}` },
        },
        (res) => {
          res.resume();
          resolve({ status: res.statusCode ?? 0, cookie: res.headers['set-cookie']?.[0] });
        },
      )
        .on('error', reject)
        .end();
    });
    expect(answer.cookie ?? '').not.toMatch(/^compass_session=/);
  });
});
