export const TIME_UP = Symbol('time up');

/** `promise`'s value, or TIME_UP when `ms` pass first (the timer never keeps the process alive). */
export async function beforeTime<T>(promise: Promise<T>, ms: number): Promise<T | typeof TIME_UP> {
  let timer: NodeJS.Timeout | undefined;
  const timeUp = new Promise<typeof TIME_UP>((resolve) => {
    timer = setTimeout(() => resolve(TIME_UP), Math.max(0, ms));
    timer.unref();
  });
  try {
    return await Promise.race([promise, timeUp]);
  } finally {
    clearTimeout(timer);
  }
}

/** A promise awaited later may reject first: keep its error for then, not as an unhandled rejection. */
export function settle<T>(promise: Promise<T>): Promise<T> {
  promise.catch(() => undefined);
  return promise;
}

export function nameOf(error: unknown): string {
  return String((error as { name?: unknown } | null)?.name);
}
