import { describe, expect, it } from 'vitest';
import { KeyLocks } from '#shared/support/key-locks.ts';
import { ReadAhead } from '#shared/support/read-ahead.ts';

const tick = () => new Promise((resolve) => setTimeout(resolve, 0));

describe('ReadAhead', () => {
  it('hands results over in order, and stops at the end', async () => {
    let n = 0;
    const ahead = new ReadAhead(async () => (n < 5 ? ++n : undefined), 2);
    const seen: number[] = [];
    for (let value = await ahead.take(); value !== undefined; value = await ahead.take()) seen.push(value);
    expect(seen).toEqual([1, 2, 3, 4, 5]);
  });

  it('runs at most `depth` results ahead of a consumer that does not take', async () => {
    let produced = 0;
    const ahead = new ReadAhead(async () => ++produced, 3);
    for (let i = 0; i < 10; i += 1) await tick();
    expect(produced).toBe(3);
    expect(await ahead.take()).toBe(1);
    for (let i = 0; i < 10; i += 1) await tick();
    expect(produced).toBe(4);
    ahead.stop();
  });

  it('hands an error over in its place, after the results before it, and produces nothing after', async () => {
    let n = 0;
    const ahead = new ReadAhead(async () => {
      n += 1;
      if (n === 3) throw new Error('page 3 failed');
      return n;
    }, 5);
    expect(await ahead.take()).toBe(1);
    expect(await ahead.take()).toBe(2);
    await expect(ahead.take()).rejects.toThrow('page 3 failed');
    expect(await ahead.take()).toBeUndefined();
    expect(n).toBe(3);
  });

  it('stop() ends a waiting consumer and discards what is in flight', async () => {
    let release: (value: number) => void = () => undefined;
    const ahead = new ReadAhead(() => new Promise<number>((resolve) => (release = resolve)), 2);
    const taken = ahead.take();
    ahead.stop();
    release(7);
    expect(await taken).toBeUndefined();
  });
});

describe('KeyLocks', () => {
  it('runs callers that share a key one after the other, and others at once', async () => {
    const locks = new KeyLocks();
    const events: string[] = [];
    const job = (name: string, keys: string[], gate: Promise<void>) =>
      locks.withKeys(keys, async () => {
        events.push(`${name} start`);
        await gate;
        events.push(`${name} end`);
      });
    let openA: () => void = () => undefined;
    const a = job('a', ['k1', 'k2'], new Promise((resolve) => (openA = resolve)));
    const b = job('b', ['k2', 'k3'], Promise.resolve());
    const c = job('c', ['k4'], Promise.resolve());
    await c;
    await tick();
    expect(events).toEqual(['a start', 'c start', 'c end']);
    openA();
    await Promise.all([a, b]);
    expect(events).toEqual(['a start', 'c start', 'c end', 'a end', 'b start', 'b end']);
  });

  it('releases the keys when the work throws', async () => {
    const locks = new KeyLocks();
    await expect(
      locks.withKeys(['k'], async () => {
        throw new Error('boom');
      }),
    ).rejects.toThrow('boom');
    expect(await locks.withKeys(['k'], async () => 'free')).toBe('free');
  });
});
