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

describe('semaphore with weights (the blob store counts bytes)', () => {
  it('admits by weight in arrival order: a large request at the head is not overtaken; one above the total takes it all', async () => {
    const sem = createSemaphore(10);
    const a = await sem.acquire(6);
    const order: string[] = [];
    const big = sem.acquire(8).then((r) => (order.push('big'), r));
    const small = sem.acquire(1).then((r) => (order.push('small'), r));
    await Promise.resolve();
    // 4 are free: enough for `small`, but `big` came first.
    expect(order).toEqual([]);
    a();
    const releaseBig = await big;
    const releaseSmall = await small;
    expect(order).toEqual(['big', 'small']);
    const huge = sem.acquire(50).then((r) => (order.push('huge'), r));
    await Promise.resolve();
    expect(order).not.toContain('huge');
    releaseBig();
    await Promise.resolve();
    expect(order).not.toContain('huge');
    releaseSmall();
    (await huge)();
    expect(order).toEqual(['big', 'small', 'huge']);
    const zero = await sem.acquire(0);
    zero();
  });
});
