import { mkdir, open, readFile, rename, stat, unlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';

/**
 * One process at a time opens a local data folder: dynalite's LevelDB files allow a single
 * owner, and a second one only fails later, deep inside dynalite ("Database is closed"). So the
 * owner (`npm run dev`, or a CLI opening the folder itself) holds this file, created exclusively
 * (O_EXCL), with its pid and address; everyone else reads who has it.
 */
export const DATA_DIR_LOCK_FILE = 'in-use.lock';

/** Who holds a data folder. No secrets. */
export interface DataDirHolder {
  readonly pid: number;
  /** What the user started, e.g. `npm run dev`. */
  readonly command: string;
  /** Where it serves, when it does (`npm run dev`: its API). */
  readonly url: string | null;
  readonly since: string;
}

export class DataDirInUseError extends Error {
  override readonly name = 'DataDirInUseError';
  constructor(
    readonly dataDir: string,
    readonly holder: DataDirHolder | undefined,
  ) {
    const who = holder
      ? `${holder.command} (process ${holder.pid}${holder.url ? `, ${holder.url}` : ''})`
      : 'another process that is starting';
    super(
      `The local data in ${dataDir} is in use by ${who}. Stop it first (Ctrl-C in its terminal), or give this one its own LOCAL_DATA_DIR.`,
    );
  }
}

export interface DataDirLock {
  readonly file: string;
  /** Records where the holder serves, once it knows (a port of 0 is chosen at listen). */
  setUrl(url: string): Promise<void>;
  /** Lets the folder go (only if this process still holds it). */
  release(): Promise<void>;
}

/** A lock file being written (created, not filled yet) is this young at most. */
const WRITING_GRACE_MS = 10_000;
/** Lock files this process holds: its own pid in a file it does not hold is a previous life's. */
const held = new Set<string>();
/** Lock files this process is taking (a second taker in the same process waits for nothing). */
const taking = new Set<string>();

/**
 * Takes the data folder for `command`, or throws {@link DataDirInUseError} naming the live
 * holder. A lock left by a process that is gone (killed, crashed) is taken over.
 */
export async function acquireDataDirLock(
  dataDir: string,
  who: { readonly command: string; readonly url?: string | null },
): Promise<DataDirLock> {
  await mkdir(dataDir, { recursive: true, mode: 0o700 });
  const file = join(dataDir, DATA_DIR_LOCK_FILE);
  if (held.has(file) || taking.has(file)) {
    throw new DataDirInUseError(dataDir, (await readLock(file))?.holder);
  }
  taking.add(file);
  try {
    return await take(dataDir, file, who);
  } finally {
    taking.delete(file);
  }
}

async function take(
  dataDir: string,
  file: string,
  who: { readonly command: string; readonly url?: string | null },
): Promise<DataDirLock> {
  const mine: DataDirHolder = {
    pid: process.pid,
    command: who.command,
    url: who.url ?? null,
    since: new Date().toISOString(),
  };
  for (let attempt = 0; attempt < 5; attempt++) {
    try {
      const handle = await open(file, 'wx', 0o600);
      try {
        await handle.writeFile(JSON.stringify(mine));
      } finally {
        await handle.close();
      }
      held.add(file);
      return lockFor(file, mine);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
    }
    const seen = await readLock(file);
    if (seen === undefined) continue; // released meanwhile: try again
    if (!isStale(file, seen.holder, seen.ageMs)) throw new DataDirInUseError(dataDir, seen.holder);
    // Two processes may judge the same dead holder at once: only remove what was judged, so the
    // one that lost the race does not delete the winner's fresh lock.
    const again = await readLock(file);
    if (again?.text === seen.text) await unlink(file).catch(() => undefined);
  }
  throw new DataDirInUseError(dataDir, (await readLock(file))?.holder);
}

/** The live holder of a data folder, if any. */
export async function readDataDirHolder(dataDir: string): Promise<DataDirHolder | undefined> {
  const file = join(dataDir, DATA_DIR_LOCK_FILE);
  const seen = await readLock(file);
  return seen && !isStale(file, seen.holder, seen.ageMs) ? seen.holder : undefined;
}

/** Whether a process runs (EPERM: it does, as another user). */
export function isProcessAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

function isStale(file: string, holder: DataDirHolder | undefined, ageMs: number): boolean {
  if (!holder) return ageMs > WRITING_GRACE_MS;
  // After a restart (a container's) the dead holder's pid may be ours, or any live process's.
  // Ours is recognisable; another's is reported, and the message says how to free it.
  if (holder.pid === process.pid) return !held.has(file);
  return !isProcessAlive(holder.pid);
}

async function readLock(
  file: string,
): Promise<{ text: string; holder: DataDirHolder | undefined; ageMs: number } | undefined> {
  let text: string;
  let ageMs: number;
  try {
    [text, ageMs] = await Promise.all([
      readFile(file, 'utf8'),
      stat(file).then((s) => Date.now() - s.mtimeMs),
    ]);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw error;
  }
  return { text, holder: parseHolder(text), ageMs };
}

function parseHolder(text: string): DataDirHolder | undefined {
  try {
    const value = JSON.parse(text) as Partial<DataDirHolder>;
    if (!Number.isSafeInteger(value.pid) || (value.pid as number) <= 0) return undefined;
    return {
      pid: value.pid as number,
      command: typeof value.command === 'string' ? value.command.slice(0, 100) : 'another process',
      url: typeof value.url === 'string' ? value.url.slice(0, 200) : null,
      since: typeof value.since === 'string' ? value.since.slice(0, 40) : '',
    };
  } catch {
    return undefined;
  }
}

function lockFor(file: string, holder: DataDirHolder): DataDirLock {
  let current = holder;
  const ours = async () => (await readLock(file))?.holder?.pid === process.pid;
  return {
    file,
    async setUrl(url) {
      if (!held.has(file) || !(await ours())) return;
      current = { ...current, url };
      // Readers never see half a file: write aside, then rename over it.
      const next = `${file}.${process.pid}.tmp`;
      await writeFile(next, JSON.stringify(current), { mode: 0o600 });
      await rename(next, file);
    },
    async release() {
      if (!held.delete(file)) return;
      if (await ours()) await unlink(file).catch(() => undefined);
    },
  };
}
