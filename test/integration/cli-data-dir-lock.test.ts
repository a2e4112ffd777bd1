import { spawnSync } from 'node:child_process';
import { mkdtemp, readFile, rm, stat, utimes, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import {
  acquireDataDirLock,
  DATA_DIR_LOCK_FILE,
  DataDirInUseError,
  readDataDirHolder,
} from '../../scripts/local/data-dir-lock.ts';

/** One process at a time owns a local data folder; the others are told who has it. */
let dataDir: string;
let lockFile: string;

beforeEach(async () => {
  dataDir = await mkdtemp(join(tmpdir(), 'compass-cli-lock-'));
  lockFile = join(dataDir, DATA_DIR_LOCK_FILE);
});

afterEach(async () => {
  await rm(dataDir, { recursive: true, force: true });
});

/** A pid that no process has any more. */
function deadPid(): number {
  return spawnSync(process.execPath, ['-e', '0']).pid as number;
}

describe('the data folder lock', () => {
  it('is exclusive: a second taker is told the holder, its pid and address, until it is released', async () => {
    const lock = await acquireDataDirLock(dataDir, { command: 'npm run dev', url: 'http://localhost:3000' });
    expect(JSON.parse(await readFile(lockFile, 'utf8'))).toMatchObject({
      pid: process.pid,
      command: 'npm run dev',
      url: 'http://localhost:3000',
    });
    expect((await stat(lockFile)).mode & 0o777).toBe(0o600);

    const second = acquireDataDirLock(dataDir, { command: 'npm run backfill' });
    await expect(second).rejects.toThrow(DataDirInUseError);
    await expect(second).rejects.toThrow(
      `The local data in ${dataDir} is in use by npm run dev (process ${process.pid}, http://localhost:3000). Stop it first (Ctrl-C in its terminal), or give this one its own LOCAL_DATA_DIR.`,
    );
    expect(await readDataDirHolder(dataDir)).toMatchObject({ pid: process.pid, command: 'npm run dev' });

    await lock.setUrl('http://localhost:4242');
    expect(JSON.parse(await readFile(lockFile, 'utf8'))).toMatchObject({ url: 'http://localhost:4242' });

    await lock.release();
    expect(await readDataDirHolder(dataDir)).toBeUndefined();
    const again = await acquireDataDirLock(dataDir, { command: 'npm run backfill' });
    expect(await readDataDirHolder(dataDir)).toMatchObject({ command: 'npm run backfill', url: null });
    await again.release();
  });

  it('lets only one of many simultaneous takers win', async () => {
    const results = await Promise.allSettled(
      Array.from({ length: 8 }, () => acquireDataDirLock(dataDir, { command: 'npm run dev' })),
    );
    const won = results.filter((r) => r.status === 'fulfilled');
    expect(won).toHaveLength(1);
    for (const lost of results.filter((r) => r.status === 'rejected')) {
      expect(lost.reason).toBeInstanceOf(DataDirInUseError);
    }
    await (won[0] as PromiseFulfilledResult<Awaited<ReturnType<typeof acquireDataDirLock>>>).value.release();
  });

  it('takes over a lock whose holder is gone (killed, crashed), or was this pid in an earlier life', async () => {
    for (const pid of [deadPid(), process.pid]) {
      await writeFile(lockFile, JSON.stringify({ pid, command: 'npm run dev', url: null, since: '' }));
      expect(await readDataDirHolder(dataDir)).toBeUndefined();
      const lock = await acquireDataDirLock(dataDir, { command: 'npm run backfill' });
      expect(JSON.parse(await readFile(lockFile, 'utf8'))).toMatchObject({
        pid: process.pid,
        command: 'npm run backfill',
      });
      await lock.release();
    }
  });

  it('treats an unreadable lock as one being written for a few seconds, then as left behind', async () => {
    await writeFile(lockFile, '');
    await expect(acquireDataDirLock(dataDir, { command: 'npm run dev' })).rejects.toThrow(
      'is in use by another process that is starting',
    );
    const old = new Date(Date.now() - 60_000);
    await utimes(lockFile, old, old);
    const lock = await acquireDataDirLock(dataDir, { command: 'npm run dev' });
    await lock.release();
  });

  it('does not remove a lock another live process holds when released late', async () => {
    const lock = await acquireDataDirLock(dataDir, { command: 'npm run dev' });
    // Say another process judged it stale and took it (the parent of this one is alive).
    const other = JSON.stringify({ pid: process.ppid, command: 'npm run dev', url: null, since: '' });
    await writeFile(lockFile, other);
    await lock.setUrl('http://localhost:1');
    await lock.release();
    expect(await readFile(lockFile, 'utf8')).toBe(other);
  });
});
