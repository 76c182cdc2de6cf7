import { describe, expect, it } from 'vitest';
import { createSemaphore } from '../lib/semaphore.js';

describe('semaphore', () => {
  it('admits at most `permits` holders, then the waiters in arrival order; a double release frees one permit only', async () => {
    const sem = createSemaphore(2);
    const a = await sem.acquire();
    const b = await sem.acquire();
    const order: string[] = [];
    const c = sem.acquire().then((r) => (order.push('c'), r));
    const d = sem.acquire().then((r) => (order.push('d'), r));
    await Promise.resolve();
    expect(order).toEqual([]);
    a();
    a();
    const releaseC = await c;
    expect(order).toEqual(['c']);
    b();
    const releaseD = await d;
    expect(order).toEqual(['c', 'd']);
    let e = false;
    const pendingE = sem.acquire().then(() => (e = true));
    await Promise.resolve();
    expect(e).toBe(false);
    releaseC();
    await pendingE;
    expect(e).toBe(true);
    releaseD();
  });
});
