/** A counting semaphore: at most `permits` held at once, the rest wait in arrival order. */
export interface Semaphore {
  /**
   * Resolves with the release function once `weight` permits (default 1) are free; release is idempotent.
   * A weight above the semaphore's permits takes all of them (it waits until nothing else is held).
   */
  acquire(weight?: number): Promise<() => void>;
}

export function createSemaphore(permits: number): Semaphore {
  let free = permits;
  // First come, first served: a large request at the head is not overtaken by small ones (no starvation).
  const waiting: { weight: number; grant: () => void }[] = [];
  const admit = () => {
    while (waiting.length > 0 && waiting[0]!.weight <= free) {
      const next = waiting.shift()!;
      free -= next.weight;
      next.grant();
    }
  };
  const releaser = (weight: number) => {
    let released = false;
    return () => {
      if (released) return;
      released = true;
      free += weight;
      admit();
    };
  };
  return {
    acquire(requested = 1) {
      const weight = Math.min(Math.max(0, requested), permits);
      if (waiting.length === 0 && weight <= free) {
        free -= weight;
        return Promise.resolve(releaser(weight));
      }
      return new Promise((resolve) => {
        waiting.push({ weight, grant: () => resolve(releaser(weight)) });
      });
    },
  };
}
