/**
 * In-process exclusive locks on sets of keys: `withKeys` waits until none of its keys is held,
 * then holds them all while `run` runs. Nothing is held while waiting, so two callers can never
 * wait on each other.
 */
export class KeyLocks {
  private readonly held = new Map<string, Promise<void>>();

  async withKeys<T>(keys: Iterable<string>, run: () => Promise<T>): Promise<T> {
    const wanted = [...new Set(keys)];
    for (;;) {
      const busy = wanted.flatMap((key) => this.held.get(key) ?? []);
      if (busy.length === 0) break;
      await Promise.all(busy);
    }
    let release: () => void = () => undefined;
    const released = new Promise<void>((resolve) => {
      release = resolve;
    });
    for (const key of wanted) this.held.set(key, released);
    try {
      return await run();
    } finally {
      for (const key of wanted) this.held.delete(key);
      release();
    }
  }
}
