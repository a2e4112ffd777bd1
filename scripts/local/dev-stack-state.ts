import { readFile } from 'node:fs/promises';
import { join } from 'node:path';

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
  try {
    process.kill(state.pid, 0);
  } catch (error) {
    // EPERM: alive, but another user's; anything else: gone.
    if ((error as NodeJS.ErrnoException).code !== 'EPERM') return undefined;
  }
  return state;
}
