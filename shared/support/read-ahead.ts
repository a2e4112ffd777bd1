type Slot<T> = { readonly value: T } | { readonly error: unknown };

/**
 * Runs a producer ahead of its consumer: `produce` is called again as soon as its last result
 * is buffered, until `depth` results wait, it returns `undefined` (the end) or it throws (the
 * error is handed to the consumer in order, and production ends). So a slow consumer never makes
 * the producer wait for more than the buffer, and a slow producer never blocks on the consumer.
 */
export class ReadAhead<T> {
  private readonly buffer: Slot<T>[] = [];
  private ended = false;
  private stopped = false;
  private wakeConsumer: (() => void) | undefined;
  private wakeProducer: (() => void) | undefined;

  constructor(
    private readonly produce: () => Promise<T | undefined>,
    private readonly depth: number,
  ) {
    void this.run();
  }

  /** The next result in order; `undefined` once production ended and the buffer is empty. */
  async take(): Promise<T | undefined> {
    for (;;) {
      const slot = this.buffer.shift();
      if (slot) {
        this.wake('producer');
        if ('error' in slot) throw slot.error;
        return slot.value;
      }
      if (this.ended || this.stopped) return undefined;
      await new Promise<void>((resolve) => {
        this.wakeConsumer = resolve;
      });
    }
  }

  /** No more production; a call in flight finishes and is discarded. */
  stop(): void {
    this.stopped = true;
    this.wake('producer');
    this.wake('consumer');
  }

  private async run(): Promise<void> {
    while (!this.stopped && !this.ended) {
      if (this.buffer.length >= this.depth) {
        await new Promise<void>((resolve) => {
          this.wakeProducer = resolve;
        });
        continue;
      }
      try {
        const value = await this.produce();
        if (value === undefined) this.ended = true;
        else if (!this.stopped) this.buffer.push({ value });
      } catch (error) {
        this.ended = true;
        if (!this.stopped) this.buffer.push({ error });
      }
      this.wake('consumer');
    }
  }

  private wake(who: 'producer' | 'consumer'): void {
    const wake = who === 'producer' ? this.wakeProducer : this.wakeConsumer;
    if (who === 'producer') this.wakeProducer = undefined;
    else this.wakeConsumer = undefined;
    wake?.();
  }
}
