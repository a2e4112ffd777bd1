import { readFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { isProcessAlive } from './data-dir-lock.ts';

/** Where a running `npm run dev` says where it serves, inside the local data folder. */
export const STACK_STATE_FILE = 'dev-stack.json';

/** What `.data/dev-stack.json` holds while `npm run dev` runs. No secrets. */
export interface DevStackState {
  readonly pid: number;
  /** dynalite, for `npm run backfill` (its files are locked while the stack runs). */
  readonly dynamoEndpoint: string;
  /** The API and settings page. */
  readonly url: string;
  /** The built-in Stripe emulator; `null` when real Stripe is configured. */
  readonly emulatorUrl: string | null;
}

/**
 * The local data folder: `LOCAL_DATA_DIR`, else `.data/`, relative to `cwd` (npm runs scripts
 * in the package root). An empty `LOCAL_DATA_DIR` means the default, never the working directory.
 */
export function localDataDir(env: NodeJS.ProcessEnv, cwd: string = process.cwd()): string {
  return resolve(cwd, env.LOCAL_DATA_DIR || '.data');
}

/**
 * The running stack's state, or `undefined` when there is none: no file, or one left behind by
 * a stack that is gone (killed without its Ctrl-C cleanup).
 */
export async function readDevStackState(dataDir: string): Promise<DevStackState | undefined> {
  let state: DevStackState;
  try {
    state = JSON.parse(await readFile(join(dataDir, STACK_STATE_FILE), 'utf8')) as DevStackState;
  } catch {
    return undefined;
  }
  if (!Number.isSafeInteger(state?.pid) || typeof state.dynamoEndpoint !== 'string') return undefined;
  return isProcessAlive(state.pid) ? state : undefined;
}
