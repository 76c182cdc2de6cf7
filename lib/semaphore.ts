/** A counting semaphore: at most `permits` holders at once, the rest wait in arrival order. */
export interface Semaphore {
  /** Resolves with the release function once a permit is free; release is idempotent. */
  acquire(): Promise<() => void>;
}

export function createSemaphore(permits: number): Semaphore {
  let free = permits;
  const waiting: (() => void)[] = [];
  const releaser = () => {
    let released = false;
    return () => {
      if (released) return;
      released = true;
      const next = waiting.shift();
      if (next) next();
      else free++;
    };
  };
  return {
    acquire() {
      if (free > 0) {
        free--;
        return Promise.resolve(releaser());
      }
      return new Promise((resolve) => waiting.push(() => resolve(releaser())));
    },
  };
}
