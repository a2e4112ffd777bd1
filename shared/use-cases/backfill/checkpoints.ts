/**
 * A run's checkpoints: at most one a second, one at a time and in order (a late one never
 * overwrites a newer one), so a crash redoes at most a second of work, whose writes are
 * idempotent, and a large run does not spend a status write per page. `flush` writes the latest.
 */
export class Checkpoints<T> {
  private chain: Promise<void> = Promise.resolve();
  private latest: T | undefined;
  private writtenAt = Number.NEGATIVE_INFINITY;
  /** A write found the run no longer this one (replaced, finished elsewhere, or deleted). */
  lost = false;

  constructor(
    /** False when the run is no longer ours. */
    private readonly write: (snapshot: T) => Promise<boolean>,
    private readonly now: () => number,
    private readonly onError: (error: unknown) => void,
    private readonly intervalMs = 1000,
  ) {}

  save(snapshot: T): void {
    this.latest = snapshot;
    const now = this.now();
    if (now - this.writtenAt < this.intervalMs) return;
    this.writtenAt = now;
    this.flush().catch(this.onError);
  }

  /** Writes the latest snapshot, after those already under way; rejects if the last write failed. */
  flush(): Promise<void> {
    const snapshot = this.latest;
    this.latest = undefined;
    if (snapshot !== undefined) {
      // A failed write does not cancel the next one: only the final flush must succeed.
      this.chain = this.chain
        .catch(() => undefined)
        .then(async () => {
          if (!(await this.write(snapshot))) this.lost = true;
        });
    }
    return this.chain;
  }
}
