import { lstat, mkdir, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { isProcessAlive } from './data-dir-lock.ts';
import { type DevStackState, readDevStackState } from './dev-stack-state.ts';

/**
 * The running `npm run dev` stacks of this checkout, wherever their data lives: a stack started
 * with `LOCAL_DATA_DIR=/some/dir` keeps its state file in that folder, where a tool run without
 * the variable does not look. Each stack leaves a pointer to its folder in a per-user directory
 * (under `XDG_RUNTIME_DIR`, else the temporary directory); the folder's state file stays the truth.
 */

/** This checkout: only its own stacks are listed (two checkouts run different code). */
const CHECKOUT = resolve(dirname(fileURLToPath(import.meta.url)), '../..');

export interface RunningDevStack {
  readonly dataDir: string;
  readonly state: DevStackState;
}

interface Pointer {
  readonly pid: number;
  readonly dataDir: string;
  readonly checkout: string;
}

/** The user's runtime directory where there is one (Linux), else the temporary directory. */
function registryDir(env: NodeJS.ProcessEnv): string {
  const user = process.getuid?.() ?? 'user';
  return join(env.XDG_RUNTIME_DIR || env.TMPDIR || tmpdir(), `compass-stripe-connect-${user}`, 'dev-stacks');
}

/** Lists this process's stack (data in `dataDir`) until the returned function is called. */
export async function registerDevStack(
  dataDir: string,
  env: NodeJS.ProcessEnv,
): Promise<() => Promise<void>> {
  const dir = registryDir(env);
  const file = join(dir, `${process.pid}.json`);
  try {
    await mkdir(dir, { recursive: true, mode: 0o700 });
    if (!(await isPrivate(dirname(dir))) || !(await isPrivate(dir))) return async () => undefined;
    const pointer: Pointer = { pid: process.pid, dataDir, checkout: CHECKOUT };
    await writeFile(file, JSON.stringify(pointer), { mode: 0o600 });
  } catch {
    // Only a convenience for finding the stack: the stack runs without it.
    return async () => undefined;
  }
  return () => rm(file, { force: true });
}

/** The live stacks of this checkout, pointers of dead ones removed. */
export async function listRunningDevStacks(env: NodeJS.ProcessEnv): Promise<RunningDevStack[]> {
  const dir = registryDir(env);
  if (!(await isPrivate(dirname(dir))) || !(await isPrivate(dir))) return [];
  const found: RunningDevStack[] = [];
  for (const name of await readdir(dir).catch(() => [] as string[])) {
    if (!/^\d+\.json$/.test(name)) continue;
    const file = join(dir, name);
    let pointer: Pointer;
    try {
      pointer = JSON.parse(await readFile(file, 'utf8')) as Pointer;
    } catch {
      continue;
    }
    if (!Number.isSafeInteger(pointer.pid) || !isProcessAlive(pointer.pid)) {
      await rm(file, { force: true });
      continue;
    }
    if (pointer.checkout !== CHECKOUT || typeof pointer.dataDir !== 'string') continue;
    const state = await readDevStackState(pointer.dataDir);
    if (state?.pid === pointer.pid) found.push({ dataDir: pointer.dataDir, state });
  }
  return found;
}

/**
 * The temporary directory is shared: a directory someone else made (or a link to one) could
 * point this user's tools at their servers, so only our own, closed one is read.
 */
async function isPrivate(dir: string): Promise<boolean> {
  try {
    const info = await lstat(dir);
    const uid = process.getuid?.();
    return info.isDirectory() && (uid === undefined || info.uid === uid) && (info.mode & 0o022) === 0;
  } catch {
    return false;
  }
}
